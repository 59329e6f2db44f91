// Interest routing: a node receives the messages of the channels it has members or listeners in, on
// hashed shard channels it subscribes to while it needs them, and not the others'. Counted on the
// wire (what Redis sends a node's subscriber connection), in Redis (PUBSUB NUMSUB), and by what
// members receive; with the guarantees of the single bus kept (in order, counted gaps).
import { describe, expect, it } from 'vitest';
import { ConfigError, redisPubSub, type RedisPubSubOptions } from 'vela';
import { Keyspace } from '../../src/redis/keyspace.js';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { Peer, PubSubTestModule, eventually } from '../pubsub/support.js';
import { RedisProxy, RedisServer, entries, rawRedis, redisServerMissing, testPrefix } from './support.js';
import { startTestApp, type TestApp } from 'vela/testing';

const SHARDS = 64;

/** `count` channel names (`room-<n>`) that fall in `count` different shards of SHARDS. */
function channelsInDistinctShards(count: number): string[] {
  const keys = new Keyspace({ prefix: 'any', clustered: false, routing: 'interest', shards: SHARDS });
  const taken = new Set<number>();
  const names: string[] = [];
  for (let n = 0; names.length < count; n += 1) {
    const shard = keys.shardOf(`room-${n}`)!;
    if (taken.has(shard)) continue;
    taken.add(shard);
    names.push(`room-${n}`);
  }
  return names;
}

/** The Redis channel that carries `channel` for apps on `keyPrefix`. */
function carrierOf(keyPrefix: string, channel: string): string {
  return new Keyspace({ prefix: keyPrefix, clustered: false, routing: 'interest', shards: SHARDS }).carrierOf(channel);
}

function app(options: RedisPubSubOptions): Promise<TestApp> {
  return startTestApp(PubSubTestModule, { pubsub: redisPubSub({ url: REDIS_URL, shards: SHARDS, ...options }) });
}

