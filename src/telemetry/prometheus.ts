// The Prometheus scrape endpoint of `bootstrap(App, { metrics: { path } })`: Prometheus text from
// an OpenTelemetry PrometheusExporter (a MetricReader that serializes on demand, its own server never
// started), behind a security function like a route's. It is not a route: `vela routes` and the
// docs do not list it. The SDK pieces are optional peer dependencies, imported here on first use:
// Vela itself depends on @opentelemetry/api only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MeterProvider } from '@opentelemetry/api';
import type { Context, Middleware } from 'koa';
import { ConfigError } from '../app/errors.js';
import { HttpError } from '../http/http-error.js';
import type { ResultRenderer } from '../http/renderer.js';
import { requestInfo } from '../http/request-info.js';
import { securityMiddleware, type Security } from '../http/security.js';

/**
 * What the endpoint serves: an `@opentelemetry/exporter-prometheus` PrometheusExporter (any object
 * with its request handler), registered as a reader of the MeterProvider it reads.
 */
export interface PrometheusReader {
  getMetricsRequestHandler(request: IncomingMessage, response: ServerResponse): void;
}

/** The npm command that installs what `metrics: { path }` loads, with versions that work together. */
export const PROMETHEUS_PACKAGES = '@opentelemetry/sdk-metrics@^3 @opentelemetry/exporter-prometheus@^0.301';

type SdkModules = [typeof import('@opentelemetry/sdk-metrics'), typeof import('@opentelemetry/exporter-prometheus')];

// Not exported, nor in an exported signature: Vela's declaration files never name the optional packages.
const loadSdk = (): Promise<SdkModules> => Promise.all([import('@opentelemetry/sdk-metrics'), import('@opentelemetry/exporter-prometheus')]);

/**
 * A MeterProvider of Vela's own with a PrometheusExporter as its reader. The packages are imported
 * now, not with `vela`; a ConfigError says what to install when they are missing (`load`: a test's).
 */
export async function ownPrometheus(load: () => Promise<unknown> = loadSdk): Promise<{ provider: MeterProvider & { shutdown(): Promise<void> }; exporter: PrometheusReader }> {
  let modules: SdkModules;
  try {
    modules = (await load()) as SdkModules;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new ConfigError(
      `bootstrap({ metrics: { path } }) serves Prometheus text through @opentelemetry/sdk-metrics and @opentelemetry/exporter-prometheus, ` +
        `optional peer dependencies of vela that are not installed (${(error as Error).message}): run \`npm install ${PROMETHEUS_PACKAGES}\`.`,
      { cause: error },
    );
  }
  const [{ MeterProvider }, { PrometheusExporter }] = modules;
  // preventServerStart: the app's own server answers the scrape, on its port, behind its security.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  return { provider: new MeterProvider({ readers: [exporter] }), exporter };
}

/** Names the endpoint in log lines and errors, as a controller method names a route. */
class MetricsEndpoint {}

/** Answers one scrape: the exporter's own handler in one process, the workers' sum under `vela start`. */
export type Scrape = (ctx: Context) => Promise<void>;

/** GET (or HEAD) `path`: what `scrape` answers, once `security` lets the request through. */
export function metricsEndpoint(path: string, scrape: Scrape, security: Security, renderer: ResultRenderer): Middleware {
  const source = { controller: MetricsEndpoint, handlerName: 'scrape' };
  const info = { ...source, path };
  const secured = securityMiddleware(security, renderer, source);
  return (ctx, next) => {
    if (ctx.path !== path) return next();
    // The route template of http.server.request.duration, and the name in failure log lines.
    requestInfo(ctx).route = info;
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      throw new HttpError(405, `The metrics endpoint ${path} answers GET and HEAD, not ${ctx.method}.`, { headers: { Allow: 'GET, HEAD' } });
    }
    return secured(ctx, () => scrape(ctx));
  };
}

/** The exporter writes the response itself; Koa stands aside, and the request ends when it has. */
export function exporterScrape(exporter: PrometheusReader): Scrape {
  return (ctx) => {
    ctx.status = 200;
    ctx.respond = false;
    return new Promise((resolve) => {
      ctx.res.once('finish', resolve).once('close', resolve);
      exporter.getMetricsRequestHandler(ctx.req, ctx.res);
    });
  };
}
