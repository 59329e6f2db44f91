// HTTP decorators. Each records plain data on the class and nothing else; bootstrap validates
// and wires it (see route-table.ts), so a mistake is reported once with the class and method.
import type { Middleware } from 'koa';
import { metadata } from '../app/metadata.js';
import type { Class } from '../di/token.js';
import type { Security } from './security.js';

export interface ControllerOptions {
  /** Prepended to every route path of this controller, e.g. `/api`. */
  prefix?: string;
  /** Applies to every route unless the route sets its own. Default `false`: public. */
  security?: Security;
  /** Koa middleware run for this group's routes, after body parsing and before security. */
  middleware?: Middleware[];
}

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head' | 'options';

export interface RouteOptions {
  /** Default `['get']` (HEAD is answered for every GET route). */
  methods?: readonly (HttpMethod | Uppercase<HttpMethod>)[];
  /** Overrides the controller's security for this route. */
  security?: Security;
}

/**
 * A Nova route group: a prefix, a security function and middleware shared by its routes.
 *
 * @example
 * @Controller({ prefix: '/api', security: requireUser })
 * class UsersController { … }
 */
export function Controller(options: ControllerOptions = {}): ClassDecorator {
  return (target) =>
    metadata.setController(target as unknown as Class, {
      prefix: options.prefix ?? '',
      security: options.security ?? false,
      middleware: options.middleware ?? [],
    });
}

/**
 * Maps a path and methods to this method, or with a number (`@Route(404)`) makes it the page
 * rendered for that status under the controller's prefix.
 *
 * @example
 * @Route('/users/:id', { methods: ['get'] })
 * show(ctx: Context) { return json(this.users.get(ctx.params.id)); }
 */
export function Route(path: string | number, options: RouteOptions = {}): MethodDecorator {
  return (target, property) =>
    metadata.addRoute(target.constructor as Class, {
      handlerName: String(property),
      path,
      httpMethods: options.methods,
      security: options.security,
      hasSecurity: 'security' in options,
    });
}