async function subscribers(url: string, carrier: string): Promise<number> {
  return ((await rawRedis(url).call('PUBSUB', 'NUMSUB', carrier)) as [string, number])[1];
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe.skipIf(redisMissing)('interest routing on Redis', () => {
  describe.skipIf(redisServerMissing)('what reaches a node', () => {
    it("a node with no member in a channel receives none of its messages: nothing of it arrives on its subscriber connection", async () => {
      const server = await RedisServer.start();
      const proxy = await RedisProxy.start(server.port); // C talks to Redis through it: what C hears is counted
      const keyPrefix = testPrefix();
      const [north, south] = channelsInDistinctShards(2) as [string, string];
      const [a, b, c] = await Promise.all([server.url, server.url, proxy.url].map((url) => app({ url, keyPrefix })));
      const senders = await Peer.connect(a!, { join: [north] });
      const farNorth = await Peer.connect(b!, { join: [north] });
      const farSouth = await Peer.connect(c!, { join: [south] });
      for (const node of [a!, b!, c!]) await eventually(() => node.pubsub.members(north), (ids) => ids.length === 2, `both members of ${north}`);
      await eventually(() => a!.pubsub.members(south), (ids) => ids.length === 1, `the member of ${south}`);

      for (let i = 0; i < 20; i += 1) await senders.broadcast(north, 'said', { i, text: 'x'.repeat(200) });
      for (let i = 0; i < 5; i += 1) await senders.broadcast(south, 'said', { i });

      expect((await farNorth.take(20)).map((message) => (message.payload as { i: number }).i)).toEqual([...Array(20).keys()]);
      // After C's member has the last message for south, Redis has sent C everything A published
      // before it, on the one subscriber connection, in order: a north message would be there by now.
      expect((await farSouth.take(5)).map((message) => (message.payload as { i: number }).i)).toEqual([...Array(5).keys()]);
      const heard = proxy.heardBySubscribers;
      expect(count(heard, `"channel":"${north}"`)).toBe(0);
      expect(count(heard, `"channel":"${south}"`)).toBe(5);
      // In Redis: the north shard has A's and B's subscriptions, the south shard only C's.
      expect(await subscribers(server.url, carrierOf(keyPrefix, north))).toBe(2);
      expect(await subscribers(server.url, carrierOf(keyPrefix, south))).toBe(1);
    });

    it("with routing: 'all', every node receives every message on one subscription, as before", async () => {
      const server = await RedisServer.start();
      const proxy = await RedisProxy.start(server.port);
      const keyPrefix = testPrefix();
      const [north] = channelsInDistinctShards(1) as [string];
      const [a, c] = await Promise.all([server.url, proxy.url].map((url) => app({ url, keyPrefix, routing: 'all' })));
      const sender = await Peer.connect(a!, { join: [north] });
      await eventually(() => c!.pubsub.members(north), (ids) => ids.length === 1, 'the member seen from C');
      for (let i = 0; i < 3; i += 1) await sender.broadcast(north, 'said', i);
      await eventually(() => proxy.heardBySubscribers, (heard) => count(heard, `"channel":"${north}"`) === 3, 'the three messages on C\'s connection');
      expect(await rawRedis(server.url).call('PUBSUB', 'CHANNELS')).toEqual([`${keyPrefix}:bus`]);
    });
  });

  describe('subscriptions', () => {
    it('subscribes to a shard with the first member or listener of its channels, and unsubscribes with the last', async () => {
      const keyPrefix = testPrefix();
      const node = await app({ keyPrefix });
      const [room] = channelsInDistinctShards(1) as [string];
      const carrier = carrierOf(keyPrefix, room);
      // Another channel of the same shard: its interest counts with the first one's.
      let neighbour = 'x';
      for (let n = 0; carrierOf(keyPrefix, neighbour) !== carrier; n += 1) neighbour = `neighbour-${n}`;

      expect(await subscribers(REDIS_URL, carrier)).toBe(0);
      const [one, two] = [await Peer.connect(node, { join: [room] }), await Peer.connect(node, { join: [room] })];
      await eventually(() => subscribers(REDIS_URL, carrier), (n) => n === 1, 'the shard subscribed once');
      const off = node.pubsub.subscribe(neighbour, () => {});
      await off.ready;
      await one.call('leave', { channel: room });
      await two.close();
      await eventually(() => node.pubsub.localMembers(room), (ids) => ids.length === 0, `nobody left in ${room}`);
      expect(await subscribers(REDIS_URL, carrier)).toBe(1); // the listener on the neighbour keeps it
      off();
      await eventually(() => subscribers(REDIS_URL, carrier), (n) => n === 0, 'the shard unsubscribed');
      expect(await subscribers(REDIS_URL, `${keyPrefix}:bus`)).toBe(1); // the cluster-wide bus stays
    });

    it.skipIf(redisServerMissing)('holds one subscription per shard its channels fall in, plus the bus: 3 nodes, 40 channels, 60 sockets', async () => {
      const server = await RedisServer.start(); // its own, so that CLIENT LIST shows these nodes only
      const keyPrefix = testPrefix();
      const apps = await Promise.all([0, 1, 2].map(() => app({ url: server.url, keyPrefix })));
      const channels = Array.from({ length: 40 }, (_, i) => `room-${i}`);
      const channelsOf = (n: number) => Array.from({ length: 20 }, (_, i) => channels[(n * 20 + i) % 40]!);
      const peers = await Promise.all(apps.map((node, n) => Promise.all(channelsOf(n).map((channel) => Peer.connect(node, { join: [channel] })))));
      for (const node of apps) await eventually(() => node.pubsub.members('room-0'), (ids) => ids.length === 2, 'room-0 on two nodes');

      // Each node's subscriber holds the bus and the shards of its 20 channels, once each.
      const keys = new Keyspace({ prefix: keyPrefix, clustered: false, routing: 'interest', shards: SHARDS });
      const expected = apps.map((_, n) => 1 + new Set(channelsOf(n).map((channel) => keys.carrierOf(channel))).size);
      const redis = rawRedis(server.url);
      const held = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).trim().split('\n').map((line) => Number(/ sub=(\d+) /.exec(line)?.[1]));
      expect(held.sort((x, y) => x - y)).toEqual(expected.sort((x, y) => x - y));
      const subscribed = (await redis.call('PUBSUB', 'CHANNELS')) as string[];
      expect(subscribed.length).toBe(new Set(channels.map((channel) => keys.carrierOf(channel))).size + 1);
      expect(subscribed).toContain(`${keyPrefix}:bus`);

      // And a message of room-0 (a socket on the first and the third node) reaches both.
      const inRoom = peers.flat().filter((_, i) => i % 40 === 0);
      await inRoom[0]!.broadcast('room-0', 'hi', 1);
      for (const peer of inRoom) expect(await peer.next()).toEqual({ channel: 'room-0', sender: inRoom[0]!.id, topic: 'hi', payload: 1 });
    });

    it('a shard subscribed again starts new counts: what it carried meanwhile is not counted as missed', async () => {
      const keyPrefix = testPrefix();
      const [a, b] = await Promise.all([app({ keyPrefix }), app({ keyPrefix })]);
      const [room] = channelsInDistinctShards(1) as [string];
      const far = await Peer.connect(b, { join: [room] });
      await eventually(() => a.pubsub.members(room), (ids) => ids.length === 1, 'the member seen from A');
      await a.pubsub.broadcast(room, 'said', 1);
      expect((await far.next()).payload).toBe(1);

      await far.call('leave', { channel: room });
      await eventually(() => subscribers(REDIS_URL, carrierOf(keyPrefix, room)), (n) => n === 0, 'B unsubscribed');
      for (let i = 2; i <= 4; i += 1) await a.pubsub.broadcast(room, 'said', i); // not for B: it hears none of them
      await far.call('join', { channel: room }); // resolves once B hears the room again
      await a.pubsub.broadcast(room, 'said', 5);
      expect((await far.next()).payload).toBe(5);
      expect(entries(b.logs, 'missed pub/sub messages')).toEqual([]);
    });
  });

  describe('bootstrap', () => {
    it('refuses a node that routes differently from the nodes already running, naming both and the fix', async () => {
      const keyPrefix = testPrefix();
      await app({ keyPrefix, shards: 64 });
      const error = (await app({ keyPrefix, shards: 128 }).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(
        `redisPubSub({ shards: 128 }): the nodes already running with keyPrefix '${keyPrefix}' route with shards: 64, and nodes that route ` +
          `differently miss each other's messages. Give every node the same routing and shards, or stop the others first (their record, ` +
          `${keyPrefix}:routing, expires 15000 ms after the last one stops).`,
      );
      await expect(app({ keyPrefix, routing: 'all' })).rejects.toThrow("redisPubSub({ routing: 'all' }): the nodes already running");
    });

    it('refuses shards and routing it cannot use, with what to give', () => {
      expect(() => redisPubSub({ shards: 0 })).toThrow('redisPubSub({ shards: 0 }): shards is a whole number from 1 to 65536, e.g. 8192.');
      expect(() => redisPubSub({ shards: 1.5 })).toThrow('redisPubSub({ shards: 1.5 }): shards is a whole number');
      expect(() => redisPubSub({ routing: 'some' as 'all' })).toThrow(`redisPubSub({ routing: "some" }): routing is 'interest' (the default) or 'all'.`);
      expect(() => redisPubSub({ url: REDIS_URL, cluster: ['redis://127.0.0.1:7000'] })).toThrow('Give the `cluster` nodes or a `url`, not both: they name different servers.');
    });
  });
});
