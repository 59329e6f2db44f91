// Wires the route table onto @koa/router. Each route runs, in order: body parsing, the group's
// middleware, security, then the controller method, whose return value the renderer answers.
import { bodyParser } from '@koa/bodyparser';
import { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Container } from '../di/container.js';
import type { ResultRenderer } from './renderer.js';
import { requestInfo } from './request-info.js';
import type { RouteDefinition } from './route-table.js';
import { securityMiddleware } from './security.js';

/** @koa/bodyparser's options: limits (`jsonLimit: '1mb'`), enabled types… */
export type BodyOptions = NonNullable<Parameters<typeof bodyParser>[0]>;

export interface RouterOptions {
  routes: readonly RouteDefinition[];
  container: Container;
  renderer: ResultRenderer;
  body?: BodyOptions;
}

/** The routing middleware, then `allowedMethods` for 405 (with `Allow`) and 501. */
export function createRouter({ routes, container, renderer, body }: RouterOptions): Middleware[] {
  const router = new Router();
  const parseBody = onlyWithBody(bodyParser({ enableTypes: ['json', 'form', 'text'], ...body }) as unknown as Middleware);
  for (const route of routes) {
    const name = `${route.controller.name}.${route.handlerName}`;
    // Every step costs a promise per request: a public route has no security step at all.
    const chain: Middleware[] = [
      markRoute(route),
      parseBody,
      ...route.middleware,
      ...(route.security === false ? [] : [securityMiddleware(route.security, renderer, route)]),
      invoke(route, container, renderer),
    ];
    router.register(route.path, route.httpMethods, chain as never, { name });
  }
  return [router.routes() as unknown as Middleware, router.allowedMethods() as unknown as Middleware];
}

/**
 * A request without a Content-Type has no body to parse (a GET, most DELETEs): skip the parser,
 * leaving `ctx.request.body` as the parser would, an empty object.
 */
function onlyWithBody(parse: Middleware): Middleware {
  return (ctx, next) => {
    if (ctx.req.headers['content-type'] !== undefined) return parse(ctx, next);
    ctx.request.body ??= {};
    return next();
  };
}

function markRoute(route: RouteDefinition): Middleware {
  const info = { controller: route.controller, handlerName: route.handlerName, path: route.path };
  return (ctx, next) => {
    requestInfo(ctx).route = info;
    return next();
  };
}

function invoke(route: RouteDefinition, container: Container, renderer: ResultRenderer): Middleware {
  // The container is initialized before routes are wired, so the singleton is looked up once.
  const controller = container.get<Record<string, (ctx: Context) => unknown>>(route.controller);
  return async (ctx: Context) => {
    const returned = await controller[route.handlerName]!(ctx);
    await renderer.render(ctx, returned, route);
  };
}
