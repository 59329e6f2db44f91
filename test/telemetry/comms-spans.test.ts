// Comms traced as broadcasts are: a send to a session (or to everyone) is a PRODUCER span, child of
// the request that sent it, and each node with sockets to reach makes one CONSUMER `deliver` span,
// child of the send and linked to it, through the envelope's `tc` (a shared MemoryBus, and Redis's
// wire envelope). And `conn.request` is a CLIENT span with its outcome. The real SDK, in memory.
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import {
  MemoryBus,
  Module,
  OnMessage,
  WebSocket,
  WsError,
  json,
  memoryPubSub,
  memorySessionStore,
  redisPubSub,
  redisSessionStore,
  reply,
  type Connection,
  type PubSubAdapter,
  type SessionStore,
} from 'vela';
import { startTestApp, type TestApp, type TestSocket } from 'vela/testing';
import { NotificationsGateway } from '../fixtures/gateways.js';
import { NotifyController } from '../fixtures/notify-controller.js';
import { plainFetch } from '../support/plain-fetch.js';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { testPrefix } from '../redis/support.js';
import { linkedIds, parentOf, SpanKind, traceparent, useTracing } from './support.js';

const tracing = useTracing();
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

/** Asks its client `confirm` and replies with how that went. */
@WebSocket('/asks')
class AskingGateway {
  @OnMessage('ask')
  async ask(data: { timeout?: number }, conn: Connection) {
    try {
      return reply(json({ ok: await conn.request('confirm', data, { timeout: data.timeout }) }));
    } catch (error) {
      return reply(json({ code: (error as WsError).code }));
    }
  }
}

@Module({ controllers: [NotifyController], gateways: [NotificationsGateway, AskingGateway] })
class CommsModule {}

type Nodes = [TestApp, TestApp];
const stores: SessionStore[] = [];

async function memoryNodes(): Promise<Nodes> {
  const bus = new MemoryBus();
  const store = memorySessionStore();
  const node = () => startTestApp(CommsModule, { pubsub: memoryPubSub({ bus }), sessions: { store } });
  return Promise.all([node(), node()]);
}

async function redisNodes(): Promise<Nodes> {
  const keyPrefix = testPrefix();
  const node = (): Promise<TestApp> => {
    const store = redisSessionStore({ url: REDIS_URL, keyPrefix: `${keyPrefix}:session:` });
    stores.push(store);
    const pubsub: PubSubAdapter = redisPubSub({ url: REDIS_URL, keyPrefix });
    return startTestApp(CommsModule, { pubsub, sessions: { store } });
  };
  return Promise.all([node(), node()]);
}

/** A browser whose cookie comes from `home`, with a socket on each of `nodes`. */
async function tabs(home: TestApp, nodes: readonly TestApp[]): Promise<{ session: string; sockets: TestSocket[] }> {
  const res = await plainFetch(home, '/api/me');
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const { session } = (await res.json()) as { session: string };
  const sockets: TestSocket[] = [];
  for (const node of nodes) {
    const socket = await node.ws('/notifications', { headers: { cookie } });
    expect(await socket.recv()).toBe(`session ${session}`);
    sockets.push(socket);
  }
  return { session, sockets };
}

const byName = (name: string) => (span: ReadableSpan) => span.name === name;

/** The send span's shape, and that of every deliver span: in the request's trace, children of the send and linked to it. */
async function expectTraced(send: string, deliver: string, delivers: number, comms: string): Promise<{ sent: ReadableSpan; delivered: ReadableSpan[] }> {
  const sent = (await tracing.exporter.waitFor(byName(send)))[0]!;
  const delivered = await tracing.exporter.waitFor(byName(deliver), delivers);
  expect(sent.kind).toBe(SpanKind.PRODUCER);
  expect(sent.spanContext().traceId).toBe(TRACE_ID);
  expect(parentOf(sent)).not.toBeUndefined();
  expect(sent.attributes).toMatchObject({ 'messaging.system': 'vela', 'messaging.operation.type': 'send' });
  for (const span of delivered) {
    expect(span.kind).toBe(SpanKind.CONSUMER);
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(parentOf(span)).toBe(sent.spanContext().spanId);
    expect(linkedIds(span)).toEqual([sent.spanContext().spanId]);
    expect(span.attributes).toMatchObject({ 'messaging.operation.type': 'process', 'messaging.operation.name': 'deliver', 'vela.comms': comms, 'vela.sockets': 1 });
  }
  return { sent, delivered };
}

/** The session id is the cookie's secret: no Comms span holds it (this test's own URL does, which an app should not copy). */
function expectNoSession(session: string, spans: readonly ReadableSpan[]): void {
  for (const span of spans) expect(JSON.stringify(span.attributes)).not.toContain(session);
}

