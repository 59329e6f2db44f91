// Tracing for the blog, on when BLOG_TELEMETRY is set (main.ts): the OpenTelemetry SDK a production
// app would register, printing each span as it ends instead of sending it to a collector. Vela needs
// nothing else: it reports through @opentelemetry/api, which does nothing until a provider like this
// one is registered, before bootstrap. A real app registers the Node SDK, as docs/telemetry.md shows.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * Registers a tracer provider exporting to `exporter` (the console by default), with the context
 * manager and W3C propagator the Node SDK would register. Returns what unregisters and flushes it.
 */
export function startTracing(exporter: SpanExporter = new ConsoleSpanExporter()): () => Promise<void> {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return async () => {
    trace.disable();
    propagation.disable();
    context.disable();
    await provider.shutdown();
  };
}
