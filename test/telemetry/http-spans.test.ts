// With an SDK and no HTTP instrumentation, Vela makes each request's SERVER span itself: named by
// route, with the stable HTTP attributes, continuing the trace the client's traceparent names, the
// app's own spans its children, 5xx recorded as errors and 4xx not.
import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { startTestApp } from 'vela/testing';
import { TracedModule } from './tracing-fixture.js';
import { parentOf, SpanKind, traceparent, useTracing } from './support.js';

const tracing = useTracing();
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

describe('HTTP server spans made by Vela', () => {
  it('names the span by method and route, with the stable HTTP attributes', async () => {
    const app = await startTestApp(TracedModule);
    const res = await app.http.get('/api/notes/7?token=secret', { headers: { 'user-agent': 'notes-test/1' } });
    expect(res.status).toBe(200);
    const span = await tracing.span('GET /api/notes/:id');
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.instrumentationScope.name).toBe('vela');
    expect(span.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/api/notes/:id',
      'http.response.status_code': 200,
      'url.path': '/api/notes/7',
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'server.port': app.port,
      'network.protocol.version': '1.1',
      'user_agent.original': 'notes-test/1',
      'code.function.name': 'NotesController.show',
    });
    // Tokens travel in query strings: the query stays out, as it does out of the request log.
    expect(span.attributes['url.query']).toBeUndefined();
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(parentOf(span)).toBeUndefined();
  });

  it("continues the client's trace, and the app's spans are children of the request's", async () => {
    const app = await startTestApp(TracedModule);
    const res = await app.http.get('/api/notes/7', { headers: { traceparent: traceparent(TRACE_ID, PARENT_ID) } });
    const body = (await res.json()) as { active: boolean; child: string };
    expect(body.active).toBe(true);
    const span = await tracing.span('GET /api/notes/:id');
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(parentOf(span)).toBe(PARENT_ID);
    const child = await tracing.span('load note');
    expect(child.spanContext().spanId).toBe(body.child);
    expect(parentOf(child)).toBe(span.spanContext().spanId);
  });

  it('records a thrown error on a 500: the exception, error.type its class, status ERROR', async () => {
    const app = await startTestApp(TracedModule);
    expect((await app.http.get('/api/boom')).status).toBe(500);
    const span = await tracing.span('GET /api/boom');
    expect(span.attributes['http.response.status_code']).toBe(500);
    expect(span.attributes['error.type']).toBe('TypeError');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'the note store is gone' });
    expect(span.events.map((event) => [event.name, event.attributes?.['exception.message']])).toEqual([['exception', 'the note store is gone']]);
  });

  it('marks a 5xx the controller returned as an error, by its status', async () => {
    const app = await startTestApp(TracedModule);
    expect((await app.http.get('/api/unavailable')).status).toBe(503);
    const span = await tracing.span('GET /api/unavailable');
    expect(span.attributes['error.type']).toBe('503');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('leaves a 4xx unmarked: the client erred, not the server', async () => {
    const app = await startTestApp(TracedModule);
    expect((await app.http.get('/api/forbidden')).status).toBe(403);
    const span = await tracing.span('GET /api/forbidden');
    expect(span.attributes['http.response.status_code']).toBe(403);
    expect(span.attributes['error.type']).toBeUndefined();
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.events).toEqual([]);
  });

  it('names a request no route took by its method alone, and an unknown method HTTP', async () => {
    const app = await startTestApp(TracedModule);
    expect((await app.http.get('/nowhere/42')).status).toBe(404);
    const span = await tracing.span('GET');
    expect(span.attributes['http.route']).toBeUndefined();
    expect(span.attributes['http.response.status_code']).toBe(404);

    expect((await app.http.fetch('/api/notes/1', { method: 'PURGE' })).status).toBeGreaterThanOrEqual(400);
    const other = await tracing.span('HTTP');
    expect(other.attributes).toMatchObject({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PURGE' });
  });
});
