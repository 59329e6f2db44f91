// HTTP decorators. Each records plain data on the class and nothing else; bootstrap validates
// and wires it (see route-table.ts), so a mistake is reported once with the class and method.
import type { Context, Middleware } from 'koa';
import { metadata } from '../app/metadata.js';
import type { Class } from '../di/token.js';
import type { InputSchemas, Schema, Valid } from '../validation/schema.js';
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

export interface RouteOptions extends InputSchemas {
  /** Default `['get']` (HEAD is answered for every GET route). */
  methods?: readonly (HttpMethod | Uppercase<HttpMethod>)[];
  /** Overrides the controller's security for this route. */
  security?: Security;
  /**
   * `body`, `query`, `params`, `headers`: any Standard Schema (zod, valibot, arktype…). Each is
   * validated after body parsing, the group's middleware and security, before the handler, which
   * gets the outputs as its second argument (`Valid<…>`); invalid input is answered 400 with the
   * issues, through the status pages (see route-input.ts).
   */
  body?: Schema;
  query?: Schema;
  params?: Schema;
  headers?: Schema;
  /** What the route answers, by status, for the OpenAPI document: `{ 200: User }`. */
  responses?: Readonly<Record<number, Schema>>;
  /** A one-line summary for the OpenAPI document. */
  summary?: string;
}

/** Whether the options give a schema for a part of the request: only then does the handler get a second argument. */
type Validates<O> = O extends { body: Schema } | { query: Schema } | { params: Schema } | { headers: Schema } ? true : false;

/**
 * The decorator `@Route(path, options)` returns: it checks at compile time that the method accepts
 * what validation hands it (`(ctx, input: Valid<O>)`), so a handler typed against another schema
 * does not compile. A method that takes only `ctx` is accepted too. A route without schemas passes
 * no second argument (validation costs it nothing), so its method may not ask for one.
 */
export type RouteDecorator<O extends RouteOptions> = <
  H extends Validates<O> extends true ? (ctx: Context, input: Valid<O>) => unknown : (ctx: Context) => unknown,
>(
  target: object,
  property: string | symbol,
  descriptor: TypedPropertyDescriptor<H>,
) => void;

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
export function Route(status: number): MethodDecorator;
export function Route<const O extends RouteOptions = {}>(path: string, options?: O): RouteDecorator<O>;
export function Route(pathOrStatus: string | number, options?: RouteOptions): MethodDecorator;
export function Route(path: string | number, options: RouteOptions = {}) {
  return (target: object, property: string | symbol) =>
    metadata.addRoute(target.constructor as Class, {
      handlerName: String(property),
      path,
      httpMethods: options.methods,
      security: options.security,
      hasSecurity: 'security' in options,
      ...inputOf(options),
      ...(options.responses ? { responses: options.responses } : {}),
      ...(options.summary !== undefined ? { summary: options.summary } : {}),
    });
}

/** Only the parts given, so a route without schemas records none (and is not validated). */
function inputOf(options: RouteOptions): { input?: InputSchemas } {
  const input: InputSchemas = {};
  for (const part of ['body', 'query', 'params', 'headers'] as const) if (options[part] !== undefined) input[part] = options[part];
  return Object.keys(input).length > 0 ? { input } : {};
}
