// Fields that belong on every log line written while one request is handled (its correlation id,
// the user once known), without threading them through every call. AsyncLocalStorage follows the
// request through awaits, so the app's logger only has to be wrapped once, at bootstrap.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogFields, Logger } from './logger.js';

const scopes = new AsyncLocalStorage<LogFields>();
const WANTS_LOG_SCOPE = Symbol('vela.wantsLogScope');

/**
 * Marks middleware that puts fields on the request's log scope (addLogFields, correlationId()), so
 * that Vela opens a scope per request for it. Vela opens none otherwise, the request log included:
 * on Node 20 a scope is not free, since while any AsyncLocalStorage is in use every promise of the
 * process pays for Node's promise hooks.
 *
 * @example
 * const tagUser = wantsLogScope<Middleware>(async (ctx, next) => {
 *   addLogFields({ userId: ctx.state.auth.id });
 *   await next();
 * });
 */
export function wantsLogScope<T extends object>(middleware: T): T {
  return Object.assign(middleware, { [WANTS_LOG_SCOPE]: true });
}

export function anyWantsLogScope(middleware: Iterable<object>): boolean {
  for (const m of middleware) if (WANTS_LOG_SCOPE in m) return true;
  return false;
}

/**
 * Runs `fn` in a new log scope holding a copy of `fields`: log lines written through a
 * `contextLogger` until `fn` settles carry them, and `addLogFields` adds to this scope only.
 */
export function runWithLogFields<T>(fields: LogFields, fn: () => T): T {
  return scopes.run({ ...fields }, fn);
}

/**
 * Adds fields to every log line written for the rest of the current request. Vela opens a scope
 * per request and per WebSocket upgrade when a mounted middleware is marked with wantsLogScope
 * (correlationId() is). Returns false, and does nothing, outside any scope.
 *
 * @example
 * const authenticated = wantsLogScope<Middleware>(async (ctx, next) => {
 *   addLogFields({ userId: ctx.state.auth.id });
 *   await next();
 * });
 */
export function addLogFields(fields: LogFields): boolean {
  const scope = scopes.getStore();
  if (!scope) return false;
  Object.assign(scope, fields);
  return true;
}

/** The fields of the current scope, or undefined outside any. */
export function currentLogFields(): Readonly<LogFields> | undefined {
  return scopes.getStore();
}

/**
 * `logger`, with the current scope's fields added to every line. Fields given to the call win
 * over the scope's; outside a scope, or with an empty one, the call goes through untouched.
 */
export function contextLogger(logger: Logger): Logger {
  const at =
    (level: keyof Logger) =>
    (message: string, fields?: LogFields): void => {
      const scope = scopes.getStore();
      logger[level](message, scope ? withScope(fields, scope) : fields);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function withScope(fields: LogFields | undefined, scope: LogFields): LogFields | undefined {
  let merged: LogFields | undefined;
  for (const key in scope) {
    if (fields && Object.hasOwn(fields, key)) continue;
    merged ??= { ...fields };
    merged[key] = scope[key];
  }
  return merged ?? fields;
}
