// Presence shared through Redis by apps in this process: every node lists and counts the same,
// diffs reach members on every node, a node that closes takes its metas at once, and a Redis that
// lost its keys gets every node's metas back.
import { describe, expect, it } from 'vitest';
import { redisPubSub } from 'vela';
import { startTestApp, type TestApp } from 'vela/testing';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { PresenceModule } from '../fixtures/presence.js';
import { LOBBY, joinsOf, lobby, names, nextDiff } from '../presence/support.js';

import { rawRedis, testPrefix } from './support.js';

function cluster(count: number, keyPrefix: string, presenceTimeout?: number): Promise<TestApp[]> {
  return Promise.all(Array.from({ length: count }, () => startTestApp(PresenceModule, { pubsub: redisPubSub({ url: REDIS_URL, keyPrefix, presenceTimeout }) })));
}

/** Waits until every app lists `want` (names by key). */
async function everywhere(apps: readonly TestApp[], want: Record<string, unknown[]>): Promise<void> {
  for (const app of apps) await expect.poll(async () => names(await app.presence.list(LOBBY)), { timeout: 5_000 }).toEqual(want);
}

describe.skipIf(redisMissing)('Presence on redisPubSub', () => {
  it('two nodes: the same list and count on both, and a diff on both for a change on either', async () => {
    const apps = await cluster(2, testPrefix());
    const watchers = await Promise.all(apps.map((app) => lobby(app)));
    await lobby(apps[0]!, 'ada');
    for (const watcher of watchers) expect(await joinsOf(watcher, ['ada: ada'])).toEqual(['ada: ada']);
    const bob = await lobby(apps[1]!, 'bob');
    for (const watcher of watchers) expect(await joinsOf(watcher, ['bob: bob'])).toEqual(['bob: bob']);
    await everywhere(apps, { ada: ['ada'], bob: ['bob'] });
    expect(await apps[0]!.presence.list(LOBBY)).toEqual(await apps[1]!.presence.list(LOBBY));

    await bob.close();
    for (const watcher of watchers) expect(names((await nextDiff(watcher)).leaves)).toEqual({ bob: ['bob'] });
    expect(await apps[0]!.presence.count(LOBBY)).toBe(1);
  });

  it('three nodes: one key in tabs on two nodes counts once everywhere; a node that closes takes its metas and says so at once', async () => {
    const apps = await cluster(3, testPrefix());
    const [one, two, three] = apps as [TestApp, TestApp, TestApp];
    const watchers = await Promise.all(apps.map((app) => lobby(app)));
    await lobby(one, 'ada', 'Ada on one');
    await lobby(three, 'ada', 'Ada on three');
    await lobby(two, 'bob');
    for (const watcher of watchers) await joinsOf(watcher, ['ada: Ada on one', 'ada: Ada on three', 'bob: bob']);
    await expect.poll(() => one.presence.list(LOBBY).then((list) => list.ada?.metas.length)).toBe(2);
    for (const app of apps) expect(await app.presence.count(LOBBY)).toBe(2);
    const listed = await one.presence.list(LOBBY);
    for (const app of apps) expect(await app.presence.list(LOBBY)).toEqual(listed);

    await three.close();
    expect(await nextDiff(watchers[0]!)).toEqual({ joins: {}, leaves: { ada: { metas: [{ name: 'Ada on three', ref: expect.any(String) }] } } });
    expect(names((await nextDiff(watchers[1]!)).leaves)).toEqual({ ada: ['Ada on three'] });
    expect(names(await two.presence.list(LOBBY))).toEqual({ ada: ['Ada on one'], bob: ['bob'] });
    expect(await two.presence.count(LOBBY)).toBe(2);
  });

  it('puts every node\'s metas back when Redis lost them (the prefix\'s keys deleted), as joins', async () => {
    const keyPrefix = testPrefix();
    const apps = await cluster(2, keyPrefix, 1_500);
    const watcher = await lobby(apps[0]!);
    await lobby(apps[0]!, 'ada');
    await lobby(apps[1]!, 'bob');
    await joinsOf(watcher, ['ada: ada', 'bob: bob']);
    await everywhere(apps, { ada: ['ada'], bob: ['bob'] });

    const redis = rawRedis(REDIS_URL);
    const keys = await redis.keys(`${keyPrefix}:*`);
    expect(keys).toContain(`${keyPrefix}:presence:${LOBBY}`);
    await redis.del(...keys);

    await everywhere(apps, { ada: ['ada'], bob: ['bob'] });
    expect(await apps[1]!.presence.count(LOBBY)).toBe(2);
    expect(await joinsOf(watcher, ['ada: ada', 'bob: bob'])).toEqual(['ada: ada', 'bob: bob']);
  });
});
