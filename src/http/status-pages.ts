// Nova's status routes: the page for an error status comes from `@Route(404)`-style methods. The
// controller that took the request wins; then the status route with the longest matching prefix
// (a controller without prefix covers the whole app); then a plain page that follows `Accept`.
import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import type { Context } from 'koa';
import type { Container } from '../di/container.js';
import type { Logger } from '../logging/logger.js';
import { HttpError } from './http-error.js';
import type { ResultRenderer } from './renderer.js';
import { requestInfo } from './request-info.js';
import type { StatusRouteDefinition } from './route-table.js';
import { InvalidRequestError } from './route-input.js';
import { summarize } from '../validation/validate.js';

export interface StatusPagesOptions {
  statusRoutes: readonly StatusRouteDefinition[];
  container: Container;
  renderer: ResultRenderer;
  logger: Logger;
  /** Show error messages and stack traces to clients (NODE_ENV=development). */
  development: boolean;
}

export class StatusPages {
  readonly #options: StatusPagesOptions;

  constructor(options: StatusPagesOptions) {
    this.#options = options;
  }

  /** Renders `error` as the response: its status route if one applies, else the default page. */
  async render(ctx: Context, error: HttpError): Promise<void> {
    const route = this.#find(ctx, error.status);
    if (route && (await this.#renderRoute(ctx, error, route))) return;
    this.#renderDefault(ctx, error);
  }

  #find(ctx: Context, status: number): StatusRouteDefinition | undefined {
    const candidates = this.#options.statusRoutes.filter((r) => r.status === status);
    const own = requestInfo(ctx).route?.controller;
    return (
      candidates.find((r) => r.controller === own) ??
      candidates
        .filter((r) => r.prefix === '' || ctx.path === r.prefix || ctx.path.startsWith(`${r.prefix}/`))
        .sort((a, b) => b.prefix.length - a.prefix.length)[0]
    );
  }

  /** False when the status route itself failed or produced no body, so the default page is used. */
  async #renderRoute(ctx: Context, error: HttpError, route: StatusRouteDefinition): Promise<boolean> {
    const info = requestInfo(ctx);
    info.renderingStatus = error.status;
    // A status route that fails half-way must not leave its headers on the default page.
    const headersBefore = ctx.res.getHeaders();
    try {
      ctx.status = error.status;
      ctx.set(error.headers);
      const controller = this.#options.container.get<Record<string, (...a: unknown[]) => unknown>>(route.controller);
      const returned = await controller[route.handlerName]!(ctx, error);
      await this.#options.renderer.render(ctx, returned, route);
      return ctx.body != null;
    } catch (failure) {
      this.#options.logger.error('status route failed', {
        method: ctx.method,
        path: ctx.path,
        status: error.status,
        controller: `${route.controller.name}.${route.handlerName}`,
        error: failure,
      });
      restoreHeaders(ctx, headersBefore);
      return false;
    } finally {
      info.renderingStatus = undefined;
    }
  }

  #renderDefault(ctx: Context, error: HttpError): void {
    const { development } = this.#options;
    const title = STATUS_CODES[error.status] ?? `HTTP ${error.status}`;
    // Invalid input is answered with what to fix (the issues), the same in every mode, and no stack:
    // the client's mistake, not the server's.
    const issues = error instanceof InvalidRequestError ? error.issues : undefined;
    const message = issues ? 'invalid request' : error.expose || development ? error.message : title;
    const stack = development && !issues ? errorStack(error) : undefined;
    ctx.status = error.status;
    ctx.set(error.headers);
    if (ctx.accepts('json', 'html') === 'html') {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body =
        `<!doctype html><html><head><meta charset="utf-8"><title>${error.status} ${escapeHtml(title)}</title></head>` +
        `<body><h1>${error.status} ${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>` +
        (issues ? `<ul>${issues.map((issue) => `<li>${escapeHtml(summarize([issue]))}</li>`).join('')}</ul>` : '') +
        (stack ? `<pre>${escapeHtml(stack)}</pre>` : '') +
        `</body></html>`;
    } else {
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(issues ? { error: message, issues } : { error: message, status: error.status, ...(stack ? { stack } : {}) });
    }
  }
}

function restoreHeaders(ctx: Context, headers: OutgoingHttpHeaders): void {
  for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) ctx.res.setHeader(name, value);
}

/** The stack of what was really thrown, not of the HttpError wrapping it. */
function errorStack(error: HttpError): string | undefined {
  const cause = error.cause instanceof Error ? error.cause : error;
  return cause.stack;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
