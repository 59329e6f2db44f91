// Metrics across nodes on a real Redis: a broadcast made in an HTTP request on node A is counted
// where it was published and where it was delivered, with the bus's lag; while Redis is away, what
// A could not carry is counted as dropped, and B counts the same messages as missed once it hears
// from A again.
import { describe, expect, it, onTestFinished } from 'vitest';
import { Redis } from 'ioredis';
import { redisPubSub } from 'vela';
import { startTestApp, type TestApp } from 'vela/testing';
import { redisMissing, uniquePrefix, REDIS_URL } from '../support/redis.js';
import { RedisServer, logged, redisServerMissing } from '../redis/support.js';
import { eventually } from '../pubsub/support.js';
import { DEFAULT_SHARDS, Keyspace } from '../../src/redis/keyspace.js';
import { AppModule } from './metrics-fixture.js';
import { testMeter, type TestMeter } from './metrics-support.js';

const ROOM = { 'vela.channel.pattern': 'room:*' };

async function node(url: string, keyPrefix: string): Promise<{ app: TestApp; meter: TestMeter }> {
  const meter = testMeter();
  const app = await startTestApp(AppModule, { pubsub: redisPubSub({ url, keyPrefix }), metrics: { meterProvider: meter.meterProvider } });
  return { app, meter };
}

describe.skipIf(redisMissing)('metrics across nodes on Redis', () => {
  it('counts a broadcast where it was published and where it was delivered, with the bus and fan-out lag', async () => {
    const keyPrefix = uniquePrefix();
    const a = await node(REDIS_URL, keyPrefix);
    const b = await node(REDIS_URL, keyPrefix);
    const far = await b.app.ws('/rooms/kitchen');
    expect(await far.recv()).toBe('joined');

    expect((await a.app.http.post('/api/say/room:kitchen', { text: 'hi' })).status).toBe(204);
    expect(await far.recvJson()).toEqual({ text: 'hi' });

    const [onA, onB] = [await a.meter.read(), await b.meter.read()];
    expect([onA.value('vela.pubsub.broadcasts', ROOM), onA.value('vela.pubsub.deliveries', ROOM)]).toEqual([1, 0]);
    expect([onB.value('vela.pubsub.broadcasts', ROOM), onB.value('vela.pubsub.deliveries', ROOM)]).toEqual([0, 1]);
    const bus = onB.histogram('vela.pubsub.bus.lag');
    expect(bus.count).toBe(1);
    expect(bus.sum).toBeGreaterThan(0);
    // From A's publish to B's last write: at least the bus's share.
    const fanout = onB.histogram('vela.pubsub.fanout.lag', ROOM);
    expect(fanout.count).toBe(1);
    expect(fanout.sum).toBeGreaterThanOrEqual(bus.sum);
    expect(onA.histogram('vela.pubsub.bus.lag').count).toBe(0);
  });

  it('puts the publish time on the bus only when the publishing node measures', async () => {
    const keyPrefix = uniquePrefix();
    const listener = new Redis(REDIS_URL);
    onTestFinished(() => void listener.quit());
    const wires: { e: { message: { payload: { from: string } } }; t?: number }[] = [];
    listener.on('pmessage', (_pattern: string, _channel: string, raw: string) => wires.push(JSON.parse(raw)));
    await listener.psubscribe(`${keyPrefix}:bus*`); // the bus and its shards (interest routing)
    const off = await startTestApp(AppModule, { pubsub: redisPubSub({ url: REDIS_URL, keyPrefix }) });
    const on = await node(REDIS_URL, keyPrefix);

    expect((await off.http.post('/api/say/lobby', { from: 'off' })).status).toBe(204);
    expect((await on.app.http.post('/api/say/lobby', { from: 'on' })).status).toBe(204);
    await eventually(() => wires.length, (count) => count === 2, 'both broadcasts on the bus');
    expect(wires.map((wire) => [wire.e.message.payload.from, typeof wire.t])).toEqual([
      ['off', 'undefined'],
      ['on', 'number'],
    ]);
  });
});

describe.skipIf(redisServerMissing)('metrics when Redis goes away', () => {
  it('counts what a node dropped during the outage, and the other node counts it missed', async () => {
    const server = await RedisServer.start();
    // Here rather than by the support file's afterAll, which a worker that keeps modules between files runs for the first file only.
    onTestFinished(() => server.kill());
    const keyPrefix = uniquePrefix();
    const a = await node(server.url, keyPrefix);
    const b = await node(server.url, keyPrefix);
    const near = await a.app.ws('/rooms/kitchen');
    const far = await b.app.ws('/rooms/kitchen');
    expect([await near.recv(), await far.recv()]).toEqual(['joined', 'joined']);
    // B learns A's running number: a gap in it is what B missed.
    expect((await a.app.http.post('/api/say/room:kitchen', { i: 0 })).status).toBe(204);
    expect([await near.recvJson(), await far.recvJson()]).toEqual([{ i: 0 }, { i: 0 }]);

    await server.stop();
    await logged(a.app.logs, 'warn', 'redis pub/sub connection lost');
    for (let i = 1; i <= 3; i += 1) {
      expect((await a.app.http.post('/api/say/room:kitchen', { i })).status).toBe(204);
      expect(await near.recvJson()).toEqual({ i }); // local delivery goes on
    }
    expect((await a.meter.read()).value('vela.pubsub.bus.dropped')).toBe(3);

    await server.start();
    await logged(a.app.logs, 'info', 'redis pub/sub connection is back');
    await logged(b.app.logs, 'info', 'redis subscriber re-subscribed');
    // That line is logged when SUBSCRIBE is sent: wait until Redis has both nodes on the room's shard,
    // or a message published now could reach B before its subscription does (and be missed, rightly).
    const probe = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    onTestFinished(() => probe.disconnect());
    const shard = new Keyspace({ prefix: keyPrefix, clustered: false, routing: 'interest', shards: DEFAULT_SHARDS }).carrierOf('room:kitchen');
    await eventually(async () => (await probe.call('PUBSUB', 'NUMSUB', shard)) as [string, number], ([, count]) => count === 2, 'both nodes subscribed to the room’s shard again');
    expect((await a.app.http.post('/api/say/room:kitchen', { i: 4 })).status).toBe(204);
    expect(await far.recvJson()).toEqual({ i: 4 });
    const onB = await b.meter.read();
    expect([onB.value('vela.pubsub.bus.missed'), onB.value('vela.pubsub.bus.dropped')]).toEqual([3, 0]);
    expect((await a.meter.read()).value('vela.pubsub.bus.dropped')).toBe(3);
  });
});
