// The outermost middleware: every error thrown below it is logged once (with method, path and the
// controller that took the request) and rendered as a status page; an empty error response (no
// route, 405, `status(404)`) gets its status page too. Stack traces stay in the log. A failed
// response's headers go, except those kept with keepHeader (CORS, correlation id).
import type { Context, Middleware } from 'koa';
import type { Logger } from '../logger.js';
import { HttpError } from './http-error.js';
import { requestInfo } from './request-info.js';
import type { StatusPages } from './status-pages.js';

/** Marks errors already logged, so Koa's own 'error' event does not log them again. */
export const LOGGED = Symbol('vela.logged');

export function errorBoundary(pages: StatusPages, logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status >= 400 && ctx.status <= 599 && ctx.body == null) await pages.render(ctx, new HttpError(ctx.status));
    } catch (thrown) {
      const error = HttpError.from(thrown);
      logFailure(logger, ctx, error, thrown);
      // Once bytes are on the wire there is no page to render; Koa destroys the response.
      if (ctx.headerSent || !ctx.writable) throw markLogged(thrown);
      // Headers set before the failure (a half-built response) must not leak into the error page.
      for (const name of ctx.response.headers ? Object.keys(ctx.response.headers) : []) ctx.remove(name);
      for (const [name, value] of requestInfo(ctx).keptHeaders ?? []) ctx.set(name, value);
      await pages.render(ctx, error);
    }
  };
}

function logFailure(logger: Logger, ctx: Context, error: HttpError, thrown: unknown): void {
  const route = requestInfo(ctx).route;
  const fields = {
    method: ctx.method,
    path: ctx.path,
    status: error.status,
    ...(route ? { controller: `${route.controller.name}.${route.handlerName}` } : {}),
    error: thrown,
  };
  if (error.status >= 500) logger.error('request failed', fields);
  else logger.warn('request refused', { ...fields, error: error.message });
}

function markLogged(thrown: unknown): unknown {
  if (typeof thrown === 'object' && thrown !== null) (thrown as Record<symbol, boolean>)[LOGGED] = true;
  return thrown;
}
