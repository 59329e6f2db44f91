// With @opentelemetry/instrumentation-http, the request's SERVER span is the instrumentation's: Vela
// makes no second one, and gives that one its route (name, `http.route`, which the instrumentation's
// own duration metric reads too) and the error a 500 page hides from it.
import { createRequire } from 'node:module';
import { SpanStatusCode } from '@opentelemetry/api';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp } from 'vela/testing';
import { TracedModule } from './tracing-fixture.js';
import { parentOf, SpanKind, useTracing } from './support.js';

const tracing = useTracing();
const instrumentation = new HttpInstrumentation({ enabled: false });

beforeAll(() => {
  instrumentation.enable();
  // The instrumentation patches `http` as it is required (require-in-the-middle); Vela's ESM import
  // of node:http shares the patched Server.prototype.
  createRequire(import.meta.url)('http');
});

afterAll(() => instrumentation.disable());

const isServer = (span: { kind: SpanKind }) => span.kind === SpanKind.SERVER;

describe('with @opentelemetry/instrumentation-http', () => {
  it("renames the instrumentation's span by route and sets http.route: one SERVER span, not two", async () => {
    const app = await startTestApp(TracedModule);
    const res = await app.http.get('/api/notes/7');
    expect(await res.json()).toMatchObject({ active: true });
    const [span] = await tracing.exporter.waitFor((s) => isServer(s) && s.name === 'GET /api/notes/:id');
    expect(span!.instrumentationScope.name).toBe('@opentelemetry/instrumentation-http');
    expect(span!.attributes).toMatchObject({ 'http.route': '/api/notes/:id', 'http.response.status_code': 200 });
    expect(tracing.spans().filter(isServer)).toHaveLength(1);
    const child = await tracing.span('load note');
    expect(parentOf(child)).toBe(span!.spanContext().spanId);
  });

  it('records the error behind a 500 page on it', async () => {
    const app = await startTestApp(TracedModule);
    expect((await app.http.get('/api/boom')).status).toBe(500);
    const [span] = await tracing.exporter.waitFor((s) => isServer(s) && s.name === 'GET /api/boom');
    expect(span!.attributes['error.type']).toBe('TypeError');
    expect(span!.status.code).toBe(SpanStatusCode.ERROR);
    expect(span!.events.map((event) => event.attributes?.['exception.message'])).toContain('the note store is gone');
  });
});
