// The outermost step of every request and WebSocket upgrade, when the app needs one: a log scope of
// its own, so that fields a middleware puts on it deep inside (a correlation id) reach every line
// of that request, the error boundary's and the request line included.
import type { Middleware } from 'koa';
import { runWithLogFields } from '../logging/log-context.js';

/**
 * A middleware that runs the rest of the request in a new log scope, or undefined when nothing
 * mounted puts fields on one (see wantsLogScope): on Node 20 a scope is not free, since while any
 * AsyncLocalStorage is in use every promise of the process pays for Node's promise hooks.
 */
export function requestScope(needed: boolean): Middleware | undefined {
  return needed ? (_ctx, next) => runWithLogFields({}, next) : undefined;
}
