// Bootstrap checks of the two options a route group and a gateway share: `middleware` and
// `security`, what runs before a route's handler or a WebSocket's 101. One home, so @Controller and
// @WebSocket refuse the same mistakes with the same words.
import type { Middleware } from 'koa';
import { ConfigError } from '../app/errors.js';
import type { Security } from './security.js';

/**
 * `security` when it is `false` (public) or a function. `where` names the culprit and the option,
 * e.g. `AdminController (@Controller security)` or `AdminController.index` for a route's own.
 */
export function requireSecurity(security: unknown, where: string): Security {
  if (security === false || typeof security === 'function') return security as Security;
  throw new ConfigError(
    `${where}: security must be false (public) or a function (ctx) => true | false | Result | auth object, got ${String(security)}.`,
  );
}

/** `middleware` when it is an array of functions. `where` as for security: `ChatGateway (@WebSocket middleware)`. */
export function requireMiddleware(middleware: unknown, where: string): readonly Middleware[] {
  if (!Array.isArray(middleware) || middleware.some((m) => typeof m !== 'function')) {
    throw new ConfigError(`${where}: middleware must be an array of Koa middleware functions.`);
  }
  return middleware as Middleware[];
}
