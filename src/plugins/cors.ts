// Cross-origin resource sharing on @koa/cors, with Vela's defaults: an explicit list of origins
// matched exactly (a disallowed origin gets no CORS header at all), no credentials to every site,
// and grants that survive an error page so a browser can read a 4xx/5xx body.
import koaCors from '@koa/cors';
import type { Middleware } from 'koa';
import { ConfigError } from '../app/errors.js';
import { allowedOrigins } from '../http/origin.js';
import { keepHeader } from '../http/request-info.js';

export interface CorsOptions {
  /**
   * Origins allowed to read responses, matched exactly (`https://app.example.com`, scheme and
   * port included, no path), or `'*'` for any origin.
   */
  origins: readonly string[] | '*';
  /** Send `Access-Control-Allow-Credentials: true` (cookies, auth headers). Needs a list of origins. Default false. */
  credentials?: boolean;
  /** Methods a preflight allows. Default GET, HEAD, PUT, POST, DELETE, PATCH. */
  allowMethods?: readonly string[];
  /** Request headers a preflight allows. Default: those the preflight asks for. */
  allowHeaders?: readonly string[];
  /** Response headers scripts may read beyond the safelisted ones, e.g. `['x-correlation-id']`. */
  exposeHeaders?: readonly string[];
  /** How long a browser may cache a preflight answer, in seconds. Default: the browser's own (5 s in Chrome). */
  maxAge?: number;
}

/** What @koa/cors may set; kept on error pages. */
const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-expose-headers',
  'vary',
] as const;

/**
 * CORS for the routes it runs on. An allowed origin gets `Access-Control-Allow-Origin` (its own
 * value, or `*`); a preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered 204 with
 * the allowed methods and headers without reaching a route.
 *
 * Use it globally (`bootstrap({ middleware: [cors(...)] })`) when browsers send preflights: group
 * middleware runs only on a route that matched path and method, so a preflight to a GET/POST-only
 * route never reaches it (the router answers `OPTIONS` itself, without CORS headers) unless the
 * route also lists `'options'` in its methods.
 *
 * @example
 * await bootstrap(AppModule, { middleware: [cors({ origins: ['https://app.example.com'], credentials: true })] });
 */
export function cors(options: CorsOptions): Middleware {
  const allowed = checkOrigins(options);
  const grant = koaCors({
    origin: (ctx) => {
      if (allowed === '*') return '*';
      const origin = ctx.get('Origin');
      return allowed.has(origin) ? origin : '';
    },
    credentials: options.credentials ?? false,
    // Only the options given: @koa/cors spreads them over its defaults, so an undefined would win.
    ...(options.allowMethods && { allowMethods: [...options.allowMethods] }),
    ...(options.allowHeaders && { allowHeaders: [...options.allowHeaders] }),
    ...(options.exposeHeaders && { exposeHeaders: [...options.exposeHeaders] }),
    ...(options.maxAge !== undefined && { maxAge: options.maxAge }),
    // Vela keeps the grant on error pages itself (keepHeader) instead of rewriting thrown errors.
    keepHeadersOnError: false,
  });
  return (ctx, next) =>
    grant(ctx, () => {
      for (const name of CORS_HEADERS) keepHeader(ctx, name);
      return next();
    });
}

function checkOrigins({ origins, credentials }: CorsOptions): ReadonlySet<string> | '*' {
  if (origins === '*' && credentials) {
    throw new ConfigError(
      `cors({ origins: '*', credentials: true }) would let every website make requests with your users' cookies: list the origins instead, e.g. cors({ origins: ['https://app.example.com'], credentials: true }).`,
    );
  }
  return allowedOrigins(origins, 'cors({ origins }): origins');
}
