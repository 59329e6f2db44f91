// What Vela knows about a request beyond Koa's context: which controller method took it, and which
// status a status route is rendering. Kept under a symbol on the context, so `ctx.state` stays the
// app's own (a symbol rather than a WeakMap: one property read per lookup on the hot path).
import type { Context } from 'koa';
import type { Class } from '../di/token.js';

export interface RouteInfo {
  controller: Class;
  handlerName: string;
  /** The full pattern, prefix included, e.g. `/api/users/:id`. */
  path: string;
}

interface RequestInfo {
  route?: RouteInfo;
  /** Set while a status route renders, so `json()` defaults to that status instead of 200. */
  renderingStatus?: number;
  /** The method whose result is being rendered: the route's, or a status route's (names `ok()`'s default view). */
  renderingFor?: { controller: Class; handlerName: string };
  /** Headers an error page keeps (see keepHeader), by lower-case name. */
  keptHeaders?: Map<string, string | string[]>;
}

const INFO = Symbol('vela.requestInfo');

export function requestInfo(ctx: Context): RequestInfo {
  const holder = ctx as Context & { [INFO]?: RequestInfo };
  return (holder[INFO] ??= {});
}

/** The status a result renders with when it names none: a status route's own, else 201 for POST, else 200. */
export function defaultStatus(ctx: Context): number {
  return requestInfo(ctx).renderingStatus ?? (ctx.method === 'POST' ? 201 : 200);
}

/**
 * Keeps the response header `name`, as set now, on an error page that replaces the response: the
 * error boundary drops a failed response's headers, but a correlation id or a CORS grant belongs
 * to every answer of the request. Does nothing if the header is not set.
 */
export function keepHeader(ctx: Context, name: string): void {
  const value = ctx.res.getHeader(name);
  if (value === undefined) return;
  const info = requestInfo(ctx);
  (info.keptHeaders ??= new Map()).set(name.toLowerCase(), typeof value === 'number' ? String(value) : value);
}
