// bootstrap({ docs }) serves the API documents at `<path>/openapi.json` and `<path>/asyncapi.json`:
// built once at bootstrap (a schema the documents cannot take fails it, not the first reader) and
// answered before sessions, like /vela/client.js: the same public file for everyone, no cookie.
import type { Middleware } from 'koa';
import { match } from 'path-to-regexp';
import { ConfigError } from '../app/errors.js';
import type { RouteDefinition } from '../http/route-table.js';
import type { ApiDocuments } from './documents.js';
import type { DocsSettings } from './docs-options.js';

/** The URLs of the documents under the docs path. */
export function docsUrls(settings: DocsSettings): { openapi: string; asyncapi: string } {
  return { openapi: `${settings.path}/openapi.json`, asyncapi: `${settings.path}/asyncapi.json` };
}

/**
 * Answers GET and HEAD for both documents with `application/json`. A GET route that would answer
 * the same URL fails bootstrap: the documents would hide it.
 */
export function serveDocs(documents: ApiDocuments, settings: DocsSettings, routes: readonly RouteDefinition[]): Middleware {
  const urls = docsUrls(settings);
  const served = new Map<string, string>([
    [urls.openapi, JSON.stringify(documents.openapi, null, 2)],
    [urls.asyncapi, JSON.stringify(documents.asyncapi, null, 2)],
  ]);
  for (const route of routes) {
    if (!route.httpMethods.includes('GET')) continue;
    const matches = match(route.path);
    for (const url of served.keys()) {
      if (matches(url)) {
        throw new ConfigError(
          `bootstrap docs serves ${url}, which ${route.controller.name}.${route.handlerName} (GET ${route.path}) answers too: ` +
            `move the documents (docs: '/api-docs') or the route.`,
        );
      }
    }
  }
  return async (ctx, next) => {
    const body = ctx.method === 'GET' || ctx.method === 'HEAD' ? served.get(ctx.path) : undefined;
    if (body === undefined) return next();
    ctx.type = 'application/json; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = body;
  };
}
