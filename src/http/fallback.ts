// Fallback controllers, Nova's answer to "a handler returned something no result handler claims":
// the decorator that names one, the shape it has, and the bootstrap check of what was named. The
// HTTP renderer and the gateway process both call it; this file is its only home.
import type { Context } from 'koa';
import { ConfigError } from '../app/errors.js';
import { metadata } from '../app/metadata.js';
import type { Class } from '../di/token.js';
import type { Connection } from '../ws/connection.js';

/**
 * A fallback controller: built by DI, asked to resolve what a controller or gateway returned. For a
 * route it receives the Koa context and returns a result; for a gateway it receives the Connection
 * and returns nothing, `reply(...)` or `stop(...)`. Tell them apart with `instanceof Connection`.
 */
export interface Fallback {
  resolve(target: Context | Connection, returned: unknown): unknown;
}

/**
 * Names the class whose `resolve(ctx, returned)` turns a return value no handler claims into a
 * result. On a controller it covers that controller; on a module, all the module's controllers.
 *
 * @example
 * @FallbackController(NotFoundFallback)
 * @Controller({ prefix: '/posts' })
 * class PostsController { … }
 */
export function FallbackController(fallback: Class<Fallback>): ClassDecorator {
  return (target) => metadata.setFallback(target as unknown as Class, fallback);
}

/**
 * The fallback that covers `owner` (a controller or gateway): its own @FallbackController, else its
 * module's. Checked at bootstrap, so a class without `resolve` fails before the first request.
 */
export function fallbackFor(owner: Class, moduleFallback: Class | undefined): Class | undefined {
  const fallback = metadata.getFallback(owner) ?? moduleFallback;
  return fallback === undefined ? undefined : requireFallback(fallback, owner);
}

/** The fallback of a controller or gateway must be a class with `resolve`. */
function requireFallback(fallback: unknown, owner: Class): Class {
  if (typeof fallback !== 'function' || typeof (fallback.prototype as { resolve?: unknown }).resolve !== 'function') {
    throw new ConfigError(
      `The @FallbackController of ${owner.name} must be a class with a resolve(ctx, returned) method.`,
    );
  }
  return fallback as Class;
}
