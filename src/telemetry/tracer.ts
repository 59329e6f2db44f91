// What every span Vela makes shares: whether an OpenTelemetry SDK is there at all, Vela's tracer,
// how a failure is recorded, and the trace context as a carrier of strings (an HTTP header set, a
// request frame, the bus envelope's `tc`). Vela depends on @opentelemetry/api only: until the app
// registers an SDK, every call here is the API's no-op, and tracingOn() lets the hot paths skip even
// those, building no names, attributes or contexts.
import {
  context,
  isSpanContextValid,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';
import type { TraceCarrier } from '../pubsub/message.js';

/** The instrumentation scope of every span Vela makes. */
export const TRACER_NAME = 'vela';

/** What the API's global provider delegates to while no SDK is registered (its no-op provider). */
const NO_SDK = new ProxyTracerProvider().getDelegate();

/**
 * Whether a tracer provider is registered: a few property reads, no allocation. Checked per request,
 * frame and broadcast rather than once at bootstrap, so an SDK registered after the app started is
 * used too (as the API's own proxy tracer would). A provider of another copy of the API counts as one.
 */
export function tracingOn(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NO_SDK;
}

/** Vela's tracer from the provider registered now (the SDK caches it: a lookup, not a new tracer). */
export function velaTracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/**
 * Whether `span` carries a trace worth passing on: a recording span, or one the sampler left out
 * but whose context tells the next hops (children, other nodes) to leave theirs out too.
 */
export function traced(span: Span): boolean {
  return span.isRecording() || isSpanContextValid(span.spanContext());
}

/** `parent` with `span` as its active span: what a callback runs in to have its spans as children. */
export function withSpan(parent: Context, span: Span): Context {
  return trace.setSpan(parent, span);
}

/** Runs `fn` with `ctx` active (AsyncLocalStorage under the Node SDK: awaits inside keep it). */
export function runIn<A extends unknown[], R, T>(ctx: Context, fn: (this: T, ...args: A) => R, thisArg: T, ...args: A): R {
  return context.with(ctx, fn, thisArg, ...args);
}

/** The context active now, for a span to be the child of. */
export function activeContext(): Context {
  return context.active();
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
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
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

/** The context `carrier` names as the parent (through the app's propagator); `base` when it names none or is no object. */
export function extractFrom(carrier: unknown, base: Context = ROOT_CONTEXT): Context {
  if (typeof carrier !== 'object' || carrier === null) return base;
  return propagation.extract(base, carrier, SAFE_GETTER);
}

/**
 * `ctx` as a carrier for another node, or undefined when the propagator writes nothing (no valid span
 * context, or no propagator registered: the Node SDK registers W3C trace context by default).
 */
export function carrierOf(ctx: Context): TraceCarrier | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}
