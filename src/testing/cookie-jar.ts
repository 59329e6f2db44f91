// The cookies of one origin, kept as a browser keeps them for the app under test: enough of
// RFC 6265 for what a server sends (name=value, Path, Max-Age, Expires), without the Domain and
// public-suffix rules a jar for the whole web needs — every request goes to the same host.

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  /** Epoch ms after which the cookie is gone; none for a session cookie. */
  expires?: number;
}

export class CookieJar {
  // Keyed by name and path: a cookie set again on the same path replaces the old one (RFC 6265 §5.3).
  readonly #cookies = new Map<string, StoredCookie>();

  /** Takes the `Set-Cookie` headers of a response to `url`. */
  store(setCookies: readonly string[], url: URL): void {
    const now = Date.now();
    for (const header of setCookies) {
      const cookie = parseSetCookie(header, url, now);
      if (!cookie) continue;
      const key = `${cookie.name}\n${cookie.path}`;
      if (cookie.expires !== undefined && cookie.expires <= now) this.#cookies.delete(key);
      else this.#cookies.set(key, cookie);
    }
  }

  /** The `Cookie` header a browser would send to `url`, or undefined when no cookie applies. */
  header(url: URL): string | undefined {
    const cookies = this.#live().filter((cookie) => pathMatches(url.pathname, cookie.path));
    // Longer paths first, as browsers send them (RFC 6265 §5.4).
    cookies.sort((a, b) => b.path.length - a.path.length);
    return cookies.length > 0 ? cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ') : undefined;
  }

  /** The value of the cookie called `name` (of any path), if the jar holds one. */
  get(name: string): string | undefined {
    return this.#live().find((cookie) => cookie.name === name)?.value;
  }

  clear(): void {
    this.#cookies.clear();
  }

  #live(): StoredCookie[] {
    const now = Date.now();
    for (const [key, cookie] of this.#cookies) {
      if (cookie.expires !== undefined && cookie.expires <= now) this.#cookies.delete(key);
    }
    return [...this.#cookies.values()];
  }
}

function parseSetCookie(header: string, url: URL, now: number): StoredCookie | undefined {
  const [pair = '', ...attributes] = header.split(';');
  const eq = pair.indexOf('=');
  // A cookie without a name is ignored, as most browsers do.
  if (eq <= 0) return undefined;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  if (!name) return undefined;

  let path: string | undefined;
  let expires: number | undefined;
  let maxAge: number | undefined;
  for (const attribute of attributes) {
    const at = attribute.indexOf('=');
    const key = (at < 0 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
    const argument = at < 0 ? '' : attribute.slice(at + 1).trim();
    if (key === 'path' && argument.startsWith('/')) path = argument;
    else if (key === 'max-age' && /^-?\d+$/.test(argument)) maxAge = Number(argument);
    else if (key === 'expires' && !Number.isNaN(Date.parse(argument))) expires = Date.parse(argument);
  }
  // Max-Age wins over Expires (RFC 6265 §5.3 step 3); zero or less deletes the cookie.
  if (maxAge !== undefined) expires = maxAge <= 0 ? 0 : now + maxAge * 1000;
  return { name, value, path: path ?? defaultPath(url.pathname), expires };
}

/** RFC 6265 §5.1.4: the request path up to, not including, its last `/`. */
function defaultPath(requestPath: string): string {
  const last = requestPath.lastIndexOf('/');
  return last <= 0 ? '/' : requestPath.slice(0, last);
}

/** RFC 6265 §5.1.4: `/docs` matches `/docs` and `/docs/x`, not `/docsx`. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}
