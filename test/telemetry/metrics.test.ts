// Vela's metrics, read with the real OpenTelemetry SDK after known traffic: HTTP requests, sockets
// opened and closed, messages, broadcasts on channel patterns, presence and history, and the three
// ways the server cuts a socket. Each app reports to a MeterProvider of the test's own
// (bootstrap({ metrics: { meterProvider } })), so tests share no global state.
import type { Socket } from 'node:net';
import { metrics } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { Module, OnMessage, WebSocket, type Connection } from 'vela';
import { startTestApp } from 'vela/testing';
import { Tracker } from '../pubsub/support.js';
import { AppModule } from './metrics-fixture.js';
import { testMeter } from './metrics-support.js';

/** semconv's bucket boundaries for http.server.request.duration. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

async function start() {
  const meter = testMeter();
  const app = await startTestApp(AppModule, { metrics: { meterProvider: meter.meterProvider } });
  return { app, meter };
}

describe('http.server.request.duration', () => {
  it('records each request under its route template, method, status and scheme, with the standard buckets', async () => {
    const { app, meter } = await start();
    await app.http.get('/api/users/1');
    await app.http.get('/api/users/2');
    expect((await app.http.get('/nowhere')).status).toBe(404);
    expect((await app.http.get('/api/fail')).status).toBe(500);

    const collected = await meter.read();
    expect(collected.metric('http.server.request.duration').descriptor.unit).toBe('s');
    const ok = { 'http.request.method': 'GET', 'http.route': '/api/users/:id', 'http.response.status_code': 200, 'url.scheme': 'http' };
    expect(collected.histogram('http.server.request.duration', ok)).toMatchObject({ count: 2, boundaries: HTTP_BUCKETS });
    // No route matched: no http.route at all, rather than the path the client made up.
    const [missing, ...more] = collected.points('http.server.request.duration', { 'http.response.status_code': 404 });
    expect(more).toEqual([]);
    expect(missing!.attributes).toEqual({ 'http.request.method': 'GET', 'http.response.status_code': 404, 'url.scheme': 'http' });
    expect(collected.histogram('http.server.request.duration', { 'http.route': '/api/fail', 'http.response.status_code': 500, 'error.type': '500' }).count).toBe(1);
    expect(new Set(collected.attributeValues('http.server.request.duration', 'http.route'))).toEqual(new Set([undefined, '/api/fail', '/api/users/:id']));
  });

  it('records a WebSocket upgrade under the gateway path: 101 when accepted', async () => {
    const { app, meter } = await start();
    await app.ws('/rooms/a');
    const refused = await app.wsRefusal('/rooms/a', { headers: { origin: 'https://elsewhere.example' } });
    expect(refused.status).toBe(403);

    const collected = await meter.read();
    expect(collected.histogram('http.server.request.duration', { 'http.route': '/rooms/:room', 'http.response.status_code': 101 }).count).toBe(1);
    expect(collected.histogram('http.server.request.duration', { 'http.route': '/rooms/:room', 'http.response.status_code': 403 }).count).toBe(1);
  });
});

describe('WebSocket metrics', () => {
  it('counts open sockets, frames in and out per gateway path template, and records session durations', async () => {
    const { app, meter } = await start();
    const tracker = app.get(Tracker);
    const gateway = { 'vela.gateway': '/rooms/:room' };
    const a = await app.ws('/rooms/a');
    const b = await app.ws('/rooms/b');
    expect([await a.recv(), await b.recv()]).toEqual(['joined', 'joined']);
    a.sendText('one');
    a.sendText('two');
    b.sendText('three');
    expect([await a.recv(), await a.recv(), await b.recv()]).toEqual(['one', 'two', 'three']);

    let collected = await meter.read();
    expect(collected.value('vela.websocket.connections', gateway)).toBe(2);
    expect(collected.value('vela.websocket.messages.received', gateway)).toBe(3);
    expect(collected.value('vela.websocket.messages.sent', gateway)).toBe(5); // 2 greetings, 3 echoes
    expect(collected.attributeValues('vela.websocket.connections', 'vela.gateway')).toEqual(['/rooms/:room']);
    expect(collected.histogram('vela.websocket.session.duration', gateway).count).toBe(0);

    await a.close();
    await tracker.until(1);
    collected = await meter.read();
    expect(collected.value('vela.websocket.connections', gateway)).toBe(1);
    expect(collected.metric('vela.websocket.session.duration').descriptor.unit).toBe('s');
    const session = collected.histogram('vela.websocket.session.duration', gateway);
    expect(session.count).toBe(1);
    expect(session.sum).toBeGreaterThan(0);
  });

  it('counts the sockets the server cut, by cause: slow consumer, rate limit, missed heartbeat', async () => {
    const frame = Buffer.alloc(64 * 1024, 1);
    @WebSocket('/flood', { maxBufferedBytes: 64 * 1024 })
    class FloodGateway {
      @OnMessage()
      flood(_text: string, conn: Connection) {
        // Bounded, in case the limit were never applied: 4096 × 64 KiB is far beyond any socket buffer.
        for (let frames = 0; conn.open && frames < 4096; frames += 1) conn.send(frame);
      }
    }
    @WebSocket('/limited', { rateLimit: { messages: 2, per: 60_000 } })
    class LimitedGateway {
      @OnMessage()
      ignore() {}
    }
    @WebSocket('/live', { heartbeat: 50 })
    class LiveGateway {}
    @Module({ gateways: [FloodGateway, LimitedGateway, LiveGateway] })
    class CutsModule {}
    const meter = testMeter();
    const app = await startTestApp(CutsModule, { metrics: { meterProvider: meter.meterProvider } });

    const flooded = await app.ws('/flood');
    const socket = (flooded.raw as unknown as { _socket: Socket })._socket;
    socket.pause();
    flooded.sendText('flood');
    const limited = await app.ws('/limited');
    for (let i = 0; i < 3; i += 1) limited.sendText('hi');
    const silent = await app.ws('/live', { autoPong: false });
    expect(await limited.closed).toMatchObject({ code: 1008 });
    expect(await silent.closed).toEqual({ code: 1006, reason: '' });
    socket.resume();
    expect(await flooded.closed).toEqual({ code: 1008, reason: 'slow consumer' });

    const collected = await meter.read();
    const cuts = (gateway: string, cause: string) => collected.value('vela.websocket.closes', { 'vela.gateway': gateway, 'vela.close.cause': cause });
    expect([cuts('/flood', 'slow_consumer'), cuts('/limited', 'rate_limit'), cuts('/live', 'heartbeat')]).toEqual([1, 1, 1]);
    expect(collected.points('vela.websocket.closes')).toHaveLength(3);
  });
});

describe('pub/sub metrics', () => {
  it("counts broadcasts and deliveries under the channel's @Module({ channels }) pattern, else 'other', never its name", async () => {
    const { app, meter } = await start();
    const sockets = await Promise.all([app.ws('/rooms/a'), app.ws('/rooms/a'), app.ws('/rooms/b')]);
    for (const socket of sockets) expect(await socket.recv()).toBe('joined');

    expect((await app.http.post('/api/say/room:a', { text: 'hello a' })).status).toBe(204);
    expect((await app.http.post('/api/say/room:b', { text: 'hello b' })).status).toBe(204);
    expect((await app.http.post('/api/say/lobby', { text: 'nobody' })).status).toBe(204);
    expect(await sockets[0]!.recvJson()).toEqual({ text: 'hello a' });
    expect(await sockets[1]!.recvJson()).toEqual({ text: 'hello a' });
    expect(await sockets[2]!.recvJson()).toEqual({ text: 'hello b' });

    const collected = await meter.read();
    const room = { 'vela.channel.pattern': 'room:*' };
    const other = { 'vela.channel.pattern': 'other' };
    expect([collected.value('vela.pubsub.broadcasts', room), collected.value('vela.pubsub.deliveries', room)]).toEqual([2, 3]);
    expect([collected.value('vela.pubsub.broadcasts', other), collected.value('vela.pubsub.deliveries', other)]).toEqual([1, 0]);
    expect(collected.attributeValues('vela.pubsub.broadcasts', 'vela.channel.pattern').sort()).toEqual(['other', 'room:*']);
    // One fan-out per broadcast that reached someone; 'lobby' reached no one.
    const lag = collected.histogram('vela.pubsub.fanout.lag', room);
    expect(lag.count).toBe(2);
    expect(lag.sum).toBeGreaterThan(0);
    expect(collected.histogram('vela.pubsub.fanout.lag', other).count).toBe(0);
  });

  it('reports the presence keys tracked per pattern and the messages history channels hold', async () => {
    const { app, meter } = await start();
    // ada twice in room:a (two tabs: one key), bob in room:b.
    for (const path of ['/rooms/a?name=ada', '/rooms/a?name=ada', '/rooms/b?name=bob']) expect(await (await app.ws(path)).recv()).toBe('joined');
    for (let i = 0; i < 3; i += 1) expect((await app.http.post('/api/say/news', { i })).status).toBe(204);

    const collected = await meter.read();
    expect(collected.value('vela.presence.keys', { 'vela.channel.pattern': 'room:*' })).toBe(2);
    // news keeps its last 2.
    expect(collected.value('vela.history.messages', { 'vela.channel.pattern': 'news' })).toBe(2);
  });
});

describe('the global MeterProvider', () => {
  afterEach(() => metrics.disable());

  it('is where Vela reports without a metrics option, and a closed app no longer reports', async () => {
    const meter = testMeter({ delta: true });
    metrics.setGlobalMeterProvider(meter.meterProvider);
    const app = await startTestApp(AppModule);
    await app.ws('/rooms/a');
    await app.http.get('/api/users/1');
    let collected = await meter.read();
    expect(collected.value('vela.websocket.connections', { 'vela.gateway': '/rooms/:room' })).toBe(1);
    expect(collected.histogram('http.server.request.duration', { 'http.route': '/api/users/:id' }).count).toBe(1);

    await app.close();
    collected = await meter.read();
    // Its callbacks are gone: nothing observed (they would have reported the socket's close, -1).
    expect(collected.points('vela.websocket.connections')).toEqual([]);
  });
});
