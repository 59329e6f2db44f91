// The `ok` and `view` result handlers (Nova's `{ok, Vars}` and `{view, Name, Vars}`): render a
// template through the app's engine and answer HTML. A missing template is a 500 whose message
// names the file looked for; clients see that message only when NODE_ENV=development.
import type { Context } from 'koa';
import { ConfigError, describeValue } from '../app/errors.js';
import type { Class } from '../di/token.js';
import type { HandlerRegistry } from '../http/handler-registry.js';
import { HttpError } from '../http/http-error.js';
import { requestInfo } from '../http/request-info.js';
import type { OkOptions, ViewOptions } from '../http/results.js';
import { liquidEngine } from './liquid-engine.js';
import { invalidViewName, ViewNotFoundError, type ViewEngine } from './view-engine.js';

const FIX_NAME = 'create that template or correct the view name.';
const FIX_DEFAULT = "create that template, or name another view with ok(vars, { view: 'folder/name' }).";

/** `bootstrap(AppModule, { views })`. */
export interface ViewsOptions {
  /** The views directory, relative to `process.cwd()` (resolved once, at bootstrap). Default `views`. */
  dir?: string;
  /** Template file extension for the default engine. Default `liquid`. */
  extension?: string;
  /** Another engine instead of LiquidJS; it then owns its directory and extension. */
  engine?: ViewEngine;
}

/**
 * The view an `ok()` renders when it names none: the class name without a trailing `Controller`,
 * in kebab-case, then the method name as it is. `BlogPostsController.show` → `blog-posts/show`.
 */
export function defaultViewName(controller: Class, handlerName: string): string {
  const name = controller.name;
  const base = name.endsWith('Controller') && name !== 'Controller' ? name.slice(0, -'Controller'.length) : name;
  const folder = base
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
  return `${folder}/${handlerName}`;
}

/**
 * Registers `ok` and `view` on `registry`, rendering with `options.engine` or a LiquidJS engine on
 * `options.dir`, which caches templates unless NODE_ENV=development. A missing directory is not an
 * error here: an app without templates never renders one.
 */
export function registerViewHandlers(registry: HandlerRegistry, options: ViewsOptions = {}): void {
  const development = process.env.NODE_ENV === 'development';
  const engine = options.engine ?? liquidEngine({ dir: options.dir ?? 'views', extension: options.extension, cache: !development });
  if (typeof engine?.render !== 'function') {
    throw new ConfigError(`bootstrap views.engine must be an object with render(name, vars) returning Promise<string>, got ${describeValue(engine)}.`);
  }
  if (options.engine && (options.dir !== undefined || options.extension !== undefined)) {
    throw new ConfigError(
      'bootstrap views: dir and extension configure the default LiquidJS engine and are unused with views.engine; pass them to your engine instead.',
    );
  }

  const render = async (ctx: Context, name: unknown, vars: Record<string, unknown>, options: ViewOptions, asked: string, fix = FIX_NAME) => {
    const where = renderingFor(ctx);
    const reason = invalidViewName(name);
    if (reason !== undefined || typeof name !== 'string') {
      throw new HttpError(500, `${where} returned ${asked} with view name ${JSON.stringify(name)}, which is refused: ${reason}.`, {
        expose: development,
      });
    }
    // The app's own variables win, as Django's view context wins over its context processors.
    const token: unknown = ctx.state.csrfToken;
    const locals = typeof token === 'string' ? { csrf_token: token, ...vars } : vars;
    let html: string;
    try {
      html = await engine.render(name, locals);
    } catch (error) {
      if (!(error instanceof ViewNotFoundError)) throw error;
      throw new HttpError(500, `${error.message} ${where} returned ${asked}; ${fix}`, { expose: development, cause: error });
    }
    // Set only once the template rendered, so a failure leaves no half-built response.
    ctx.status = options.status ?? requestInfo(ctx).renderingStatus ?? 200;
    ctx.type = 'text/html; charset=utf-8';
    if (options.headers) ctx.set(options.headers);
    ctx.body = html;
  };

  const ok = (ctx: Context, vars: unknown = {}, options: OkOptions = {}) => {
    checkVars(ctx, 'ok', vars);
    if (options.view !== undefined) return render(ctx, options.view, vars, options, `ok(vars, { view: ${JSON.stringify(options.view)} })`);
    const source = requestInfo(ctx).renderingFor;
    if (!source) throw new Error('ok() was rendered outside a controller method, so it has no default view; return view(name, vars) instead.');
    const name = defaultViewName(source.controller, source.handlerName);
    return render(ctx, name, vars, options, 'ok(), which renders the view named after its controller and method', FIX_DEFAULT);
  };
  const view = (ctx: Context, name: unknown, vars: unknown = {}, options: ViewOptions = {}) => {
    checkVars(ctx, 'view', vars);
    return render(ctx, name, vars, options, `view(${JSON.stringify(name)})`);
  };

  registry.register('ok', ok, 'Vela (built-in)');
  registry.register('view', view, 'Vela (built-in)');
}

function checkVars(ctx: Context, helper: string, vars: unknown): asserts vars is Record<string, unknown> {
  if (typeof vars === 'object' && vars !== null && !Array.isArray(vars)) return;
  throw new TypeError(`${renderingFor(ctx)} returned ${helper}() with template variables ${describeValue(vars)}; pass an object such as { user }.`);
}

function renderingFor(ctx: Context): string {
  const source = requestInfo(ctx).renderingFor;
  return source ? `${source.controller.name}.${source.handlerName}` : 'The app';
}
