// Reads every controller's metadata once, validates it, and produces the flat, ordered tables the
// router and the status pages use. Every mistake found here stops bootstrap with a message naming
// the class, the method and the fix.
import { METHODS } from 'node:http';
import type { Middleware } from 'koa';
import { ConfigError } from '../app/errors.js';
import { metadata, type RouteRecord } from '../app/metadata.js';
import type { Class } from '../di/token.js';
import { providerClass } from '../di/provider.js';
import type { LoadedModule } from '../app/module.js';
import { fallbackFor } from './fallback.js';
import type { RouteSource } from './renderer.js';
import { requireMiddleware, requireSecurity } from './pipeline-options.js';
import { requireInput } from './route-input.js';
import type { InputSchemas } from '../validation/schema.js';
import type { Security } from './security.js';

export interface RouteDefinition extends RouteSource {
  path: string;
  httpMethods: string[];
  security: Security;
  middleware: readonly Middleware[];
  /** The route's schemas, checked at bootstrap: validated by route-input.ts, read by the API documents. */
  input?: InputSchemas;
  /** As `@Route` recorded them, for the API documents. */
  responses?: RouteRecord['responses'];
  summary?: RouteRecord['summary'];
}

export interface StatusRouteDefinition extends RouteSource {
  status: number;
  prefix: string;
}

export interface RouteTable {
  routes: RouteDefinition[];
  statusRoutes: StatusRouteDefinition[];
  controllers: Class[];
  fallbacks: Class[];
}

const KNOWN_METHODS = new Set(METHODS.map((m) => m.toLowerCase()));

export function buildRouteTable(modules: readonly LoadedModule[]): RouteTable {
  const routes: RouteDefinition[] = [];
  const statusRoutes: StatusRouteDefinition[] = [];
  const controllers = new Set<Class>();
  const fallbacks = new Set<Class>();

  for (const mod of modules) {
    rejectRoutesOnProviders(mod);
    for (const controller of mod.controllers) {
      if (controllers.has(controller)) continue;
      const record = requireController(controller, mod.module);
      controllers.add(controller);
      const fallback = fallbackFor(controller, mod.fallback);
      if (fallback) fallbacks.add(fallback);
      const prefix = normalizePrefix(record.prefix, controller);
      // Checked once per controller, so a bad group setting fails even before any route uses it.
      const groupSecurity = requireSecurity(record.security, `${controller.name} (@Controller security)`);
      const middleware = requireMiddleware(record.middleware, `${controller.name} (@Controller middleware)`);

      for (const route of metadata.getRoutes(controller)) {
        const where = `${controller.name}.${route.handlerName}`;
        if (typeof (controller.prototype as Record<string, unknown>)[route.handlerName] !== 'function') {
          throw new ConfigError(`${where}: @Route must decorate an instance method.`);
        }
        const source = { controller, handlerName: route.handlerName, fallback };
        if (typeof route.path === 'number') {
          statusRoutes.push({ ...source, status: requireStatus(route.path, where), prefix });
          continue;
        }
        routes.push({
          ...source,
          path: joinPath(prefix, route.path, where),
          httpMethods: normalizeMethods(route.httpMethods, where),
          security: route.hasSecurity ? requireSecurity(route.security, where) : groupSecurity,
          middleware,
          input: requireInput(route.input, where),
          responses: route.responses,
          summary: route.summary,
        });
      }
    }
  }
  rejectDuplicateRoutes(routes);
  rejectDuplicateStatusRoutes(statusRoutes);
  return { routes: sortBySpecificity(routes), statusRoutes, controllers: [...controllers], fallbacks: [...fallbacks] };
}

function requireController(controller: unknown, module: Class) {
  if (typeof controller !== 'function') {
    throw new ConfigError(`${module.name} lists ${String(controller)} in controllers; list controller classes only.`);
  }
  const record = metadata.getController(controller as Class);
  if (!record) {
    throw new ConfigError(
      `${controller.name} is listed in ${module.name}.controllers but has no @Controller decorator: add @Controller() to the class.`,
    );
  }
  return record;
}

/** A class with routes listed as a provider would never be routed: say so instead of ignoring it. */
function rejectRoutesOnProviders(mod: LoadedModule): void {
  for (const provider of mod.providers) {
    const cls = providerClass(provider);
    if (cls && (metadata.getRoutes(cls).length > 0 || metadata.getController(cls))) {
      throw new ConfigError(
        `${cls.name} has @Controller/@Route but is listed in ${mod.module.name}.providers; move it to ${mod.module.name}.controllers.`,
      );
    }
  }
}

