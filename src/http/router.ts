// Wires the route table onto @koa/router. Each route runs, in order: body parsing, the group's
// middleware, security, input validation (route-input.ts, for a route with schemas), then the
// controller method, whose return value the renderer answers.
import { Router } from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import compose from 'koa-compose';
import type { Container } from '../di/container.js';
import { createBodyParser, type BodyOptions } from './body.js';
import type { ResultRenderer } from './renderer.js';
import type { Valid } from '../validation/schema.js';
import { requestInfo } from './request-info.js';
import { inputReader } from './route-input.js';
import type { RouteDefinition } from './route-table.js';
import { securityMiddleware } from './security.js';
import { isThenable } from './thenable.js';

export type { BodyOptions };

export interface RouterOptions {
  routes: readonly RouteDefinition[];
  container: Container;
  renderer: ResultRenderer;
  body?: BodyOptions;
}

/** The routing middleware, then `allowedMethods` for 405 (with `Allow`) and 501. */
export function createRouter({ routes, container, renderer, body }: RouterOptions): Middleware[] {
  const router = new Router();
  const parseBody = createBodyParser(body);
  for (const route of routes) {
    const name = `${route.controller.name}.${route.handlerName}`;
    const steps: Middleware[] = [
      ...route.middleware,
      ...(route.security === false ? [] : [securityMiddleware(route.security, renderer, route)]),
      invoke(route, container, renderer),
    ];
    router.register(route.path, route.httpMethods, entry(route, steps, parseBody) as never, { name });
  }
  return [router.routes() as unknown as Middleware, router.allowedMethods() as unknown as Middleware];
}

/**
 * One middleware per route, not one per step: Koa's compose makes a promise for every step of
 * every request, so a public route without group middleware runs as a single function.
 */
function entry(route: RouteDefinition, steps: Middleware[], parseBody: Middleware): Middleware {
  const info = { controller: route.controller, handlerName: route.handlerName, path: route.path };
  const rest = steps.length === 1 ? steps[0]! : compose(steps);
  return (ctx, next) => {
    requestInfo(ctx).route = info;
    // A request without a Content-Type has no body to parse (a GET, most DELETEs): skip the
    // parser, leaving `ctx.request.body` as the parser would, an empty object.
    if (ctx.req.headers['content-type'] === undefined) {
      ctx.request.body ??= {};
      return rest(ctx, next);
    }
    return parseBody(ctx, () => rest(ctx, next));
  };
}

function invoke(route: RouteDefinition, container: Container, renderer: ResultRenderer): Middleware {
  // The container is initialized before routes are wired, so the singleton is looked up once.
  const controller = container.get<Record<string, (ctx: Context, input?: Valid) => unknown>>(route.controller);
  const method = route.handlerName;
  // A synchronous controller method is rendered synchronously: no promise of Vela's own.
  const rendered = (ctx: Context, returned: unknown) =>
    isThenable(returned) ? Promise.resolve(returned).then((value) => renderer.render(ctx, value, route)) : renderer.render(ctx, returned, route);
  // A route without schemas pays nothing for validation (and its method gets no second argument).
  if (!route.input) return (ctx: Context, _next: Next) => rendered(ctx, controller[method]!(ctx));
  // One whose schemas answer synchronously makes no promise either.
  const read = inputReader(route.input, `${route.controller.name}.${method}`);
  return (ctx: Context, _next: Next) => {
    const input = read(ctx);
    return isThenable(input) ? input.then((valid) => rendered(ctx, controller[method]!(ctx, valid))) : rendered(ctx, controller[method]!(ctx, input));
  };
}
