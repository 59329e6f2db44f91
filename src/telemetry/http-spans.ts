// The SERVER span of an HTTP request or WebSocket upgrade, named by route as the stable HTTP semantic
// conventions ask: `{method} {http.route}`, e.g. `GET /users/:id`. When
// @opentelemetry/instrumentation-http made the span (it has no idea of routes), Vela names and
// annotates that one; when nothing did, Vela makes it, continuing the trace the request's headers
// carry. Upgrades never reach instrumentation-http (Node emits 'upgrade', not 'request'), so theirs
// is always Vela's: `GET /rooms/:room`, with the status the upgrade got (101, or the refusal's).
//
// `http.route` keeps the router's syntax (`/users/:id`): the conventions ask for the template as the
// framework writes it, and it is what `vela routes` prints. `url.query` is left out, as the request
// log leaves it out: tokens travel in query strings (a browser's WebSocket can send them no other way).
import type { Attributes, Context as TraceContext, Span } from '@opentelemetry/api';
import type { Context } from 'koa';
import { HttpError } from '../http/http-error.js';
import { requestInfo } from '../http/request-info.js';
import { activeContext, extractFrom, otel, recordFailure, runIn, tracingOn, velaTracer, withSpan } from './tracer.js';

/**
 * What instrumentation-http puts in the request's context (@opentelemetry/core's RPC metadata, under
 * a `Symbol.for` key so every copy of core finds it): its span, and the route it reads back when the
 * response ends, for its span's name and the `http.server.request.duration` metric.
 */
const RPC_METADATA = Symbol.for('OpenTelemetry SDK Context Key RPC_METADATA');

interface RpcMetadata {
  type: string;
  span?: Span;
  route?: string;
}

/** The methods the conventions name; any other is `_OTHER`, so a client cannot mint span names. */
const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE', 'QUERY']);

export interface HttpSpan {
  readonly span: Span;
  /** Instrumentation-http's metadata, when the span is its own: it ends the span. */
  readonly rpc?: RpcMetadata;
  /** The context the rest of the request runs in, when Vela made the span. */
  readonly context?: TraceContext;
}

/** The request's server span, or undefined when no SDK is registered (then nothing is traced). */
export function startHttpSpan(ctx: Context): HttpSpan | undefined {
  if (!tracingOn()) return undefined;
  const active = activeContext();
  const rpc = active.getValue(RPC_METADATA) as RpcMetadata | undefined;
  if (rpc?.type === 'http' && rpc.span) return { span: rpc.span, rpc };
  const parent = extractFrom(ctx.req.headers, active);
  const span = velaTracer().startSpan(methodName(ctx.method), { kind: otel().SpanKind.SERVER, attributes: requestAttributes(ctx) }, parent);
  return { span, context: withSpan(parent, span) };
}

/** Runs the rest of the request (`next`) with Vela's span active, so the app's spans are its children. */
export function runTraced(traced: HttpSpan, next: () => Promise<unknown>): Promise<unknown> {
  return traced.context ? runIn(traced.context, next, undefined) : next();
}

/**
 * Names the span by the route that took the request (none for a 404 or a static file: the name stays
 * the method) and sets the response's attributes; a 5xx is an error: `error.type` is the thrown
 * error's class, or the status for an HttpError or a 5xx returned. Vela's own span ends here, when
 * the response is ready to send (as the request log's durationMs); instrumentation-http ends its own
 * once the response is written.
 */
export function endHttpSpan(traced: HttpSpan, ctx: Context, thrown: unknown): void {
  const { span, rpc } = traced;
  const route = requestInfo(ctx).route;
  if (route) {
    // Read back by instrumentation-http when the response ends: its name and metric get the route too.
    if (rpc) rpc.route = route.path;
    span.updateName(`${methodName(ctx.method)} ${route.path}`);
  }
  if (span.isRecording()) {
    const status = ctx.status;
    if (route) span.setAttributes({ 'http.route': route.path, 'code.function.name': `${route.controller.name}.${route.handlerName}` });
    span.setAttribute('http.response.status_code', status);
    if (status >= 500 && thrown !== undefined && !(thrown instanceof HttpError)) recordFailure(span, thrown);
    else if (status >= 500) {
      span.setAttribute('error.type', String(status));
      span.setStatus({ code: otel().SpanStatusCode.ERROR, message: thrown instanceof HttpError ? thrown.message : undefined });
    }
  }
  if (!rpc) span.end();
}

/** `GET`, or `HTTP` for a method the conventions do not name. */
function methodName(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'HTTP';
}

/** What a sampler may look at when the span starts (the stable HTTP server conventions). */
function requestAttributes(ctx: Context): Attributes {
  const { req } = ctx;
  const known = KNOWN_METHODS.has(ctx.method);
  const attributes: Attributes = {
    'http.request.method': known ? ctx.method : '_OTHER',
    'url.path': ctx.path,
    'url.scheme': ctx.protocol,
    'server.address': ctx.hostname,
    'network.protocol.version': req.httpVersion,
    'client.address': ctx.ip,
  };
  // Gone when the client has already left.
  if (req.socket.localPort !== undefined) attributes['server.port'] = req.socket.localPort;
  if (!known) attributes['http.request.method_original'] = ctx.method;
  const agent = req.headers['user-agent'];
  if (agent !== undefined) attributes['user_agent.original'] = agent;
  return attributes;
}