function requireStatus(status: number, where: string): number {
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new ConfigError(`${where}: @Route(${status}) is not a status route; status routes take an error status from 400 to 599.`);
  }
  return status;
}

function normalizePrefix(prefix: string, controller: Class): string {
  if (prefix === '' || prefix === '/') return '';
  if (typeof prefix !== 'string' || !prefix.startsWith('/')) {
    throw new ConfigError(`${controller.name}: @Controller prefix ${JSON.stringify(prefix)} must start with '/'.`);
  }
  return prefix.replace(/\/+$/, '');
}

function joinPath(prefix: string, path: string, where: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new ConfigError(`${where}: route path ${JSON.stringify(path)} must start with '/'.`);
  }
  const joined = prefix + (path === '/' && prefix ? '' : path);
  return joined || '/';
}

function normalizeMethods(methods: readonly string[] | undefined, where: string): string[] {
  const list = methods ?? ['get'];
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigError(`${where}: methods must be a non-empty array such as ['get', 'post'].`);
  }
  return list.map((m) => {
    const lower = typeof m === 'string' ? m.toLowerCase() : '';
    if (!KNOWN_METHODS.has(lower)) {
      throw new ConfigError(`${where}: ${JSON.stringify(m)} is not an HTTP method; use e.g. 'get', 'post', 'put', 'patch', 'delete'.`);
    }
    return lower.toUpperCase();
  });
}

/**
 * What the router matches, for finding duplicates: parameters by position (`/users/:id` and
 * `/users/:userId` match the same requests), case-insensitively, a trailing slash ignored. Gateway
 * paths are matched by path-to-regexp with the same defaults, so gateway-table.ts uses it too.
 */
export function pathShape(path: string): string {
  const shaped = path.replace(/:\w+/g, ':').replace(/\*\w+/g, '*').toLowerCase();
  return shaped.length > 1 && shaped.endsWith('/') ? shaped.slice(0, -1) : shaped;
}

function rejectDuplicateRoutes(routes: readonly RouteDefinition[]): void {
  const seen = new Map<string, RouteDefinition>();
  for (const route of routes) {
    for (const method of route.httpMethods) {
      const key = `${method} ${pathShape(route.path)}`;
      const first = seen.get(key);
      if (first) {
        throw new ConfigError(
          `Duplicate route ${method} ${route.path}: declared by ${first.controller.name}.${first.handlerName} and ${route.controller.name}.${route.handlerName}. Remove one or change its path or methods.`,
        );
      }
      seen.set(key, route);
    }
  }
}

function rejectDuplicateStatusRoutes(routes: readonly StatusRouteDefinition[]): void {
  const seen = new Map<string, StatusRouteDefinition>();
  for (const route of routes) {
    const key = `${route.status} ${route.prefix}`;
    const first = seen.get(key);
    if (first) {
      throw new ConfigError(
        `Duplicate status route @Route(${route.status}) for prefix '${route.prefix || '/'}': ${first.controller.name}.${first.handlerName} and ${route.controller.name}.${route.handlerName}. Keep one.`,
      );
    }
    seen.set(key, route);
  }
}

/**
 * Orders routes (or gateways) so that, segment by segment, a static segment comes before a
 * parameter, and a parameter before an optional or wildcard one: `/notes/new` wins over
 * `/notes/:id` whatever the declaration order. Equal shapes keep their declaration order (the sort
 * is stable).
 */
export function sortBySpecificity<T extends { readonly path: string }>(routes: readonly T[]): T[] {
  const rank = (segment: string): number =>
    segment.includes('*') ? 3 : /[{}]/.test(segment) ? 2 : segment.includes(':') ? 1 : 0;
  const ranks = new Map(routes.map((r) => [r, r.path.split('/').slice(1).map(rank)]));
  return [...routes].sort((a, b) => {
    const ra = ranks.get(a)!;
    const rb = ranks.get(b)!;
    for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
      if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
    }
    // One path a prefix of the other: order them by depth, or the comparator is inconsistent and
    // the sort may put a parameter route before a static one (`/users/:id` before `/users/me`).
    return ra.length - rb.length;
  });
}
