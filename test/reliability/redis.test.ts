// Reliability battery, Redis: the broadcast stream across a Redis crash and restart (18), and an app
// started while Redis is unreachable (19). Each runs on a redis-server of its own (never the shared
// one on 6379), which it kills and starts again on the same port.
import { describe, expect, it } from 'vitest';
import { Module, redisPubSub, redisSessionStore } from 'vela';
import { uniquePrefix } from '../support/redis.js';
import { Peer, PubSubTestModule, eventually } from '../pubsub/support.js';
import { idOf, SessionModule, sessionCookie, withSession } from '../session/support.js';
import { RedisServer, entries, logged, rawRedis, redisServerMissing } from '../redis/support.js';
import { freePort } from '../support/ports.js';
import { startTestApp, type TestApp } from 'vela/testing';

const LOST = 'redis pub/sub connection lost';
const BACK = 'redis pub/sub connection is back';
const SUB_CLOSED = 'redis subscriber connection closed';
const SUB_BACK = 'redis subscriber re-subscribed';
const MISSED = 'missed pub/sub messages from another node';

const errors = (app: TestApp) => app.logs.entries.filter((entry) => entry.level === 'error');

describe.skipIf(redisServerMissing)('reliability: Redis', () => {
  it('18. Redis restarted in the middle of a broadcast stream: no crash, reconnect, re-subscribe, delivery resumes; the loss is counted and logged', async () => {
    const server = await RedisServer.start();
    const keyPrefix = uniquePrefix();
    const [a, b] = await Promise.all([0, 1].map(() => startTestApp(PubSubTestModule, { pubsub: redisPubSub({ url: server.url, keyPrefix }) })));
    const sockets = await Promise.all([0, 1, 2].map(() => Peer.connect(b!, { join: ['stream'] })));
    await eventually(() => a!.pubsub.members('stream'), (ids) => ids.length === 3, "B's three sockets seen from A");
    const nodeA = (await Peer.connect(a!)).id.split('.')[0]; // a connection id starts with its node's id

    // A steady stream from A: one awaited broadcast every 2 ms (pacing, not synchronisation).
    let attempted = 0;
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        await a!.pubsub.broadcast('stream', 'seq', { seq: attempted++ });
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const sentMore = (count: number) => {
      const target = attempted + count;
      return eventually(() => attempted, (n) => n >= target, `${count} more broadcasts`);
    };

    await sentMore(50);
    await server.kill(); // SIGKILL: Redis crashes, no goodbye to its clients
    await logged(a!.logs, 'warn', LOST);
    await logged(b!.logs, 'warn', SUB_CLOSED);
    await sentMore(50); // into the void, for B
    await server.start(); // same port, empty
    for (const app of [a!, b!]) {
      await logged(app.logs, 'info', BACK);
      await logged(app.logs, 'info', SUB_BACK);
    }
    await eventually(() => rawRedis(server.url).call('PUBSUB', 'NUMSUB', `${keyPrefix}:bus`), (reply) => (reply as [string, number])[1] === 2, 'both nodes subscribed again');
    await sentMore(50);
    streaming = false;
    await stream;
    const last = attempted++;
    await a!.pubsub.broadcast('stream', 'seq', { seq: last }); // with everything up: it must arrive

    const received: number[][] = [];
    for (const socket of sockets) {
      const seqs: number[] = [];
      for (let seq = -1; seq !== last; ) seqs.push((seq = (await socket.next<{ payload: { seq: number } }>()).payload.seq));
      received.push(seqs);
    }
    const [heard] = received as [number[]];
    // Delivery resumed, in order and never twice, and every socket on B got the same messages.
    expect(heard.slice(-50).every((seq) => seq > 100)).toBe(true);
    expect(heard.every((seq, i) => i === 0 || seq > heard[i - 1]!)).toBe(true);
    for (const other of received) expect(other).toEqual(heard);

    // What was lost is counted, exactly, by the node that missed it (B), and logged there.
    const lost = attempted - heard.length;
    expect(lost).toBeGreaterThan(0);
    const gaps = entries(b!.logs, MISSED);
    expect(gaps.length).toBeGreaterThan(0);
    for (const gap of gaps) expect(gap).toMatchObject({ level: 'warn', fields: { node: nodeA } });
    expect(gaps.reduce((sum, entry) => sum + (entry.fields.missed as number), 0)).toBe(lost);
    // A counted what it could not publish itself (a part of it: the rest went out before B re-subscribed).
    const dropped = (await logged(a!.logs, 'info', BACK)).fields.droppedForOtherNodes as number;
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThanOrEqual(lost);
    // No crash, one warning per outage, no error, and both apps still work.
    for (const app of [a!, b!]) {
      expect(entries(app.logs, LOST)).toHaveLength(1);
      expect(errors(app)).toEqual([]);
    }
    console.info(`[18] ${attempted} broadcasts, ${heard.length} delivered to each of 3 sockets, ${lost} lost (B counted ${lost} in ${gaps.length} gap(s); A dropped ${dropped})`);
  });

  it('19. Redis unreachable at bootstrap: redisPubSub fails bootstrap at once, naming the address and the fix', async () => {
    const port = await freePort();
    @Module({})
    class AppModule {}

    const started = Date.now();
    const failed = await startTestApp(AppModule, { pubsub: redisPubSub({ url: `redis://127.0.0.1:${port}` }) }).then(
      () => undefined,
      (error: Error) => error,
    );
    const tookMs = Date.now() - started;
    expect(failed?.message).toBe(
      `Cannot reach Redis at 127.0.0.1:${port} for pub/sub: connect ECONNREFUSED 127.0.0.1:${port}. Start Redis, or fix the url.`,
    );
    expect(tookMs).toBeLessThan(2_000);
    console.info(`[19] bootstrap rejected after ${tookMs} ms`);
  });

  it('19. Redis unreachable at bootstrap: a Redis that refuses one of the two connections fails bootstrap and leaves no connection behind', async () => {
    const server = await RedisServer.start();
    const admin = rawRedis(server.url);
    // Room for this client and one more: one of the node's two connections gets in, the other is refused.
    await admin.config('SET', 'maxclients', '2');
    const clients = async () => ((await admin.client('LIST')) as string).trim().split('\n').length;
    expect(await clients()).toBe(1);

    const failed = await startTestApp(PubSubTestModule, { pubsub: redisPubSub({ url: server.url }) }).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failed?.message).toMatch(new RegExp(`^Cannot reach Redis at 127\\.0\\.0\\.1:${server.port} for pub/sub: .+\\. Start Redis, or fix the url\\.$`));
    // The connection that did get in is closed, not left reconnecting (which kept the process alive).
    await eventually(clients, (count) => count === 1, 'only the admin connection left');
  });

  it('19. Redis unreachable at bootstrap: with redisSessionStore the app starts degraded, answers 500 naming the store and the address, and heals when Redis is up', async () => {
    const server = await RedisServer.start();
    await server.stop(); // its port is now closed; started again below
    const app = await startTestApp(SessionModule, { sessions: { store: redisSessionStore({ url: server.url, keyPrefix: `${uniquePrefix()}:s:` }) } });

    const started = Date.now();
    const down = await app.http.fetch('/set?key=n&value=1');
    const tookMs = Date.now() - started;
    expect(down.status).toBe(500);
    expect(sessionCookie(down)).toBeUndefined();
    expect(tookMs).toBeLessThan(2_000);
    const [failure] = errors(app);
    expect((failure?.fields.error as Error).message).toBe(
      `Session store 'redis' failed in secret(): Cannot reach Redis at 127.0.0.1:${server.port} for sessions: connect ECONNREFUSED 127.0.0.1:${server.port}. ` +
        'Start Redis, or fix the url. Requests that need a session fail with 500 until the store answers again.',
    );

    await server.start();
    const up = await app.http.fetch('/set?key=n&value=1');
    expect(up.status, `after Redis started: ${errors(app).slice(1).map((e) => String(e.fields.error)).join('; ')}`).toBe(200);
    const cookie = sessionCookie(up)!.value;
    expect(await (await app.http.fetch('/session?keys=n', withSession(cookie))).json()).toEqual({ id: idOf(cookie), values: { n: 1 } });
    console.info(`[19] session store down: 500 after ${tookMs} ms; healed on the first request after Redis started`);
  });
});