const post = (app: TestApp, path: string) => app.http.post(path, undefined, { headers: { traceparent: traceparent(TRACE_ID, PARENT_ID) } });

describe.each([
  ['a shared MemoryBus', memoryNodes, undefined],
  ['Redis', redisNodes, redisMissing],
] as const)('Comms spans across nodes, over %s', (_, twoNodes, missing) => {
  it.skipIf(missing)("traces a send to a session: `send session`, the request's child, and `deliver session` on each node with its sockets", async () => {
    const [a, b] = await twoNodes();
    try {
      const ada = await tabs(a, [a, b]);
      const res = await post(a, `/api/notify/${ada.session}`);
      expect(await res.json()).toEqual({ reached: 1 });
      for (const socket of ada.sockets) expect(await socket.recv()).toBe('you have mail');
      const request = await tracing.span('POST /api/notify/:session');
      const { sent, delivered } = await expectTraced('send session', 'deliver session', 2, 'send');
      expect(parentOf(sent)).toBe(request.spanContext().spanId);
      expect(sent.attributes['messaging.destination.template']).toBe('session');
      expect(new Set(delivered.map((span) => span.attributes['vela.node.id'])).size).toBe(2);
      expectNoSession(ada.session, [sent, ...delivered]);
    } finally {
      await Promise.all([a.close(), b.close(), ...stores.splice(0).map((store) => store.close?.())]);
    }
  });

  it.skipIf(missing)('traces an info to a session and a send to everyone, and makes no deliver span where no socket is reached', async () => {
    const [a, b] = await twoNodes();
    try {
      // Only on B: A hears the message too, and has nobody to deliver it to.
      const ada = await tabs(a, [b]);
      await post(a, `/api/mention/${ada.session}`);
      expect(await ada.sockets[0]!.recv()).toBe('mentioned by ada');
      const info = await expectTraced('info session', 'deliver session', 1, 'info');
      expect(info.delivered[0]!.attributes['vela.node.id']).not.toBe(info.sent.attributes['vela.node.id']);

      tracing.exporter.reset();
      await post(a, '/api/announce');
      expect(await ada.sockets[0]!.recvJson()).toEqual({ announcement: 'deploy at 5' });
      const all = await expectTraced('send all', 'deliver all', 1, 'send');
      expect(all.sent.attributes['messaging.destination.template']).toBe('all');
      expect(tracing.spans().filter(byName('deliver all'))).toHaveLength(1);
    } finally {
      await Promise.all([a.close(), b.close(), ...stores.splice(0).map((store) => store.close?.())]);
    }
  });
});

describe('conn.request spans', () => {
  it('makes a CLIENT span `request {event}` that ends when the client answers', async () => {
    const app = await startTestApp(CommsModule);
    try {
      const socket = await app.ws('/asks');
      socket.sendJson({ event: 'ask', data: { n: 1 } });
      const asked = await socket.recvJson<{ event: string; ref: string }>();
      expect(asked).toMatchObject({ event: 'confirm', data: { n: 1 } });
      socket.sendJson({ ref: asked.ref, ok: 'yes' });
      expect(await socket.recvJson()).toEqual({ ok: 'yes' });

      const span = await tracing.span('request confirm');
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.attributes).toMatchObject({ 'vela.event': 'confirm', 'vela.request.ref': asked.ref });
      expect(span.status.code).toBe(0); // UNSET
      // Inside the handler's `process ask` span.
      expect(parentOf(span)).toBe((await tracing.span('process ask')).spanContext().spanId);
    } finally {
      await app.close();
    }
  });

  it("records the outcome of a request that failed: the client's error code, or a timeout", async () => {
    const app = await startTestApp(CommsModule);
    try {
      const socket = await app.ws('/asks');
      socket.sendJson({ event: 'ask', data: {} });
      const asked = await socket.recvJson<{ ref: string }>();
      socket.sendJson({ ref: asked.ref, error: { code: 'forbidden', message: 'not now' } });
      expect(await socket.recvJson()).toEqual({ code: 'forbidden' });
      const refused = await tracing.span('request confirm');
      expect(refused.status).toMatchObject({ code: 2, message: 'not now' }); // ERROR
      expect(refused.attributes).toMatchObject({ 'vela.error.code': 'forbidden', 'error.type': 'forbidden' });

      tracing.exporter.reset();
      socket.sendJson({ event: 'ask', data: { timeout: 1 } });
      await socket.recvJson(); // the request, left unanswered
      expect(await socket.recvJson()).toEqual({ code: 'timeout' });
      const late = await tracing.span('request confirm');
      expect(late.attributes['vela.error.code']).toBe('timeout');
    } finally {
      await app.close();
    }
  });
});
