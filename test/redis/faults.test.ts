// Redis going away under a running cluster, on a redis-server of this file's own (never the shared
// one): restarts, dropped connections, a subscriber Redis disconnects for being too slow, a node cut
// off from Redis. No app crashes, local delivery carries on, the outage is logged with what it cost,
// and delivery across nodes is at most once and in order, before and after.
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { Redis } from 'ioredis';
import { redisPubSub, type PubSubMessage } from 'vela';
import { uniquePrefix } from '../support/redis.js';
import { Peer, PubSubTestModule, eventually, sorted } from '../pubsub/support.js';
import { RedisProxy, RedisServer, entries, logged, rawRedis, redisServerMissing } from './support.js';
import { startTestApp, type TestApp } from 'vela/testing';

const LOST = 'redis pub/sub connection lost';
const BACK = 'redis pub/sub connection is back';
const SUB_CLOSED = 'redis subscriber connection closed';
const SUB_BACK = 'redis subscriber re-subscribed';

describe.skipIf(redisServerMissing)('redisPubSub when Redis fails', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await RedisServer.start();
  });

  beforeEach(async () => {
    // A test that failed half-way may have left it stopped.
    if (!(await rawRedis(server.url, { lazyConnect: true, retryStrategy: () => null }).ping().catch(() => false))) await server.start();
  });

  afterAll(async () => {
    await server.kill();
  });

  async function cluster(count: number, options: { url?: string[]; membershipTtl?: number } = {}): Promise<{ apps: TestApp[]; keyPrefix: string }> {
    const keyPrefix = uniquePrefix();
    const apps = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        startTestApp(PubSubTestModule, { pubsub: redisPubSub({ url: options.url?.[i] ?? server.url, keyPrefix, membershipTtl: options.membershipTtl }) }),
      ),
    );
    return { apps, keyPrefix };
  }

  async function converged(apps: readonly TestApp[], channel: string, peers: readonly Peer[], timeoutMs?: number): Promise<void> {
    const want = sorted(peers.map((peer) => peer.id)).join();
    for (const app of apps) {
      await eventually(() => app.pubsub.members(channel), (ids) => sorted(ids).join() === want, `members('${channel}') = ${want}`, timeoutMs);
    }
  }

  /** Every node's publishing and subscribing connections are back, and Redis sees the subscribers. */
  async function healed(apps: readonly TestApp[], keyPrefix: string): Promise<void> {
    for (const app of apps) {
      await logged(app.logs, 'info', BACK);
      await logged(app.logs, 'info', SUB_BACK);
    }
    const redis = rawRedis(server.url);
    await eventually(() => redis.call('PUBSUB', 'NUMSUB', `${keyPrefix}:bus`), (reply) => (reply as [string, number])[1] === apps.length, 'every node subscribed again');
  }

  const seqs = (messages: PubSubMessage[]) => messages.map((message) => (message.payload as { seq: number }).seq);

  it('survives a restart: local delivery goes on, the outage is logged with what it cost, membership is republished', async () => {
    const { apps, keyPrefix } = await cluster(2);
    const [a, b] = apps as [TestApp, TestApp];
    const sender = await Peer.connect(a, { join: ['room'] });
    const neighbour = await Peer.connect(a, { join: ['room'] });
    const far = await Peer.connect(b, { join: ['room'] });
    await converged(apps, 'room', [sender, neighbour, far]);
    let seq = 0;
    const send = async (count: number) => {
      for (let i = 0; i < count; i += 1) expect(await sender.broadcast('room', 'seq', { seq: seq++ })).toBeNull();
    };

    await send(30); // 0–29, with Redis up
    expect(seqs(await far.take(30))).toEqual([...Array(30).keys()]);

    await server.stop();
    await logged(a.logs, 'warn', LOST);
    await logged(b.logs, 'warn', SUB_CLOSED);
    await send(40); // 30–69, with Redis down: each broadcast still resolves
    expect(sorted(await a.pubsub.members('room'))).toEqual(sorted([sender.id, neighbour.id])); // this node only, no error
    for (const peer of [sender, neighbour]) expect(seqs(await peer.take(70))).toEqual([...Array(70).keys()]);

    await server.start(); // empty: the restart lost every key
    await healed(apps, keyPrefix);
    await converged(apps, 'room', [sender, neighbour, far]);
    await send(30); // 70–99

    // 100 sent, 60 received in order and once each; the 40 sent while Redis was down are what A counted.
    const received = [...Array(30).keys(), ...seqs(await far.take(30))];
    expect(received).toEqual([...Array(30).keys(), ...Array.from({ length: 30 }, (_, i) => 70 + i)]);
    expect(far.unread).toBe(0);
    const back = await logged(a.logs, 'info', BACK);
    expect(back.fields).toEqual({ downMs: expect.any(Number), droppedForOtherNodes: 100 - received.length });
    expect(back.fields.droppedForOtherNodes).toBe(40);
    expect(back.fields.downMs).toBeGreaterThan(0);
    expect((await logged(b.logs, 'info', BACK)).fields).toMatchObject({ droppedForOtherNodes: 0 });
    for (const app of apps) {
      expect(entries(app.logs, LOST)).toHaveLength(1); // logged once per outage, not per message
      expect(app.logs.entries.filter((entry) => entry.level === 'error')).toEqual([]);
    }
  });

  it('a steady stream across a restart: at most once, in order, and the losses the publisher saw are counted', async () => {
    const { apps, keyPrefix } = await cluster(2);
    const [a, b] = apps as [TestApp, TestApp];
    const heard: number[] = [];
    await b.pubsub.subscribe<{ seq: number }>('room', (message) => void heard.push(message.payload.seq)).ready;
    const local: number[] = [];
    a.pubsub.subscribe<{ seq: number }>('room', (message) => void local.push(message.payload.seq));

    // One broadcast every 2 ms from A, awaited, from before the outage until after it healed.
    let attempted = 0;
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        await a.pubsub.broadcast('room', 'seq', { seq: attempted++ });
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const sentMore = (count: number) => {
      const target = attempted + count;
      return eventually(() => attempted, (n) => n >= target, `${count} more messages sent`);
    };

    await sentMore(50);
    await server.stop();
    await logged(a.logs, 'warn', LOST);
    await sentMore(50);
    await server.start();
    await healed(apps, keyPrefix);
    await sentMore(50);
    streaming = false;
    await stream;
    await a.pubsub.broadcast('room', 'seq', { seq: attempted++ }); // the last one, with everything up
    await eventually(() => heard.at(-1), (last) => last === attempted - 1, 'the last message on B');

    const dropped = (await logged(a.logs, 'info', BACK)).fields.droppedForOtherNodes as number;
    const lost = attempted - heard.length;
    expect(local).toEqual([...Array(attempted).keys()]); // A's own listener missed nothing
    expect(new Set(heard).size).toBe(heard.length); // never twice
    expect(heard).toEqual([...heard].sort((x, y) => x - y)); // in order
    expect(dropped).toBeGreaterThan(0);
    // Counted: what A could not publish. Not counted: what A published after its own connection was
    // back but before B's subscriber was (at most once; B logged that gap as "subscriber closed").
    // One awaited broadcast at a time, so at most one was in flight (counted, perhaps delivered) when it broke.
    expect(lost).toBeGreaterThanOrEqual(dropped - 1);
  });

  it('never delivers a message twice: publishes whose replies were lost are failed and counted, not replayed after reconnecting', async () => {
    const proxy = await RedisProxy.start(server.port);
    const { apps } = await cluster(2, { url: [proxy.url, server.url] });
    const [a, b] = apps as [TestApp, TestApp];
    const sender = await Peer.connect(a, { join: ['room'] });
    const far = await Peer.connect(b, { join: ['room'] });
    await converged(apps, 'room', [sender, far]);

    // Redis gets and delivers these ten, but A never hears that it did; then A's connection breaks.
    proxy.swallowReplies();
    const sent = Array.from({ length: 10 }, (_, seq) => a.pubsub.broadcast('room', 'seq', { seq }));
    expect(seqs(await far.take(10))).toEqual([...Array(10).keys()]);
    proxy.restore();
    proxy.drop('publisher');
    await Promise.all(sent); // settled, not left hanging until Redis answers
    await logged(a.logs, 'warn', LOST);
    expect((await logged(a.logs, 'info', BACK)).fields).toMatchObject({ droppedForOtherNodes: 10 }); // unconfirmed counts as dropped

    await a.pubsub.broadcast('room', 'marker', null);
    expect(await far.next()).toEqual({ channel: 'room', sender: null, topic: 'marker', payload: null });
    expect(far.unread).toBe(0);
  });

  it('Redis refusing a PUBLISH (an ACL without it) is no outage: each refused broadcast is logged, and the next one Redis accepts crosses', async () => {
    const admin = rawRedis(server.url);
    const user = `node-${uniquePrefix().slice(-12)}`;
    await admin.call('ACL', 'SETUSER', user, 'on', '>secret', '~*', '&*', '+@all');
    const keyPrefix = uniquePrefix();
    const url = new URL(server.url);
    url.username = user;
    url.password = 'secret';
    const [a, b] = await Promise.all([
      startTestApp(PubSubTestModule, { pubsub: redisPubSub({ url: url.href, keyPrefix }) }),
      startTestApp(PubSubTestModule, { pubsub: redisPubSub({ url: server.url, keyPrefix }) }),
    ]);
    const heard: unknown[] = [];
    await b!.pubsub.subscribe('room', (message) => void heard.push(message.payload)).ready;
    await a!.pubsub.broadcast('room', 'said', 'before');
    await eventually(() => heard, (got) => got.length === 1, 'the first broadcast on node B');

    await admin.call('ACL', 'SETUSER', user, '-publish');
    await a!.pubsub.broadcast('room', 'said', 'refused by Redis');
    const refused = await logged(a!.logs, 'error', 'pub/sub could not reach the other nodes');
    expect((refused.fields.error as Error).message).toMatch(/^NOPERM/);
    await admin.call('ACL', 'SETUSER', user, '+publish');
    await a!.pubsub.broadcast('room', 'said', 'accepted');

    await eventually(() => heard, (got) => got.length === 2, 'the accepted broadcast on node B');
    expect(heard).toEqual(['before', 'accepted']);
    expect(entries(a!.logs, LOST)).toEqual([]);
    expect((await logged(b!.logs, 'warn', 'missed pub/sub messages from another node')).fields).toMatchObject({ missed: 1 });
    await admin.call('ACL', 'DELUSER', user);
  });

  it('a dropped connection (CLIENT KILL) is logged and healed, and delivery carries on', async () => {
    const { apps, keyPrefix } = await cluster(2);
    const [a, b] = apps as [TestApp, TestApp];
    const sender = await Peer.connect(a, { join: ['room'] });
    const far = await Peer.connect(b, { join: ['room'] });
    await converged(apps, 'room', [sender, far]);
    const admin = rawRedis(server.url);

    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal'); // every node's publishing connection (not this one: SKIPME)
    for (const app of apps) await logged(app.logs, 'info', BACK);
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'); // every node's subscriber
    await healed(apps, keyPrefix);
    for (const app of apps) {
      expect(entries(app.logs, SUB_CLOSED).map((entry) => entry.level)).toEqual(['warn']);
      expect(app.logs.entries.filter((entry) => entry.level === 'error')).toEqual([]);
    }
    await sender.broadcast('room', 'after', 1);
    expect(await far.next()).toEqual({ channel: 'room', sender: sender.id, topic: 'after', payload: 1 });
  });

  it('a subscriber too slow for client-output-buffer-limit pubsub is dropped by Redis, re-subscribes, and delivery resumes', async () => {
    const admin = rawRedis(server.url);
    const [, limits] = (await admin.config('GET', 'client-output-buffer-limit')) as [string, string];
    await admin.config('SET', 'client-output-buffer-limit', 'pubsub 64kb 32kb 1');
    onTestFinished(async () => {
      const restore = new Redis(server.url);
      await restore.config('SET', 'client-output-buffer-limit', limits);
      await restore.quit();
    });
    const proxy = await RedisProxy.start(server.port);
    const { apps, keyPrefix } = await cluster(2, { url: [server.url, proxy.url] }); // B reads through the proxy
    const [a, b] = apps as [TestApp, TestApp];
    const sender = await Peer.connect(a, { join: ['room'] });
    const far = await Peer.connect(b, { join: ['room'] });
    await converged(apps, 'room', [sender, far]);

    // B stops reading; 64 KB messages (for a channel nobody joined) pile up in Redis for it.
    proxy.pauseSubscribers();
    const flood = JSON.stringify({ v: 2, node: 'flood', e: { type: 'message', message: { channel: 'nobody', sender: null, topic: 'x', payload: 'x'.repeat(64 * 1024) } } });
    const logFrom = server.output.length;
    await eventually(
      async () => {
        const pipeline = admin.pipeline();
        for (let i = 0; i < 16; i += 1) pipeline.publish(`${keyPrefix}:bus`, flood);
        await pipeline.exec();
        return server.output.slice(logFrom);
      },
      (log) => /scheduled to be closed ASAP for overcoming of output buffer limits/.test(log),
      'Redis to drop the slow subscriber',
      10_000,
    );
    // Redis's own log names the client it dropped: a subscriber (flags=P; sub=2: the bus and the room's
    // shard), for its output buffer.
    expect(server.output.slice(logFrom)).toMatch(/Client id=\d+ .* flags=P .*sub=2 .*scheduled to be closed ASAP for overcoming of output buffer limits/);
    proxy.restore();

    await logged(b.logs, 'warn', SUB_CLOSED);
    await logged(b.logs, 'info', SUB_BACK);
    await eventually(() => admin.call('PUBSUB', 'NUMSUB', `${keyPrefix}:bus`), (reply) => (reply as [string, number])[1] === 2, 'B subscribed again');
    expect(entries(a.logs, SUB_CLOSED)).toEqual([]); // A kept up
    expect(entries(b.logs, LOST)).toEqual([]); // B's publishing connection was never the problem

    await sender.broadcast('room', 'after', 1);
    expect(await far.next()).toEqual({ channel: 'room', sender: sender.id, topic: 'after', payload: 1 });
  });

  it("a node cut off from Redis: its members vanish from the others within membershipTtl, and return when it is back", async () => {
    const ttl = 1_000;
    const proxy = await RedisProxy.start(server.port);
    const { apps, keyPrefix } = await cluster(2, { url: [server.url, proxy.url], membershipTtl: ttl });
    const [a, b] = apps as [TestApp, TestApp];
    const sender = await Peer.connect(a, { join: ['room'] });
    const far = await Peer.connect(b, { join: ['room'] });
    const farNeighbour = await Peer.connect(b, { join: ['room'] });
    await converged(apps, 'room', [sender, far, farNeighbour]);

    const cut = Date.now();
    proxy.block();
    await logged(b.logs, 'warn', LOST);
    await eventually(() => a.pubsub.members('room'), (ids) => ids.length === 1, "B's members gone from A", ttl + 1_000);
    expect(Date.now() - cut).toBeLessThanOrEqual(ttl + 250); // the ttl, plus this poll's own latency
    expect(await a.pubsub.members('room')).toEqual([sender.id]);
    // B carries on alone: its own sockets still hear each other, and it sees its own members.
    await far.broadcast('room', 'alone', 1);
    expect((await farNeighbour.next()).topic).toBe('alone');
    expect(sorted(await b.pubsub.members('room'))).toEqual(sorted([far.id, farNeighbour.id]));

    proxy.restore();
    await logged(b.logs, 'info', BACK);
    await converged(apps, 'room', [sender, far, farNeighbour]);
    expect((await logged(b.logs, 'info', BACK)).fields).toMatchObject({ droppedForOtherNodes: 1 });
    await logged(b.logs, 'info', SUB_BACK);
    await eventually(() => rawRedis(server.url).call('PUBSUB', 'NUMSUB', `${keyPrefix}:bus`), (reply) => (reply as [string, number])[1] === 2, 'B subscribed again');
    await sender.broadcast('room', 'welcome back', 2);
    expect((await far.take(2)).map((message) => message.topic)).toEqual(['alone', 'welcome back']);
    expect((await farNeighbour.next()).topic).toBe('welcome back');
  });

  it('app.close() with Redis down returns promptly, and leaves nothing reconnecting', async () => {
    const { apps } = await cluster(1);
    await Peer.connect(apps[0]!, { join: ['room'] });
    await server.stop();
    await logged(apps[0]!.logs, 'warn', LOST);
    const closing = Date.now();
    await apps[0]!.close();
    expect(Date.now() - closing).toBeLessThan(1_000);
    expect(entries(apps[0]!.logs, 'could not remove this node')).toEqual([]); // it did not try: it expires by itself
  });
});
