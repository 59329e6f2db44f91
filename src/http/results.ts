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

/** A tuple whose first element is a string: the shape every result has. */
export function isTagged(value: unknown): value is Result {
  return Array.isArray(value) && value.length > 0 && typeof value[0] === 'string';
}
