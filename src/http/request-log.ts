// The outermost step of every request and WebSocket upgrade: opens the request's log scope when
// something puts fields on it (so a correlation id set deep inside reaches the error boundary's
// lines too) and, outside the boundary, writes one line with the status the client really got —
// error pages and 404s included.
import { performance } from 'node:perf_hooks';
import type { Middleware } from 'koa';
import { runWithLogFields } from '../log-context.js';
import type { Logger } from '../logger.js';

/**
 * With `log`, one info line per request once its response is ready:
 * `request { method, path, status, durationMs }`, plus the scope's fields (`correlationId`).
 * `path` has no query string, so tokens in URLs stay out of the log. `durationMs` runs until
 * the response is ready to send; a streamed body may still be flowing.
 * With `scope`, the request runs in its own log scope. Only then: on Node 20 a scope makes every
 * promise of the process pay for AsyncLocalStorage, so the request line alone opens none.
 * Without `log` and without `scope` there is nothing to do: undefined, and no step at all.
 */
export function requestScope(logger: Logger, { log, scope }: { log: boolean; scope: boolean }): Middleware | undefined {
  if (log) {
    const logRequest: Middleware = async (ctx, next) => {
      const started = performance.now();
      try {
        await next();
      } finally {
        const durationMs = Math.round((performance.now() - started) * 10) / 10;
        logger.info('request', { method: ctx.method, path: ctx.path, status: ctx.status, durationMs });
      }
    };
    return scope ? (ctx, next) => runWithLogFields({}, () => logRequest(ctx, next)) : logRequest;
  }
  if (scope) return (_ctx, next) => runWithLogFields({}, next);
  return undefined;
}
