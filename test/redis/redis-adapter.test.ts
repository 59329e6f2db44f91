// The Redis adapter passes the same contract as the in-memory one, against the real Redis: once
// configured by url, once by an ioredis client the app passes, which Vela must leave open and usable.
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { Redis } from 'ioredis';
import { redisPubSub } from 'vela';
import { describeAdapterContract } from '../pubsub/adapter-contract.js';
import { Peer, PubSubTestModule, eventually } from '../pubsub/support.js';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { testPrefix } from './support.js';
import { startTestApp } from 'vela/testing';

describe.skipIf(redisMissing)('redis', () => {
  describeAdapterContract('redis', (count) => {
    const keyPrefix = testPrefix();
    return Array.from({ length: count }, () => redisPubSub({ url: REDIS_URL, keyPrefix }));
  });

  describe('given a client', () => {
    // One client for the whole suite, as an app would hold one: every app of every test is built from it.
    const client = new Redis(REDIS_URL, { connectionName: 'app-own-client' });

    afterAll(async () => {
      await client.quit();
    });

    describeAdapterContract('redis (client)', (count) => {
      const keyPrefix = testPrefix();
      return Array.from({ length: count }, () => redisPubSub({ client, keyPrefix }));
    });

    it('opens connections of its own from the client\'s settings, and leaves the client open and usable', async () => {
      const keyPrefix = testPrefix();
      const name = `vela-${keyPrefix.replaceAll(':', '-')}`;
      const named = new Redis(REDIS_URL, { connectionName: name });
      onTestFinished(() => named.disconnect());
      const apps = await Promise.all([0, 1].map(() => startTestApp(PubSubTestModule, { pubsub: redisPubSub({ client: named, keyPrefix }) })));
      const [near, far] = [await Peer.connect(apps[0]!, { join: ['room'] }), await Peer.connect(apps[1]!, { join: ['room'] })];
      await eventually(() => apps[0]!.pubsub.members('room'), (ids) => ids.length === 2, 'both members');
      await near.broadcast('room', 'hi');
      expect((await far.next()).topic).toBe('hi');

      // Two connections per app (publish, subscribe), each carrying the client's connection name;
      // the client itself is not one of the subscribers and still runs ordinary commands.
      const mine = () => client.call('CLIENT', 'LIST').then((list) => String(list).split('\n').filter((line) => line.includes(` name=${name} `)));
      expect(await mine()).toHaveLength(2 * 2 + 1);
      expect((await mine()).filter((line) => / sub=2 /.test(line))).toHaveLength(2); // the bus and the room's shard
      expect(await named.set(`${keyPrefix}:mine`, 'still mine')).toBe('OK');

      await Promise.all(apps.map((app) => app.close()));
      expect(named.status).toBe('ready');
      expect(await named.get(`${keyPrefix}:mine`)).toBe('still mine');
      expect(await mine()).toHaveLength(1);
      await named.del(`${keyPrefix}:mine`);
    });

    it('left the suite\'s own client ready after every app closed', async () => {
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
    });
  });
});
