// What every span Vela makes shares: whether an OpenTelemetry SDK is there at all, the API itself
// (loaded the first time one is), Vela's tracer, how a failure is recorded, and the trace context as
// a carrier of strings (an HTTP header set, a request frame, the bus envelope's `tc`). Vela depends on
// @opentelemetry/api only; until the app registers a tracer provider, tracingOn() is false and the
// hot paths skip everything else: no name, attribute, context or span is built, and the API is not
// even loaded (it costs a cold start about half what Koa does).
import { createRequire } from 'node:module';
import type * as OpenTelemetry from '@opentelemetry/api';
import type { Context, Span, TextMapGetter, Tracer } from '@opentelemetry/api';
import type { TraceCarrier } from '../pubsub/message.js';

/** The instrumentation scope of every span Vela makes. */
export const TRACER_NAME = 'vela';

/**
 * Where @opentelemetry/api 1.x keeps what an app registers, shared by every copy of the API in the
 * process: `trace` is there from `trace.setGlobalTracerProvider()` (which every SDK calls) until
 * `trace.disable()`.
 */
const API_GLOBALS = Symbol.for('opentelemetry.js.api.1');

type Globals = { [API_GLOBALS]?: { trace?: unknown; metrics?: unknown } };

/**
 * Whether a tracer provider is registered: two property reads, no allocation, no module loaded.
 * Checked per request, frame and broadcast rather than once at bootstrap, so an SDK registered after
 * the app started is used too (as the API's own proxy tracer would).
 */
export function tracingOn(): boolean {
  return (globalThis as Globals)[API_GLOBALS]?.trace !== undefined;
}

/** Whether a meter provider is registered (`metrics.setGlobalMeterProvider()`), read the same way. */
export function metricsRegistered(): boolean {
  return (globalThis as Globals)[API_GLOBALS]?.metrics !== undefined;
}

let api: typeof OpenTelemetry | undefined;

/** @opentelemetry/api, loaded on first use: call it only once tracingOn() or metricsRegistered() said yes (or the app asked for metrics). */
export function otel(): typeof OpenTelemetry {
  return (api ??= createRequire(import.meta.url)('@opentelemetry/api') as typeof OpenTelemetry);
}

/** Vela's tracer from the provider registered now (the SDK caches it: a lookup, not a new tracer). */
export function velaTracer(): Tracer {
  return otel().trace.getTracer(TRACER_NAME);
}

/** `parent` with `span` as its active span: what a callback runs in to have its spans as children. */
export function withSpan(parent: Context, span: Span): Context {
  return otel().trace.setSpan(parent, span);
}

/** Runs `fn` with `ctx` active (AsyncLocalStorage under the Node SDK: awaits inside keep it). */
export function runIn<A extends unknown[], R, T>(ctx: Context, fn: (this: T, ...args: A) => R, thisArg: T, ...args: A): R {
  return otel().context.with(ctx, fn, thisArg, ...args);
}

/** The context active now, for a span to be the child of. */
export function activeContext(): Context {
  return otel().context.active();
}

/**
 * Marks `span` failed by `error`: the exception as an event, `error.type` its class name, status
 * ERROR (semantic conventions for errors). Attributes only when the span records.
 */
export function recordFailure(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  const type = error instanceof Error ? error.constructor.name || error.name : typeof error;
  span.recordException(error instanceof Error ? error : String(error));
  span.setAttribute('error.type', type);
  span.setStatus({ code: otel().SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/**
 * Reads a carrier that came from outside (a client's frame, another node's envelope): only its own
 * string values, so a number, an object or a `__proto__` key is no trace context, never a throw.
 */
const SAFE_GETTER: TextMapGetter<object> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    if (!Object.hasOwn(carrier, key)) return undefined;
    const value = (carrier as Record<string, unknown>)[key];
    return typeof value === 'string' ? value : undefined;
  },
};

/**
 * The context `carrier` names as the parent (through the app's propagator); `base` (default: the
 * root, a trace of its own) when it names none or is no object.
 */
export function extractFrom(carrier: unknown, base: Context = otel().ROOT_CONTEXT): Context {
  if (typeof carrier !== 'object' || carrier === null) return base;
  return otel().propagation.extract(base, carrier, SAFE_GETTER);
}

/**
 * `ctx` as a carrier for another node, or undefined when the propagator writes nothing (no valid span
 * context, or no propagator registered: the Node SDK registers W3C trace context by default).
 */
export function carrierOf(ctx: Context): TraceCarrier | undefined {
  const carrier: Record<string, string> = {};
  otel().propagation.inject(ctx, carrier);
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}
