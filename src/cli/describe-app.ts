// What an app serves, as plain data: every HTTP route, status route, gateway and static directory,
// read from the same metadata and through the same table builders bootstrap uses, without
// building a provider or opening a port. `vela routes` prints it.
import type { Class } from '../di/token.js';
import { buildRouteTable } from '../http/route-table.js';
import type { Security } from '../http/security.js';
import { loadModules } from '../app/module.js';
import { buildGatewayTable, type GatewayDefinition } from '../ws/gateway-table.js';

export interface RouteDescription {
  /** Upper case, as the router matches them: `['GET']`. */
  methods: string[];
  /** With the controller's prefix: `/api/users/:id`. */
  path: string;
  /** `UsersController.show`. */
  handler: string;
  /** `public`, or the name of the security function. */
  security: string;
}

export interface StatusRouteDescription {
  status: number;
  /** The controller prefix whose errors it renders; `/` for the whole app. */
  prefix: string;
  handler: string;
}

export interface GatewayDescription {
  path: string;
  /** The class name. */
  gateway: string;
  security: string;
  /** Callbacks in call order: `init`, `text → echo`, `event "join" → onJoin`, `info topic=new → push`, `terminate`. */
  handlers: string[];
}

export interface StaticDescription {
  prefix: string;
  /** As declared, relative to the app's working directory. */
  dir: string;
  /** The module that declared it. */
  module: string;
}

export interface AppDescription {
  /** In the order the router tries them: static segments before parameters. */
  routes: RouteDescription[];
  statusRoutes: StatusRouteDescription[];
  gateways: GatewayDescription[];
  static: StaticDescription[];
}

/**
 * Describes the app rooted at `root`. Throws the same ConfigError bootstrap would for a duplicate
 * route or gateway path; static directories are listed as declared, not checked
 * (they are relative to the directory the app runs in).
 *
 * @example
 * describeApp(AppModule).routes[0]; // { methods: ['GET'], path: '/', handler: 'MainController.index', security: 'public' }
 */
export function describeApp(root: Class): AppDescription {
  const modules = loadModules(root);
  const table = buildRouteTable(modules);
  const gateways = buildGatewayTable(modules);
  return {
    routes: table.routes.map((route) => ({
      methods: [...route.httpMethods],
      path: route.path,
      handler: `${route.controller.name}.${route.handlerName}`,
      security: securityName(route.security),
    })),
    statusRoutes: table.statusRoutes.map((route) => ({
      status: route.status,
      prefix: route.prefix || '/',
      handler: `${route.controller.name}.${route.handlerName}`,
    })),
    gateways: gateways.map((definition) => ({
      path: definition.path,
      gateway: definition.gateway.name,
      security: securityName(definition.security),
      handlers: gatewayHandlers(definition),
    })),
    static: modules.flatMap((mod) =>
      (Array.isArray(mod.static) ? mod.static : []).map((route) => ({
        prefix: String(route.prefix),
        dir: String(route.dir),
        module: mod.module.name,
      })),
    ),
  };
}

/** `public` for `false`; otherwise the function's name, so `security: usernamePassword` reads as such. */
export function securityName(security: Security): string {
  if (security === false) return 'public';
  return security.name || '(anonymous)';
}

function gatewayHandlers(definition: GatewayDefinition): string[] {
  const handlers: string[] = [];
  if (definition.hasInit) handlers.push('init');
  if (definition.text) handlers.push(`text → ${definition.text}`);
  if (definition.binary) handlers.push(`binary → ${definition.binary}`);
  for (const [event, handlerName] of definition.events) handlers.push(`event ${JSON.stringify(event)} → ${handlerName}`);
  for (const info of definition.infos) handlers.push(`info ${describeFilter(info.filter)} → ${info.handlerName}`);
  if (definition.hasTerminate) handlers.push('terminate');
  return handlers;
}

function describeFilter(filter: Readonly<Record<string, unknown>> | undefined): string {
  const entries = Object.entries(filter ?? {});
  if (entries.length === 0) return '*';
  return entries.map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join(' ');
}
