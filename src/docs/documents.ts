// Both API documents of an app, built from the route and gateway tables, once: at bootstrap when
// `docs` is on, and by `vela docs`. Exported as `apiDocuments(AppModule)` for tools and tests.
import { loadModules } from '../app/module.js';
import type { Class } from '../di/token.js';
import { buildRouteTable, type RouteDefinition } from '../http/route-table.js';
import { buildGatewayTable, type GatewayDefinition } from '../ws/gateway-table.js';
import { asyncApiDocument } from './asyncapi.js';
import { docsSettings, type DocsOptions, type DocsSettings } from './docs-options.js';
import type { JsonSchema } from './json-schema.js';
import { openApiDocument } from './openapi.js';
import { SecuritySchemes } from './security-schemes.js';

export interface ApiDocuments {
  /** OpenAPI 3.1: the HTTP routes. */
  openapi: JsonSchema;
  /** AsyncAPI 3.0: the WebSocket gateways. */
  asyncapi: JsonSchema;
}

/** The documents of the tables bootstrap built; a ConfigError for a schema or setting they cannot take. */
export function buildApiDocuments(routes: readonly RouteDefinition[], gateways: readonly GatewayDefinition[], settings: DocsSettings, where = 'bootstrap docs'): ApiDocuments {
  new SecuritySchemes(settings.securitySchemes).checkDeclared([...routes, ...gateways].map((entry) => entry.security), where);
  return { openapi: openApiDocument(routes, settings), asyncapi: asyncApiDocument(gateways, settings) };
}

/**
 * The documents of the app rooted at `root`, without starting it: through the same tables and
 * checks as bootstrap, so an app bootstrap would refuse is refused here with the same message.
 * `options` is what `bootstrap({ docs })` takes (its path does not matter here).
 *
 * @example
 * const { openapi, asyncapi } = apiDocuments(AppModule, { info: { title: 'Blog', version: '1.0.0' } });
 */
export function apiDocuments(root: Class, options: string | DocsOptions = {}): ApiDocuments {
  const modules = loadModules(root);
  const settings = docsSettings(options, root.name, 'docs')!;
  return buildApiDocuments(buildRouteTable(modules).routes, buildGatewayTable(modules), settings, 'docs');
}
