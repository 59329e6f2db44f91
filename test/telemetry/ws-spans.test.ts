// WebSocket spans: one SERVER span per upgrade (accepted or refused, with its status), and one
// CONSUMER span `process {event}` per frame a handler takes, the handler running inside it, errors
// recorded, a WsError answer kept apart from a failure, and a request's traceparent continued.
import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { startTestApp } from 'vela/testing';
import { TracedModule } from './tracing-fixture.js';
import { parentOf, SpanKind, traceparent, useTracing } from './support.js';

const tracing = useTracing();
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';

describe('WebSocket upgrade spans', () => {
  it('names an accepted upgrade by its gateway path template, status 101', async () => {
    const app = await startTestApp(TracedModule);
    await app.ws('/rooms/lobby');
    const span = await tracing.span('GET /rooms/:room');
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/rooms/:room',
      'http.response.status_code': 101,
      'url.path': '/rooms/lobby',
      'code.function.name': 'RoomGateway.upgrade',
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('records a refused upgrade with the status it got: 401 by security, 404 with no gateway', async () => {
    const app = await startTestApp(TracedModule);
    expect((await app.wsRefusal('/private')).status).toBe(401);
    const refused = await tracing.span('GET /private');
    expect(refused.attributes['http.response.status_code']).toBe(401);
    expect(refused.status.code).toBe(SpanStatusCode.UNSET);

    expect((await app.wsRefusal('/nowhere')).status).toBe(404);
    const unknown = await tracing.span('GET');
    expect(unknown.attributes['http.response.status_code']).toBe(404);
    expect(unknown.attributes['http.route']).toBeUndefined();
  });
});

describe('WebSocket frame spans', () => {
  it('gives each event a CONSUMER span `process {event}` with the handler and connection, the app\'s spans its children', async () => {
    const app = await startTestApp(TracedModule);
    const socket = await app.ws('/rooms/lobby');
    socket.sendEvent('say', 'hello');
    const answer = await socket.recvJson<{ said: string; active: boolean; child: string }>();
    expect(answer).toMatchObject({ said: 'hello', active: true });
    const span = await tracing.span('process say');
    expect(span.kind).toBe(SpanKind.CONSUMER);
    expect(span.attributes).toMatchObject({
      'messaging.system': 'vela',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': '/rooms/lobby',
      'messaging.destination.template': '/rooms/:room',
      'code.function.name': 'RoomGateway.say',
      'vela.event': 'say',
    });
    expect(span.attributes['vela.connection.id']).toEqual(expect.any(String));
    // A frame starts a trace of its own: not a child of the upgrade, which ended long before.
    expect(parentOf(span)).toBeUndefined();
    const child = await tracing.span('store message');
    expect(child.spanContext().spanId).toBe(answer.child);
    expect(parentOf(child)).toBe(span.spanContext().spanId);
  });

  it('records a handler that throws: the exception, error.type, status ERROR (the socket closes with 1011)', async () => {
    const app = await startTestApp(TracedModule);
    const socket = await app.ws('/rooms/lobby');
    socket.sendEvent('fail');
    expect((await socket.closed).code).toBe(1011);
    const span = await tracing.span('process fail');
    expect(span.attributes['error.type']).toBe('RangeError');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'the handler broke' });
    expect(span.events.map((event) => event.name)).toEqual(['exception']);
  });

  it("continues a request's traceparent, given beside its ref, and ends once it is answered", async () => {
    const app = await startTestApp(TracedModule);
    const socket = await app.ws('/rooms/lobby');
    socket.sendJson({ event: 'ask', data: 'why', ref: '1', traceparent: traceparent(TRACE_ID, PARENT_ID) });
    const answer = await socket.recvJson<{ ref: string; ok: { echoed: string; child: string } }>();
    expect(answer.ok.echoed).toBe('why');
    const span = await tracing.span('process ask');
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(parentOf(span)).toBe(PARENT_ID);
    expect(span.attributes['vela.request.ref']).toBe('1');
    // The handler awaited before making its span: the context held across the await.
    const child = await tracing.span('answer');
    expect(parentOf(child)).toBe(span.spanContext().spanId);
  });

  it('keeps a WsError answer apart from a failure: its code, and no ERROR status', async () => {
    const app = await startTestApp(TracedModule);
    const socket = await app.ws('/rooms/lobby');
    socket.sendJson({ event: 'ask', data: null, ref: '2' });
    expect(await socket.recvJson()).toEqual({ ref: '2', error: { code: 'invalid', message: 'data is required' } });
    const span = await tracing.span('process ask');
    expect(span.attributes['vela.error.code']).toBe('invalid');
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('names a request for an event no handler declares by the gateway path: clients cannot mint span names', async () => {
    const app = await startTestApp(TracedModule);
    const socket = await app.ws('/rooms/lobby');
    socket.sendJson({ event: 'made-up-1234', data: null, ref: '3' });
    expect(await socket.recvJson()).toMatchObject({ ref: '3', error: { code: 'not_found' } });
    const span = await tracing.span('process /rooms/:room');
    expect(span.attributes['vela.event']).toBeUndefined();
    expect(span.attributes['vela.error.code']).toBe('not_found');
  });

  it('ignores a traceparent that is not a string, as a malformed header would be', async () => {
    const app = await startTestApp(TracedModule);
    const socket = await app.ws('/rooms/lobby');
    socket.sendJson({ event: 'ask', data: 'x', ref: '4', traceparent: { evil: true }, tracestate: 42 });
    expect(await socket.recvJson()).toMatchObject({ ref: '4', ok: { echoed: 'x' } });
    const span = await tracing.span('process ask');
    expect(parentOf(span)).toBeUndefined();
  });
});
