// Several apps on one Redis act as one: what redisPubSub() promises beyond the shared contract.
// One subscription per node with routing: 'all' (interest routing: interest.test.ts), versioned
// messages on the channel's shard that carry the node id, bytes
// that survive the trip, membership that expires unless refreshed and goes at once on a clean
// close, messages nobody can read dropped with a log line, and a clear error when Redis is away.
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ConfigError, redisPubSub, type PubSubMessage } from 'vela';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { Peer, PubSubTestModule, connectMany, eventually, sorted } from '../pubsub/support.js';
import { RedisServer, entries, logged, rawRedis, redisServerMissing, testPrefix } from './support.js';
import { DEFAULT_SHARDS, Keyspace } from '../../src/redis/keyspace.js';
import { startTestApp, type TestApp } from 'vela/testing';

/** `count` apps on one Redis and one key prefix: one cluster. */
function cluster(count: number, options: { url?: string; keyPrefix?: string; membershipTtl?: number; routing?: 'all' } = {}): Promise<TestApp[]> {
  const keyPrefix = options.keyPrefix ?? testPrefix();
  const { membershipTtl, routing } = options;
  return Promise.all(
    Array.from({ length: count }, () => startTestApp(PubSubTestModule, { pubsub: redisPubSub({ url: options.url ?? REDIS_URL, keyPrefix, membershipTtl, routing }) })),
  );
}

async function converged(apps: readonly TestApp[], channel: string, peers: readonly Peer[]): Promise<void> {
  const want = sorted(peers.map((peer) => peer.id)).join();
  for (const app of apps) await eventually(() => app.pubsub.members(channel), (ids) => sorted(ids).join() === want, `members('${channel}') = ${want}`);
}

const nodeOf = (peer: Peer) => peer.id.split('.')[0]!;

