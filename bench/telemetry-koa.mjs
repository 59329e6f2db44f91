// The Koa peer's telemetry in bench/telemetry.mjs (`koa-sdk`, bench/http-server.mjs koa-otel): one
// middleware, first in the chain, doing per request what @opentelemetry/instrumentation-http does for
// a server no framework instrumentation knows: continue the trace the headers carry, start a SERVER
// span with the request's attributes, run the rest of the request with that span's context entered
// (AsyncLocalStorage under the bench's SDK: the cost the raw-Koa pair is there to show), end the
// span, and record `http.server.request.duration`. Its span starts with the attributes
// instrumentation-http's stable conventions give one, read off Node's request as it reads them; it is
// then named by route and given the status, as Vela names and annotates its own
// (src/telemetry/http-spans.ts); the histogram has the same buckets as Vela's and instrumentation-http's.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

/** semconv's advice for http.server.request.duration, in seconds (instrumentation-http's and Vela's). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * The middleware, built on @opentelemetry/api as Vela's dev dependencies resolve it (require, from
 * the repository root): the very module bench/telemetry-variant.mjs registers the SDK with. Without an
 * SDK it runs on the API's no-op tracer and meter.
 */
export function tracingMiddleware() {
  const { SpanKind, context, metrics, propagation, trace } = createRequire(new URL('../package.json', import.meta.url))('@opentelemetry/api');
  const tracer = trace.getTracer('vela-bench-koa');
  const duration = metrics.getMeter('vela-bench-koa').createHistogram('http.server.request.duration', {
    description: 'Duration of HTTP server requests',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  return async (ctx, next) => {
    const started = performance.now();
    const parent = propagation.extract(context.active(), ctx.req.headers);
    const span = tracer.startSpan(ctx.method, { kind: SpanKind.SERVER, attributes: requestAttributes(ctx.req) }, parent);
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      // @koa/router leaves the template of the route that took the request here (none on a 404).
      const route = ctx._matchedRoute;
      if (route) span.updateName(`${ctx.method} ${route}`);
      if (span.isRecording()) {
        if (route) span.setAttribute('http.route', route);
        span.setAttribute('http.response.status_code', ctx.status);
      }
      span.end();
      // Built per request, as instrumentation-http builds its own.
      const attributes = { 'http.request.method': ctx.method, 'url.scheme': 'http', 'http.response.status_code': ctx.status };
      if (route) attributes['http.route'] = route;
      duration.record((performance.now() - started) / 1_000, attributes);
    }
  };
}

/**
 * The attributes instrumentation-http starts a server span with (its stable-conventions set), from
 * the node:http request as it reads them: the Host header split, the socket's peer, the path without
 * its query. An attribute left undefined is dropped by the SDK, as there.
 */
function requestAttributes(req) {
  const q = req.url.indexOf('?');
  const host = req.headers.host ?? '';
  const colon = host.lastIndexOf(':');
  return {
    'http.request.method': req.method,
    'url.scheme': 'http',
    'url.path': q === -1 ? req.url : req.url.slice(0, q),
    'server.address': colon === -1 ? host : host.slice(0, colon),
    'server.port': colon === -1 ? 80 : Number(host.slice(colon + 1)),
    'client.address': req.socket.remoteAddress,
    'network.peer.address': req.socket.remoteAddress,
    'network.peer.port': req.socket.remotePort,
    'network.protocol.version': req.httpVersion,
    'user_agent.original': req.headers['user-agent'],
  };
}
