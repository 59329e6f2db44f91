// Requests repeated across nodes on Redis: the answer is kept in Redis, so a repeat that lands on
// another node is answered once, waits for a first still running elsewhere, and is answered
// unavailable when the node holding the first went away before answering.
import { describe, expect, it } from 'vitest';
import { redisPubSub, type PubSubAdapter } from 'vela';
import { startTestApp, type TestApp, type TestSocket } from 'vela/testing';
import { Handled, RequestModule } from '../fixtures/request-gateway.js';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { eventually } from '../pubsub/support.js';
import { rawRedis, testPrefix } from './support.js';

const CLIENT = 'client-redis-01';
const url = `/requests?vela_client=${CLIENT}`;

function node(handled: Handled, keyPrefix: string, window?: number): Promise<TestApp> {
  return startTestApp(RequestModule, {
    providers: [{ provide: Handled, useValue: handled }],
    pubsub: redisPubSub({ url: REDIS_URL, keyPrefix }),
    requests: window === undefined ? undefined : { window },
  });
}

async function ask(socket: TestSocket, event: string, data: unknown, ref: string): Promise<unknown> {
  socket.sendJson({ event, data, ref });
  return socket.recvJson();
}

describe.skipIf(redisMissing)('requests repeated across nodes on Redis', () => {
  it('a repeat on the other node is answered from Redis, the handler run once', async () => {
    const handled = new Handled();
    const keyPrefix = testPrefix();
    const [one, two] = await Promise.all([node(handled, keyPrefix), node(handled, keyPrefix)]);
    const first = await one.ws(url);
    expect(await ask(first, 'add', { n: 1 }, '1')).toEqual({ ref: '1', ok: { sum: 2 } });
    first.raw.terminate();
    const again = await two.ws(url);
    expect(await ask(again, 'add', { n: 1 }, '1')).toEqual({ ref: '1', ok: { sum: 2 } });
    expect(handled.runs.get('add')).toBe(1);
    const redis = rawRedis(REDIS_URL);
    expect(await redis.get(`${keyPrefix}:answer:${CLIENT}:1`)).toBe('a{"ref":"1","ok":{"sum":2}}');
  });

  it('a repeat on the other node while the first still runs waits for its answer', async () => {
    const handled = new Handled();
    const keyPrefix = testPrefix();
    const [one, two] = await Promise.all([node(handled, keyPrefix), node(handled, keyPrefix)]);
    const first = await one.ws(url);
    first.sendJson({ event: 'slow', data: null, ref: '1' });
    await handled.started.promise;
    first.raw.terminate();
    const again = await two.ws(url);
    again.sendJson({ event: 'slow', data: null, ref: '1' });
    await again.expectNoMessage(50);
    handled.gate.resolve();
    expect(await again.recvJson()).toEqual({ ref: '1', ok: 'slow done' });
    expect(handled.runs.get('slow')).toBe(1);
  });

  it('a repeat whose first was claimed by a node that died before answering is answered unavailable', async () => {
    const handled = new Handled();
    const keyPrefix = testPrefix();
    const app = await node(handled, keyPrefix);
    // What a node killed while handling the first leaves: its claim, which it no longer refreshes.
    await rawRedis(REDIS_URL).set(`${keyPrefix}:answer:${CLIENT}:1`, 'p', 'PX', 200);
    const socket = await app.ws(url, { timeout: 3_000 });
    expect(await ask(socket, 'add', { n: 1 }, '1')).toEqual({
      ref: '1',
      error: { code: 'unavailable', message: 'the first of these requests was handled, but its answer is gone' },
    });
    expect(handled.runs.get('add')).toBeUndefined();
  });

  it('an answer is kept for the window, then the request runs again', async () => {
    const handled = new Handled();
    const keyPrefix = testPrefix();
    const app = await node(handled, keyPrefix, 300);
    const socket = await app.ws(url);
    await ask(socket, 'add', { n: 1 }, '1');
    const redis = rawRedis(REDIS_URL);
    const ttl = await redis.pttl(`${keyPrefix}:answer:${CLIENT}:1`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    await eventually(() => redis.exists(`${keyPrefix}:answer:${CLIENT}:1`), (count) => count === 0, 'the answer to expire');
    await ask(socket, 'add', { n: 1 }, '1');
    expect(handled.runs.get('add')).toBe(2);
  });

  it('keeps at most 1 000 answers per client, dropping the oldest', async () => {
    const keyPrefix = testPrefix();
    const adapter: PubSubAdapter = redisPubSub({ url: REDIS_URL, keyPrefix });
    await startTestApp(RequestModule, { providers: [{ provide: Handled, useValue: new Handled() }], pubsub: adapter });
    const store = adapter.answers!();
    for (let ref = 0; ref <= 1_000; ref += 1) await store.settle(CLIENT, String(ref), `{"ref":"${ref}","ok":null}`, 60_000);
    const redis = rawRedis(REDIS_URL);
    expect(await redis.zcard(`${keyPrefix}:answers:${CLIENT}`)).toBe(1_000);
    expect(await redis.exists(`${keyPrefix}:answer:${CLIENT}:0`)).toBe(0);
    expect(await store.claim(CLIENT, '1000', 60_000)).toEqual({ kind: 'answer', answer: '{"ref":"1000","ok":null}' });
  });
});