describe.skipIf(redisMissing)('redisPubSub across nodes', () => {
  describe.skipIf(redisServerMissing)("one subscription per node with routing: 'all'", () => {
    it('3 apps with 40 channels and 60 sockets hold exactly 3 subscriber connections, on one channel', async () => {
      const server = await RedisServer.start();
      const keyPrefix = testPrefix();
      const apps = await cluster(3, { url: server.url, keyPrefix, routing: 'all' });
      const channels = Array.from({ length: 40 }, (_, i) => `room-${i}`);
      const peers = (
        await Promise.all(apps.map((app, n) => Promise.all(Array.from({ length: 20 }, (_, i) => Peer.connect(app, { join: [channels[(n * 20 + i) % 40]!, 'all'] })))))
      ).flat();
      for (const app of apps) for (const channel of channels.slice(0, 10)) app.pubsub.subscribe(channel, () => {});
      await converged(apps, 'all', peers);

      const redis = rawRedis(server.url);
      expect(await redis.call('PUBSUB', 'NUMSUB', `${keyPrefix}:bus`)).toEqual([`${keyPrefix}:bus`, 3]);
      expect(await redis.call('PUBSUB', 'CHANNELS')).toEqual([`${keyPrefix}:bus`]);
      expect(await redis.call('PUBSUB', 'NUMPAT')).toBe(0);
      const subscribers = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).trim().split('\n');
      expect(subscribers).toHaveLength(3);
      for (const line of subscribers) expect(line).toMatch(/ sub=1 psub=0 /);
      // Besides: one connection per node for publishing and membership, and this one.
      expect(String(await redis.call('CLIENT', 'LIST', 'TYPE', 'normal')).trim().split('\n')).toHaveLength(3 + 1);

      // And that one subscription carries every channel: room-0 has a socket on the first and the third node.
      const inRoom = peers.filter((_, i) => i % 40 === 0);
      expect(new Set(inRoom.map(nodeOf)).size).toBe(2);
      await converged(apps, 'room-0', inRoom);
      await inRoom[0]!.broadcast('room-0', 'hi', 1);
      for (const peer of inRoom) expect(await peer.next()).toEqual({ channel: 'room-0', sender: inRoom[0]!.id, topic: 'hi', payload: 1 });
    });
  });

  describe('the wire', () => {
    it("publishes each broadcast once on its channel's shard, <prefix>:bus:<n>, versioned and naming the sending node", async () => {
      const keyPrefix = testPrefix();
      const [a, b] = await cluster(2, { keyPrefix });
      const listener = rawRedis(REDIS_URL);
      const seen: string[] = [];
      listener.on('message', (_channel: string, raw: string) => seen.push(raw));
      const keys = new Keyspace({ prefix: keyPrefix, clustered: false, routing: 'interest', shards: DEFAULT_SHARDS });
      expect(keys.carrierOf('room')).toMatch(new RegExp(`^${keyPrefix}:bus:\\d+$`));
      await listener.subscribe(keys.carrierOf('room'));
      const peer = await Peer.connect(a!, { join: ['room'] });
      const far = await Peer.connect(b!, { join: ['room'] });
      await converged([a!, b!], 'room', [peer, far]);

      await peer.broadcast('room', 'said', { text: 'héllo' });
      expect((await far.next()).payload).toEqual({ text: 'héllo' });
      await eventually(() => seen.length, (n) => n >= 1, 'the message on the bus');
      expect(seen.map((raw) => JSON.parse(raw))).toEqual([
        { v: 2, node: nodeOf(peer), seq: 1, e: { type: 'message', message: { channel: 'room', sender: peer.id, topic: 'said', payload: { text: 'héllo' } } } },
      ]);
    });

    it('carries bytes: a Buffer payload arrives on another node as a Buffer', async () => {
      const [a, b] = await cluster(2);
      const heard: PubSubMessage[] = [];
      await b!.pubsub.subscribe('files', (message) => void heard.push(message)).ready;
      const bytes = Buffer.from([0, 1, 2, 255]);
      await a!.pubsub.broadcast('files', 'upload', { name: 'x.bin', bytes, view: new Uint8Array([5, 6]) });
      await eventually(() => heard.length, (n) => n === 1, 'the upload on the other node');
      const payload = heard[0]!.payload as { name: string; bytes: Buffer; view: Buffer };
      expect(Buffer.isBuffer(payload.bytes) && Buffer.isBuffer(payload.view)).toBe(true);
      expect(payload).toEqual({ name: 'x.bin', bytes, view: Buffer.from([5, 6]) });
    });

    it('drops and logs what it cannot read (garbage, another version, a broken envelope), and delivery goes on', async () => {
      const keyPrefix = testPrefix();
      const apps = await cluster(2, { keyPrefix });
      const peer = await Peer.connect(apps[0]!, { join: ['room'] });
      const far = await Peer.connect(apps[1]!, { join: ['room'] });
      await converged(apps, 'room', [peer, far]);

      const raw = rawRedis(REDIS_URL);
      const bus = `${keyPrefix}:bus`;
      await raw.publish(bus, 'garbage');
      await raw.publish(bus, JSON.stringify({ v: 3, node: 'future', e: { type: 'message', message: { channel: 'room', sender: null, topic: 't', payload: 1 } } }));
      // A node not yet upgraded: version 1 marked bytes in place, and is not read (see wire.ts).
      await raw.publish(bus, JSON.stringify({ v: 1, node: 'older', e: { type: 'message', message: { channel: 'room', sender: null, topic: 't', payload: { '$vela:bytes': 'aGk=' } } } }));
      await raw.publish(bus, JSON.stringify({ v: 2, node: 'broken', e: { type: 'message' } }));
      await raw.publish(bus, JSON.stringify({ v: 2, node: 'broken', e: { type: 'session-send', sessionId: 's', frame: 42 } }));
      await raw.publish(bus, JSON.stringify({ v: 2, node: 'newer', e: { type: 'presence-diff' } }));
      await peer.broadcast('room', 'after', 1);

      for (const p of [peer, far]) expect(await p.next()).toEqual({ channel: 'room', sender: peer.id, topic: 'after', payload: 1 });
      for (const app of apps) {
        const dropped = await eventually(
          () => entries(app.logs, 'dropped a pub/sub message from Redis that this node cannot read'),
          (found) => found.length === 5,
          'five unreadable messages logged',
        );
        expect(dropped.map((entry) => [entry.level, entry.fields])).toEqual([
          ['warn', { reason: 'not JSON', channel: bus }],
          ['warn', { reason: 'wire version 3, this node speaks 2', channel: bus }],
          ['warn', { reason: 'wire version 1, this node speaks 2', channel: bus }],
          ['warn', { reason: 'malformed message envelope: no message', channel: bus }],
          ['warn', { reason: 'malformed session-send envelope: frame must be a string, bytes or json(value)', channel: bus }],
        ]);
        expect((await logged(app.logs, 'warn', 'pub/sub dropped an envelope of an unknown type')).fields).toEqual({ envelope: { type: 'presence-diff' } });
      }
      // A message written by hand in the current version, as another node would, is delivered.
      await raw.publish(bus, JSON.stringify({ v: 2, node: 'other', e: { type: 'message', message: { channel: 'room', sender: null, topic: 'hand', payload: 2 } } }));
      for (const p of [peer, far]) expect((await p.next()).topic).toBe('hand');
    });

    it("counts and logs a gap in a node's numbered messages, and drops a number it already had", async () => {
      const keyPrefix = testPrefix();
      const [app] = await cluster(1, { keyPrefix });
      const far = await Peer.connect(app!, { join: ['room'] });
      const raw = rawRedis(REDIS_URL);
      const from = (seq: number) =>
        raw.publish(`${keyPrefix}:bus`, JSON.stringify({ v: 2, node: 'other', seq, e: { type: 'message', message: { channel: 'room', sender: null, topic: 't', payload: seq } } }));
      for (const seq of [1, 2, 2, 5, 6]) await from(seq);

      expect((await far.take(4)).map((message) => message.payload)).toEqual([1, 2, 5, 6]);
      expect(entries(app!.logs, 'dropped a pub/sub message already received').map((entry) => [entry.level, entry.fields])).toEqual([
        ['warn', { node: 'other', seq: 2, last: 2 }],
      ]);
      expect(entries(app!.logs, 'missed pub/sub messages from another node').map((entry) => [entry.level, entry.fields])).toEqual([
        ['warn', { node: 'other', missed: 2, missedInAll: 2 }],
      ]);
    });
  });

  describe('#members', () => {
    it('keeps a node\'s members under <prefix>:node:<id>, expiring after the default membershipTtl of 15 000 ms', async () => {
      const keyPrefix = testPrefix();
      const [app] = await cluster(1, { keyPrefix });
      const peer = await Peer.connect(app!, { join: ['room'] });
      const redis = rawRedis(REDIS_URL);
      const key = `${keyPrefix}:node:${nodeOf(peer)}`;
      await eventually(() => redis.hget(key, 'room'), (value) => value !== null, 'the node hash in Redis');
      expect(JSON.parse((await redis.hget(key, 'room'))!)).toEqual([peer.id]);
      const pttl = await redis.pttl(key);
      expect(pttl).toBeLessThanOrEqual(15_000);
      expect(pttl).toBeGreaterThan(10_000);
      const expiresIn = Number(await redis.zscore(`${keyPrefix}:nodes`, nodeOf(peer))) - Date.now();
      expect(expiresIn).toBeLessThanOrEqual(15_000);
      expect(expiresIn).toBeGreaterThan(10_000);
    });

    it('refreshes a live node\'s membership well within a short membershipTtl, so its members never lapse', async () => {
      const keyPrefix = testPrefix();
      const [a, b] = await cluster(2, { keyPrefix, membershipTtl: 500 });
      const peer = await Peer.connect(a!, { join: ['room'] });
      await eventually(() => b!.pubsub.members('room'), (ids) => ids.includes(peer.id), 'the member seen from the other node');
      const redis = rawRedis(REDIS_URL);
      expect(await redis.pttl(`${keyPrefix}:node:${nodeOf(peer)}`)).toBeLessThanOrEqual(500);
      // Sampled over three ttls: a refresh that came late even once would show as a lapse.
      const until = Date.now() + 1_500;
      while (Date.now() < until) {
        expect(await b!.pubsub.members('room')).toEqual([peer.id]);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    });

    it('a clean app.close() removes its members at once, in Redis too', async () => {
      const keyPrefix = testPrefix();
      const [a, b] = await cluster(2, { keyPrefix });
      const [near, far] = [await Peer.connect(a!, { join: ['room'] }), await Peer.connect(b!, { join: ['room', 'lobby'] })];
      await converged([a!, b!], 'room', [near, far]);
      const redis = rawRedis(REDIS_URL);
      expect(await redis.exists(`${keyPrefix}:node:${nodeOf(far)}`)).toBe(1);

      await b!.close();
      expect(await a!.pubsub.members('room')).toEqual([near.id]);
      expect(await a!.pubsub.members('lobby')).toEqual([]);
      expect(await redis.exists(`${keyPrefix}:node:${nodeOf(far)}`)).toBe(0);
      expect(await redis.zscore(`${keyPrefix}:nodes`, nodeOf(far))).toBeNull();
    });

    it('keeps the hash in step with a burst of joins and leaves: a channel nobody is left in goes from it', async () => {
      const keyPrefix = testPrefix();
      const [a] = await cluster(1, { keyPrefix });
      const peers = await connectMany(a!, 25, ['room']);
      const redis = rawRedis(REDIS_URL);
      const key = `${keyPrefix}:node:${nodeOf(peers[0])}`;
      await eventually(async () => JSON.parse((await redis.hget(key, 'room')) ?? '[]') as string[], (ids) => ids.length === 25, '25 members in Redis');
      await Promise.all(peers.map((peer) => peer.call('leave', { channel: 'room' })));
      await eventually(() => redis.hexists(key, 'room'), (n) => n === 0, "'room' gone from the hash");
    });
  });

  describe('bootstrap', () => {
    it('fails with a ConfigError naming host:port and what to do when Redis cannot be reached', async () => {
      const started = Date.now();
      const error = (await startTestApp(PubSubTestModule, { pubsub: redisPubSub({ url: 'redis://127.0.0.1:1' }) }).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe('Cannot reach Redis at 127.0.0.1:1 for pub/sub: connect ECONNREFUSED 127.0.0.1:1. Start Redis, or fix the url.');
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('names the host and port of a client the app passed', async () => {
      const client = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true });
      const error = (await startTestApp(PubSubTestModule, { pubsub: redisPubSub({ client }) }).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/^Cannot reach Redis at 127\.0\.0\.1:1 for pub\/sub: connect ECONNREFUSED 127\.0\.0\.1:1\. Start Redis, or fix the url\.$/);
      client.disconnect();
    });

    it('refuses to start one adapter in two apps', async () => {
      const pubsub = redisPubSub({ keyPrefix: testPrefix() });
      await startTestApp(PubSubTestModule, { pubsub });
      await expect(startTestApp(PubSubTestModule, { pubsub })).rejects.toThrow('This redisPubSub() adapter is already used by an app; create one per app.');
    });
  });
});
