// The real OpenTelemetry SDK, registered globally for one test file as an app registers it: a tracer
// provider exporting to memory through a SimpleSpanProcessor, AsyncLocalStorage contexts and the W3C
// propagator. Spans are awaited as they end, not polled; everything is unregistered after the file.
import { context, propagation, SpanKind, trace, type Link } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type Sampler } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll } from 'vitest';

/** An in-memory exporter that wakes whoever waits for a span. */
export class RecordingExporter extends InMemorySpanExporter {
  readonly #waiters = new Set<() => void>();

  override export(spans: ReadableSpan[], done: Parameters<InMemorySpanExporter['export']>[1]): void {
    super.export(spans, done);
    for (const wake of [...this.#waiters]) wake();
  }

  /** Resolves with the spans once `count` of them match `accept`; rejects after `timeoutMs`, listing what ended. */
  waitFor(accept: (span: ReadableSpan) => boolean, count = 1, timeoutMs = 5_000): Promise<ReadableSpan[]> {
    const found = () => this.getFinishedSpans().filter(accept);
    if (found().length >= count) return Promise.resolve(found());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} span(s); ended: ${this.getFinishedSpans().map((s) => s.name).join(', ') || 'none'}`));
      }, timeoutMs);
      const wake = () => {
        if (found().length < count) return;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(found());
      };
      this.#waiters.add(wake);
    });
  }
}

export interface Tracing {
  readonly exporter: RecordingExporter;
  /** Every span that has ended since the test began. */
  spans(): ReadableSpan[];
  /** The one span named `name` once it has ended. */
  span(name: string): Promise<ReadableSpan>;
}

/**
 * Registers the SDK before the file's tests and unregisters it after them (trace.disable(), and the
 * context manager and propagator); spans are forgotten after each test.
 */
export function useTracing(options: { sampler?: Sampler } = {}): Tracing {
  const exporter = new RecordingExporter();
  const provider = new BasicTracerProvider({ sampler: options.sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  });
  afterEach(() => exporter.reset());
  afterAll(async () => {
    trace.disable();
    propagation.disable();
    context.disable();
    await provider.shutdown();
  });
  return {
    exporter,
    spans: () => exporter.getFinishedSpans(),
    span: async (name) => (await exporter.waitFor((span) => span.name === name))[0]!,
  };
}

/** The span's parent span id, or undefined for a root (the SDK 2 shape: `parentSpanContext`). */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** The span ids a span links to. */
export function linkedIds(span: ReadableSpan): string[] {
  return span.links.map((link: Link) => link.context.spanId);
}

/** `00-<trace>-<span>-01`: a W3C traceparent of a sampled remote parent. */
export function traceparent(traceId: string, spanId: string): string {
  return `00-${traceId}-${spanId}-01`;
}

export { SpanKind };
