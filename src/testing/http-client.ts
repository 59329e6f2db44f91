// app.http: fetch against the app under test with a browser's cookie jar, JSON bodies in, and
// redirects handed back rather than followed, so a test can assert where they point.
import type { CookieJar } from './cookie-jar.js';

export interface RequestOptions {
  /** Extra request headers. A `cookie` header given here is sent instead of the jar's cookies. */
  headers?: Record<string, string>;
}

/**
 * HTTP against a test app, as one browser: cookies the app sets are kept and sent back (also on
 * `app.ws` upgrades). Every method returns the fetch `Response`; a redirect is returned as it is
 * (a 3xx with `location`), not followed.
 *
 * @example
 * await app.http.post('/api/login', { name: 'ada' });     // sets the session cookie
 * const me = await app.http.get('/api/me');               // sends it back
 * expect(await me.json()).toEqual({ name: 'ada' });
 */
export interface HttpClient {
  get(path: string, options?: RequestOptions): Promise<Response>;
  delete(path: string, options?: RequestOptions): Promise<Response>;
  /** `body`, when given, is sent as JSON (`content-type: application/json`). */
  post(path: string, body?: unknown, options?: RequestOptions): Promise<Response>;
  put(path: string, body?: unknown, options?: RequestOptions): Promise<Response>;
  patch(path: string, body?: unknown, options?: RequestOptions): Promise<Response>;
  /** POSTs `fields` urlencoded, as an HTML form does. */
  form(path: string, fields: Record<string, string> | URLSearchParams, options?: RequestOptions): Promise<Response>;
  /** Any other request (a text or multipart body, HEAD, OPTIONS), cookies kept all the same. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The value of a cookie the app has set, e.g. `app.http.cookie('session_id')`. */
  cookie(name: string): string | undefined;
  /** Forgets every cookie: the next request starts a new session, as a fresh browser would. */
  clearCookies(): void;
}

export class FetchClient implements HttpClient {
  readonly #origin: string;
  readonly #jar: CookieJar;
  // One per response the test holds. app.close() cuts them: a body the test never read (a large
  // file, an endless stream) would otherwise hold the server's graceful shutdown. A request still
  // waiting for its response is left to finish, as the app lets in-flight requests finish.
  readonly #responses = new Set<AbortController>();
  #closed = false;

  constructor(origin: string, jar: CookieJar) {
    this.#origin = origin;
    this.#jar = jar;
  }

  get(path: string, options: RequestOptions = {}): Promise<Response> {
    return this.fetch(path, { method: 'GET', headers: options.headers });
  }

  delete(path: string, options: RequestOptions = {}): Promise<Response> {
    return this.fetch(path, { method: 'DELETE', headers: options.headers });
  }

  post(path: string, body?: unknown, options?: RequestOptions): Promise<Response> {
    return this.#json('POST', path, body, options);
  }

  put(path: string, body?: unknown, options?: RequestOptions): Promise<Response> {
    return this.#json('PUT', path, body, options);
  }

  patch(path: string, body?: unknown, options?: RequestOptions): Promise<Response> {
    return this.#json('PATCH', path, body, options);
  }

  form(path: string, fields: Record<string, string> | URLSearchParams, options: RequestOptions = {}): Promise<Response> {
    return this.fetch(path, {
      method: 'POST',
      headers: withDefault(options.headers, 'content-type', 'application/x-www-form-urlencoded'),
      body: new URLSearchParams(fields).toString(),
    });
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const method = init.method ?? 'GET';
    if (this.#closed) throw new Error(`app.http: ${method} ${path} after app.close()`);
    const url = new URL(path, this.#origin);
    const ours = url.origin === this.#origin;
    const headers = new Headers(init.headers);
    const cookie = ours && !headers.has('cookie') ? this.#jar.header(url) : undefined;
    if (cookie) headers.set('cookie', cookie);
    const controller = new AbortController();
    let response: Response;
    try {
      response = await fetch(url, { redirect: 'manual', ...init, headers, signal: init.signal ?? controller.signal });
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      throw new Error(`app.http: ${method} ${path} failed: ${cause}`, { cause: error });
    }
    if (ours) this.#jar.store(response.headers.getSetCookie(), url);
    if (!this.#closed) this.#responses.add(controller);
    return response;
  }

  cookie(name: string): string | undefined {
    return this.#jar.get(name);
  }

  clearCookies(): void {
    this.#jar.clear();
  }

  /** Cuts the responses received so far (their unread bodies are lost); later calls fail. */
  close(): void {
    this.#closed = true;
    for (const controller of this.#responses) controller.abort();
    this.#responses.clear();
  }

  #json(method: string, path: string, body: unknown, options: RequestOptions = {}): Promise<Response> {
    if (body === undefined) return this.fetch(path, { method, headers: options.headers });
    return this.fetch(path, {
      method,
      headers: withDefault(options.headers, 'content-type', 'application/json'),
      body: JSON.stringify(body),
    });
  }
}

/** The caller's headers, plus `name: value` unless they set it themselves (in any case). */
function withDefault(given: Record<string, string> | undefined, name: string, value: string): Headers {
  const headers = new Headers(given);
  if (!headers.has(name)) headers.set(name, value);
  return headers;
}
