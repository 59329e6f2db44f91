// bootstrap's `metrics` option: which MeterProvider Vela's instruments report to, and whether the app
// serves them for Prometheus. Checked before the port opens, with a ConfigError that says what to
// give. Without the option Vela reports to the global provider, the API's no-op until the app
// registers an SDK; with a `path` and nothing else, to a provider of its own that the path serves.
import { createRequire } from 'node:module';
import type { MeterProvider } from '@opentelemetry/api';
import type { Middleware } from 'koa';
import { ConfigError, describeValue } from '../app/errors.js';
import type { ResultRenderer } from '../http/renderer.js';
import type { Security } from '../http/security.js';
import type { Logger } from '../logging/logger.js';
import { VelaMetrics } from './metrics.js';
import { NOOP_METER } from './noop-meter.js';
import { metricsRegistered, otel } from './tracer.js';
import { exporterScrape, metricsEndpoint, ownPrometheus, type PrometheusReader, type Scrape } from './prometheus.js';

export interface MetricsOptions {
  /** Serves Prometheus text at this path (GET), e.g. `'/metrics'`. Off unless given. */
  path?: string;
  /** Who may scrape `path`: a security function like a route's (`false`, the default, is public). */
  security?: Security;
  /**
   * What `path` serves: the PrometheusExporter you registered on your own MeterProvider (give that
   * provider as `meterProvider`, or register it globally). Default: a provider and exporter of Vela's own.
   */
  exporter?: PrometheusReader;
  /** Where Vela's instruments report. Default: the global MeterProvider, or Vela's own when `path` is given without `exporter`. */
  meterProvider?: MeterProvider;
}

/** An app's metrics as bootstrap wires them. */
export interface AppMetrics {
  readonly metrics: VelaMetrics;
  /** The scrape endpoint, when `metrics.path` is set. */
  endpoint(renderer: ResultRenderer): Middleware | undefined;
  /** Unregisters the app's callbacks and shuts down Vela's own provider, if it made one. */
  close(): Promise<void>;
}

interface MetricsContext {
  patternOf: (channel: string) => string;
  /** Paths already taken, with what took them (`UsersController.index`), which the endpoint must not shadow. */
  taken: readonly { path: string; name: string }[];
  logger: Logger;
  /** True in a `vela start` worker: a scrape then answers for every worker (cluster-scrape.ts). */
  clustered?: boolean;
}

const KEYS = ['path', 'security', 'exporter', 'meterProvider'];

export async function startMetrics(options: MetricsOptions | undefined, { patternOf, taken, logger, clustered = false }: MetricsContext): Promise<AppMetrics> {
  const { path, security = false, exporter, meterProvider } = checkOptions(options);
  const clash = path === undefined ? undefined : taken.find((route) => route.path === path);
  if (clash) throw new ConfigError(`bootstrap({ metrics: { path: '${path}' } }) is also the path of ${clash.name}: serve the metrics at another path.`);
  // Nothing to report to: no path, no provider given, none registered. The API is not even loaded.
  if (path === undefined && meterProvider === undefined && !metricsRegistered()) {
    const metrics = new VelaMetrics(NOOP_METER, patternOf, false);
    return { metrics, endpoint: () => undefined, close: async () => metrics.stop() };
  }
  const api = otel();
  let own: Awaited<ReturnType<typeof ownPrometheus>> | undefined;
  if (path !== undefined && exporter === undefined) {
    own = await ownPrometheus();
    if (api.metrics.getMeter('vela') !== api.createNoopMeter()) {
      logger.warn(
        `metrics: a global MeterProvider is registered, and Vela reports to a provider of its own, served at ${path}; ` +
          'to report to yours, register a PrometheusExporter on it and give it as bootstrap({ metrics: { path, exporter } }).',
      );
    }
  }
  const provider = own?.provider ?? meterProvider ?? api.metrics.getMeterProvider();
  const meter = provider.getMeter('vela', velaVersion());
  const metrics = new VelaMetrics(meter, patternOf, meter !== api.createNoopMeter());
  const served = own?.exporter ?? exporter;
  const cluster = path !== undefined && served && clustered ? await clusterScrapeOf(served, path, logger) : undefined;
  const scrape: Scrape | undefined = cluster?.scrape ?? (served && exporterScrape(served));
  return {
    metrics,
    endpoint: (renderer) => (path !== undefined && scrape ? metricsEndpoint(path, scrape, security, renderer) : undefined),
    async close() {
      cluster?.close();
      metrics.stop();
      await own?.provider.shutdown();
    },
  };
}

/** The workers' summed scrape, loaded only in a worker; undefined (each worker its own) for a reader that cannot be collected. */
async function clusterScrapeOf(served: PrometheusReader, path: string, logger: Logger) {
  const { canCollect, clusterScrape } = await import('./cluster-scrape.js');
  if (canCollect(served)) return clusterScrape(served);
  logger.warn(`metrics: the exporter served at ${path} has no collect() (a PrometheusExporter has one), so each scrape shows the one worker it reaches, not the sum of all`);
  return undefined;
}

function checkOptions(options: MetricsOptions | undefined): MetricsOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`bootstrap({ metrics }) is ${describeValue(options)}: give an object, e.g. { path: '/metrics' } to serve Prometheus text.`);
  }
  const unknown = Object.keys(options).filter((key) => !KEYS.includes(key));
  if (unknown.length > 0) throw new ConfigError(`bootstrap({ metrics }) has unknown option '${unknown[0]}': it takes ${KEYS.join(', ')}.`);
  const { path, security, exporter, meterProvider } = options;
  if (path !== undefined && (typeof path !== 'string' || !/^\/[^?#\s]*$/.test(path))) {
    throw new ConfigError(`bootstrap({ metrics: { path } }) is ${describeValue(path)}: give a path that starts with '/', e.g. '/metrics'.`);
  }
  if (security !== undefined && security !== false && typeof security !== 'function') {
    throw new ConfigError(`bootstrap({ metrics: { security } }) is ${describeValue(security)}: give false (public) or a function (ctx) => boolean | Result | object, as on a route.`);
  }
  if (exporter !== undefined && typeof (exporter as Partial<PrometheusReader>)?.getMetricsRequestHandler !== 'function') {
    throw new ConfigError(`bootstrap({ metrics: { exporter } }) is ${describeValue(exporter)}: give a PrometheusExporter from @opentelemetry/exporter-prometheus.`);
  }
  if (meterProvider !== undefined && typeof (meterProvider as Partial<MeterProvider>)?.getMeter !== 'function') {
    throw new ConfigError(`bootstrap({ metrics: { meterProvider } }) is ${describeValue(meterProvider)}: give a MeterProvider, e.g. from @opentelemetry/sdk-metrics.`);
  }
  if (path === undefined && (exporter !== undefined || security !== undefined)) {
    throw new ConfigError(`bootstrap({ metrics: { ${exporter !== undefined ? 'exporter' : 'security'} } }) belongs to the scrape endpoint: give its path too, e.g. path: '/metrics'.`);
  }
  if (path !== undefined && meterProvider !== undefined && exporter === undefined) {
    throw new ConfigError(
      "bootstrap({ metrics: { path, meterProvider } }): Vela cannot read a provider it did not make. Register a PrometheusExporter on it (readers: [exporter]) and give it as metrics.exporter, or leave meterProvider out for Vela's own.",
    );
  }
  return options;
}

let version: string | undefined;

/** Vela's version, the instrumentation scope's: read once from its package.json (two levels up, in src/ and dist/ alike). */
function velaVersion(): string {
  return (version ??= (createRequire(import.meta.url)('../../package.json') as { version: string }).version);
}
