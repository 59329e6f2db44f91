// Without an OpenTelemetry SDK, Vela traces nothing and pays for nothing: no span is active in a
// controller or a handler (even for a client that sends a traceparent), and the bus envelope carries
// no trace context. An SDK registered once the app runs is picked up by the next request.
//
// The context manager and W3C propagator are registered, as another library of the app might: with
// them, a span Vela started through the API's no-op tracer would still carry the client's trace,
// become active and reach the envelope. Only the tracer provider is missing.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { redisPubSub } from 'vela';
import { startTestApp } from 'vela/testing';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { rawRedis, testPrefix } from '../redis/support.js';
import { TracedModule } from './tracing-fixture.js';
import { traceparent } from './support.js';

const PARENT = traceparent('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7');

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});

afterAll(() => {
  propagation.disable();
  context.disable();
});

describe('with no OpenTelemetry SDK registered', () => {
  it('runs requests and frames with no span active, whatever the client sends', async () => {
    const app = await startTestApp(TracedModule);
    const res = await app.http.get('/api/notes/1', { headers: { traceparent: PARENT } });
    expect(await res.json()).toMatchObject({ active: false });
    const socket = await app.ws('/rooms/lobby');
    socket.sendJson({ event: 'say', data: 'hi', traceparent: PARENT });
    expect(await socket.recvJson()).toMatchObject({ said: 'hi', active: false });
  });

  it.skipIf(redisMissing)('puts no trace context in the bus envelope', async () => {
    const keyPrefix = testPrefix();
    const watcher = rawRedis(REDIS_URL);
    await watcher.psubscribe(`${keyPrefix}:bus*`); // the bus and its shards (interest routing)
    const wire = new Promise<string>((resolve) => watcher.on('pmessage', (_pattern: string, _channel: string, raw: string) => resolve(raw)));
    const app = await startTestApp(TracedModule, { pubsub: redisPubSub({ url: REDIS_URL, keyPrefix }) });
    const res = await app.http.post('/api/rooms/1/notes', { text: 'hi' }, { headers: { traceparent: PARENT } });
    expect(res.status).toBe(201);
    const envelope = (JSON.parse(await wire) as { e: Record<string, unknown> }).e;
    expect(envelope.type).toBe('message');
    expect(Object.keys(envelope)).toEqual(['type', 'message']);
  });

  it('traces from the next request on once an SDK is registered after the app started', async () => {
    const app = await startTestApp(TracedModule);
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    trace.setGlobalTracerProvider(provider);
    onTestFinished(async () => {
      trace.disable();
      await provider.shutdown();
    });
    const res = await app.http.get('/api/notes/1', { headers: { traceparent: PARENT } });
    expect(await res.json()).toMatchObject({ active: true });
    expect(exporter.getFinishedSpans().map((span) => span.name)).toContain('GET /api/notes/:id');
  });
});
