// Loaded with `node --import` into every server of bench/telemetry.mjs, before the server script runs:
// makes the process one of the variants the bench compares, and writes at exit what it really ran,
// so that the driver can check each variant is what its label says.
//   VELA_BENCH_VARIANT  none: 'vela' is VELA_BENCH_VELA (the baseline's dist/index.js, a file URL)
//                       off:  this checkout's Vela, nothing registered (what an app runs by default)
//                       sdk:  this checkout's Vela with an OpenTelemetry SDK registered globally here,
//                             before the server script (and so bootstrap) runs, as docs/telemetry.md's
//                             `node --import ./tracing.mjs` setup does
//                       koa-none, koa-sdk: the raw-Koa peer pair (bench/http-server.mjs koa and koa-otel),
//                             which loads no Vela: koa-none registers nothing, koa-sdk the SDK of sdk
//                       ws-none, ws-sdk: the raw-ws broadcast peer pair (bench/broadcast.mjs server raw
//                             and raw-otel), likewise
//   VELA_BENCH_REPORT   the file written at exit (JSON, see report() below)
import { writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

/** The share of root traces the sdk variant samples. */
const SAMPLING = 0.01;
/** How often the sdk variant's metric reader collects (a Prometheus scrape is typically every 15–60 s). */
const EXPORT_INTERVAL_MS = 10_000;

/** The variants that register the SDK. */
const SDK_VARIANTS = new Set(['sdk', 'koa-sdk', 'ws-sdk']);
const VARIANTS = ['none', 'off', 'sdk', 'koa-none', 'koa-sdk', 'ws-none', 'ws-sdk'];

const variant = process.env.VELA_BENCH_VARIANT;
if (!VARIANTS.includes(variant)) throw new Error(`bench/telemetry-variant.mjs: VELA_BENCH_VARIANT must be one of ${VARIANTS.join(', ')}, got ${variant}`);
if (variant === 'none' && !process.env.VELA_BENCH_VELA) throw new Error('bench/telemetry-variant.mjs: the none variant needs VELA_BENCH_VELA, the baseline dist/index.js');

register(new URL('./telemetry-resolve.mjs', import.meta.url), { data: { vela: variant === 'none' ? process.env.VELA_BENCH_VELA : undefined } });
const vela = import.meta.resolve('vela');

// Spans and metric collections the exporters were handed (and dropped).
const counts = { spans: 0, metricExports: 0 };
// Only here: in none and off, nothing of OpenTelemetry may be loaded before Vela decides to load it.
if (SDK_VARIANTS.has(variant)) registerSdk();

process.on('exit', () => {
  if (process.env.VELA_BENCH_REPORT) writeFileSync(process.env.VELA_BENCH_REPORT, JSON.stringify(report()));
});

/**
 * What this process ran: the Vela 'vela' resolved to, whether @opentelemetry/api was ever loaded
 * (Vela loads it with require, only once a provider is registered), whether a tracer and a meter
 * provider are registered, what the exporters were handed, and (sdk) the SDK's settings.
 */
function report() {
  const loaded = Object.keys(createRequire(import.meta.url).cache);
  const globals = globalThis[Symbol.for('opentelemetry.js.api.1')];
  return {
    variant,
    vela,
    apiLoaded: loaded.some((file) => file.includes('/node_modules/@opentelemetry/api/')),
    tracing: globals?.trace !== undefined,
    metrics: globals?.metrics !== undefined,
    ...counts,
    ...(SDK_VARIANTS.has(variant) ? { sampling: SAMPLING, exportIntervalMs: EXPORT_INTERVAL_MS } : {}),
  };
}

/**
 * A tracer provider sampling SAMPLING of root traces (children follow their parent) through a
 * BatchSpanProcessor, AsyncLocalStorage contexts and the W3C propagator (as test/telemetry/support.ts
 * registers them), and a MeterProvider whose periodic reader collects every EXPORT_INTERVAL_MS. The
 * exporters count and drop: what is measured is Vela's and the SDK's work, not a collector's.
 */
function registerSdk() {
  // Vela's own dev dependencies, resolved as Vela resolves @opentelemetry/api (require, from the
  // repository root), so that the API the SDK registers with is the very module Vela loads.
  const fromVela = createRequire(new URL('../package.json', import.meta.url));
  const { context, metrics, propagation, trace } = fromVela('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = fromVela('@opentelemetry/context-async-hooks');
  const { ExportResultCode, W3CTraceContextPropagator } = fromVela('@opentelemetry/core');
  const { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } = fromVela('@opentelemetry/sdk-trace-base');
  const { MeterProvider, PeriodicExportingMetricReader } = fromVela('@opentelemetry/sdk-metrics');
  const done = (callback) => callback({ code: ExportResultCode.SUCCESS });
  const quiet = { forceFlush: async () => {}, shutdown: async () => {} };
  const spanExporter = { ...quiet, export: (spans, callback) => ((counts.spans += spans.length), done(callback)) };
  const metricExporter = { ...quiet, export: (_batch, callback) => ((counts.metricExports += 1), done(callback)) };
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const sampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(SAMPLING) });
  trace.setGlobalTracerProvider(new BasicTracerProvider({ sampler, spanProcessors: [new BatchSpanProcessor(spanExporter)] }));
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: EXPORT_INTERVAL_MS });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
}
