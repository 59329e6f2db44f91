// Presence when a node process dies outright (SIGKILL): nothing of it cleans up, so the surviving
// nodes sweep its metas and broadcast the leaves, within 10 s at the default presenceTimeout (5 s,
// plus a third between sweeps), and nothing of it is left in Redis.
import { describe, expect, it } from 'vitest';
import { redisPubSub } from 'vela';
import { startTestApp } from 'vela/testing';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { PresenceModule } from '../fixtures/presence.js';
import { LOBBY, joinsOf, lobby, names, nextDiff } from '../presence/support.js';
import { ChildNode, rawRedis, testPrefix } from './support.js';

describe.skipIf(redisMissing)('presence of a killed node process', () => {
  it('is swept by a surviving node: the leaves within 10 s, no phantom entries after', { timeout: 30_000 }, async () => {
    const keyPrefix = testPrefix();
    const survivor = await startTestApp(PresenceModule, { pubsub: redisPubSub({ url: REDIS_URL, keyPrefix }) });
    const doomed = await ChildNode.start({ REDIS_URL, KEY_PREFIX: keyPrefix });
    const watcher = await lobby(survivor);
    await lobby(survivor, 'ada');
    await lobby(doomed, 'bob');
    await lobby(doomed, 'ada', 'ada on the doomed node');
    await joinsOf(watcher, ['ada: ada', 'ada: ada on the doomed node', 'bob: bob']);

    const killed = Date.now();
    expect(await doomed.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const left = await nextDiff(watcher, 10_000);
    expect(Date.now() - killed).toBeLessThan(10_000);
    expect(left.joins).toEqual({});
    expect(names(left.leaves)).toEqual({ bob: ['bob'], ada: ['ada on the doomed node'] });

    expect(names(await survivor.presence.list(LOBBY))).toEqual({ ada: ['ada'] });
    expect(await survivor.presence.count(LOBBY)).toBe(1);
    // Left in Redis: the survivor's own metas, its index and its place among the nodes; nothing of the dead one.
    const redis = rawRedis(REDIS_URL);
    const nodes = await redis.zrange(`${keyPrefix}:presence-nodes`, 0, -1);
    expect(nodes).toHaveLength(1);
    expect((await redis.keys(`${keyPrefix}:presence*`)).sort()).toEqual(
      [`${keyPrefix}:presence-keys:${LOBBY}`, `${keyPrefix}:presence-node:${nodes[0]}`, `${keyPrefix}:presence-nodes`, `${keyPrefix}:presence:${LOBBY}`].sort(),
    );
    expect(await redis.hlen(`${keyPrefix}:presence-node:${nodes[0]}`)).toBe(1);
  });
});
