// The outermost middleware: every error thrown below it is logged once (with method, path and the
// controller that took the request) and rendered as a status page; an empty error response (no
// route, 405, `status(404)`) gets its status page too. Stack traces stay in the log. A failed
// response's headers go, except those kept with keepHeader (CORS, correlation id). It also refuses
// a path that cannot be decoded, before anything reads it, logs a response body that fails once it
// is being sent (a file cut short), and writes the request log line with the status the client got.
// With an OpenTelemetry SDK registered, it also names and ends the request's server span (http-spans.ts).
import { performance } from 'node:perf_hooks';
import { Stream } from 'node:stream';
import type { Context, Middleware, Next } from 'koa';
import type { Logger } from '../logging/logger.js';
import { endHttpSpan, runTraced, startHttpSpan } from '../telemetry/http-spans.js';
import type { HttpMeter } from '../telemetry/metrics-http.js';
import { HttpError } from './http-error.js';
import { requestInfo } from './request-info.js';
import type { StatusPages } from './status-pages.js';

/** Marks errors already logged, so Koa's own 'error' event does not log them again. */
export const LOGGED = Symbol('vela.logged');

export interface BoundaryOptions {
  /**
   * Says whether the app is shutting down: a response finished meanwhile carries
   * `Connection: close`, so its client sends nothing more on a connection about to go.
   */
  closing?: () => boolean;
  /**
   * One info line per request once its response is ready, error pages and 404s included:
   * `request { method, path, status, durationMs }`, plus the log scope's fields (`correlationId`).
   * `path` has no query string, so tokens in URLs stay out of the log. `durationMs` runs until the
   * response is ready to send; a streamed body may still be flowing. Written here rather than by a
   * middleware of its own: every middleware costs each request a promise and a turn of the queue.
   */
  logRequests?: boolean;
  /** Records `http.server.request.duration` when enabled, with the status the client got, as the log line does. */
  metrics?: HttpMeter;
}

export function errorBoundary(pages: StatusPages, logger: Logger, { closing = () => false, logRequests = false, metrics }: BoundaryOptions = {}): Middleware {
  const measure = metrics?.enabled ? metrics : undefined;
  return async (ctx, next) => {
    const started = logRequests || measure ? performance.now() : 0;
    // Undefined without an SDK: the request then pays for one check, and runs as it always has.
    const span = startHttpSpan(ctx);
    let failure: unknown;
    try {
      try {
        rejectMalformedPath(ctx.path);
        await (span ? runTraced(span, next) : next());
        if (ctx.status >= 400 && ctx.status <= 599 && ctx.body == null) await pages.render(ctx, new HttpError(ctx.status));
      } catch (thrown) {
        failure = thrown;
        const error = HttpError.from(thrown);
        logFailure(logger, ctx, error, thrown);
        // Once bytes are on the wire there is no page to render; Koa destroys the response.
        if (ctx.headerSent || !ctx.writable) throw markLogged(thrown);
        // Headers set before the failure (a half-built response) must not leak into the error page.
        for (const name of ctx.response.headers ? Object.keys(ctx.response.headers) : []) ctx.remove(name);
        for (const [name, value] of requestInfo(ctx).keptHeaders ?? []) ctx.set(name, value);
        await pages.render(ctx, error);
      }
      if (closing() && !ctx.headerSent) ctx.set('Connection', 'close');
      if (ctx.body instanceof Stream) logStreamFailure(logger, ctx, ctx.body);
    } finally {
      if (span) endHttpSpan(span, ctx, failure);
      if (logRequests) logRequest(logger, ctx, started);
      measure?.record(ctx.method, ctx.protocol, ctx.status, requestInfo(ctx).route?.path, started);
    }
  };
}

function logRequest(logger: Logger, ctx: Context, started: number): void {
  const durationMs = Math.round((performance.now() - started) * 10) / 10;
  logger.info('request', { method: ctx.method, path: ctx.path, status: ctx.status, durationMs });
}

/**
 * `%zz` or a cut UTF-8 sequence (`%E0%A4%A`) names no resource: 400, as send does for files. Left
 * alone, @koa/router would hand such a parameter to the controller still encoded (its decoding
 * falls back to the raw text) and a static route would answer 404.
 */
function rejectMalformedPath(path: string): void {
  if (!path.includes('%')) return;
  try {
    decodeURIComponent(path);
  } catch {
    throw new HttpError(400, 'Malformed URL: the path has an invalid percent-encoding (a % not followed by two hex digits, or bytes that are not UTF-8).');
  }
}

/**
 * A streamed body that fails once its headers are sent (a file truncated while it is read) cannot
 * get an error page: Koa cuts the connection, so the client sees a short body, never a complete
 * one. Logged here, once, with the request; Koa's 'error' event then skips it.
 */
function logStreamFailure(logger: Logger, ctx: Context, body: Stream): void {
  body.once('error', (thrown: NodeJS.ErrnoException | undefined) => {
    // The client went away (a cancelled download, a video seek): not the server's failure.
    if (thrown?.code === 'ERR_STREAM_PREMATURE_CLOSE') logger.debug('response aborted by the client', { ...requestFields(ctx, ctx.status), error: markLogged(thrown) });
    else logger.error('response failed', { ...requestFields(ctx, ctx.status), error: markLogged(thrown) });
  });
}

function logFailure(logger: Logger, ctx: Context, error: HttpError, thrown: unknown): void {
  const fields = requestFields(ctx, error.status);
  if (error.status >= 500) logger.error('request failed', { ...fields, error: thrown });
  else logger.warn('request refused', { ...fields, error: error.message });
}

/** What every failure line says of its request: method, path, status, and the controller that took it. */
function requestFields(ctx: Context, status: number) {
  const route = requestInfo(ctx).route;
  return {
    method: ctx.method,
    path: ctx.path,
    status,
    ...(route ? { controller: `${route.controller.name}.${route.handlerName}` } : {}),
  };
}

function markLogged(thrown: unknown): unknown {
  if (typeof thrown === 'object' && thrown !== null) (thrown as Record<symbol, boolean>)[LOGGED] = true;
  return thrown;
}
