// Results are Nova's return tuples: a tag naming the handler that renders it, then its payload.
// Helpers only build tuples, so `['json', body]` written by hand means exactly the same thing.

/** Any tagged tuple; the tag selects a registered result handler. */
export type Result = readonly [tag: string, ...payload: unknown[]];

export interface JsonOptions {
  /** Default: 201 for POST, 200 otherwise. */
  status?: number;
  headers?: Record<string, string>;
}
export interface StatusOptions {
  headers?: Record<string, string>;
  /** An object is sent as JSON, a string as text. */
  body?: unknown;
}
export interface RedirectOptions {
  /** Default 302. */
  status?: number;
}

export type JsonResult = readonly ['json', unknown, JsonOptions?];
export type StatusResult = readonly ['status', number, StatusOptions?];
export type RedirectResult = readonly ['redirect', string, RedirectOptions?];

export interface ViewOptions {
  /** Default 200 (a status route: the status it renders). */
  status?: number;
  /** Set after `Content-Type: text/html; charset=utf-8`, so a `Content-Type` here wins. */
  headers?: Record<string, string>;
}
export interface OkOptions extends ViewOptions {
  /** Renders this view (relative to the views dir, e.g. `posts/list`) instead of the default one. */
  view?: string;
}

export type OkResult = readonly ['ok', Record<string, unknown>, OkOptions?];
export type ViewResult = readonly ['view', string, Record<string, unknown>, ViewOptions?];

/**
 * JSON response.
 * @example return json(user);                       // 200, or 201 for a POST
 * @example return json(errors, { status: 422 });
 */
export function json(body: unknown, options?: JsonOptions): JsonResult {
  return options ? ['json', body, options] : ['json', body];
}

/**
 * A bare status, optionally with headers and a body.
 * @example return status(204);
 * @example return status(403, { body: { error: 'forbidden' } });
 */
export function status(code: number, options?: StatusOptions): StatusResult {
  return options ? ['status', code, options] : ['status', code];
}

/**
 * Redirect with `Location`.
 * @example return redirect('/login');
 */
export function redirect(url: string, options?: RedirectOptions): RedirectResult {
  return options ? ['redirect', url, options] : ['redirect', url];
}

/**
 * Renders the controller's default view with `vars`: `UsersController.show` renders `users/show`
 * (`views/users/show.liquid`), `BlogPostsController.index` renders `blog-posts/index`.
 * @example return ok({ user });
 * @example return ok({ posts }, { view: 'posts/list', status: 200 });
 */
export function ok(vars: Record<string, unknown> = {}, options?: OkOptions): OkResult {
  return options ? ['ok', vars, options] : ['ok', vars];
}

/**
 * Renders the named view (relative to the views dir, no extension) with `vars`.
 * @example return view('errors/gone', { id }, { status: 410 });
 */
export function view(name: string, vars: Record<string, unknown> = {}, options?: ViewOptions): ViewResult {
  return options ? ['view', name, vars, options] : ['view', name, vars];
}

export interface SendfileOptions {
  /**
   * The directory `path` is looked up in; the file is never served from outside it (`..`, a leading
   * `/`, symlinks whose target is elsewhere). Relative to `process.cwd()`, which is also the default.
   */
  root?: string;
  /** Overrides the type guessed from the extension: a MIME type or an extension, as Koa's `ctx.type`. */
  contentType?: string;
  /**
   * Replaces the 200 of a whole file (a status route's own status by default). A 206 or 304 keeps its
   * status; with a status outside 2xx the file is always sent whole, without ETag or Last-Modified.
   */
  status?: number;
  /** Set last, so they win: `Content-Disposition`, `Cache-Control` (none by default). */
  headers?: Record<string, string>;
}

export type SendfileResult = readonly ['sendfile', string, SendfileOptions?];

/**
 * Streams a file, with Content-Type, Content-Length, ETag, Last-Modified, Range and HEAD.
 * A missing file is a 404; a path that would leave `root` is refused (403 for `..`, else 404).
 * @example return sendfile(`${ctx.params.id}.pdf`, { root: 'invoices' });
 * @example return sendfile('maintenance.html', { root: 'public', status: 503 });
 */
export function sendfile(path: string, options?: SendfileOptions): SendfileResult {
  return options ? ['sendfile', path, options] : ['sendfile', path];
}

/** A tuple whose first element is a string: the shape every result has. */
export function isTagged(value: unknown): value is Result {
  return Array.isArray(value) && value.length > 0 && typeof value[0] === 'string';
}
