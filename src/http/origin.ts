// Origins as browsers write them in the `Origin` header (scheme://host[:port]): parsing one, the
// origin a request was served from, a configured list of allowed origins, and redirect targets kept
// on this site. cors(), the WebSocket origin check and redirect() all read an origin here, the same way.
import type { Context } from 'koa';
import { ConfigError, describeValue } from '../app/errors.js';

/** `text` as an origin (scheme://host[:port], normalised), or undefined when it is not one. */
export function originOf(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.origin === 'null' ? undefined : url.origin;
  } catch {
    return undefined;
  }
}

/**
 * The origin the request was served from: scheme and host as Koa sees them (behind a proxy, with
 * `app.koa.proxy`, from X-Forwarded-Proto/Host), default ports and case normalised. Undefined
 * without a usable Host header.
 */
export function ownOrigin(ctx: Context): string | undefined {
  return ctx.host ? originOf(`${ctx.protocol}://${ctx.host}`) : undefined;
}

/**
 * A configured list of origins allowed in: `'*'` for any, or origins written exactly as browsers
 * send them, scheme://host[:port], lower-case, nothing more. An entry with a path or a trailing
 * slash would never match and silently refuse the site it was meant for, and `'*'` inside a list
 * would read as an origin that never matches, or as "all" hidden among a few: both are refused.
 * `where` names the option, e.g. `ChatGateway: @WebSocket origins` or `cors({ origins }): origins`.
 */
export function allowedOrigins(origins: unknown, where: string): ReadonlySet<string> | '*' {
  if (origins === '*') return '*';
  if (!Array.isArray(origins)) {
    throw new ConfigError(`${where} must be a list of origins, e.g. ['https://app.example.com'], or '*' for any, got ${describeValue(origins)}.`);
  }
  for (const origin of origins as unknown[]) {
    if (origin === '*') {
      throw new ConfigError(`${where} lists '*': write origins: '*' (not in a list) to accept every origin, or list origins only.`);
    }
    if (typeof origin !== 'string' || originOf(origin) !== origin) {
      throw new ConfigError(
        `${where} entry ${describeValue(origin)} is not an origin: write scheme, host and port only, ` +
          `e.g. 'https://app.example.com' (lower-case, no path, no trailing slash).`,
      );
    }
  }
  return new Set(origins as string[]);
}

/** Any absolute URL resolves to another origin than this one, which no request can name. */
const PROBE = 'http://same-origin.invalid';

/**
 * Against open redirects: `redirect(ctx.query.next)` sends the browser wherever the link says, so
 * a phishing link on the app's own domain can land on evil.example. This parses as browsers do
 * (WHATWG URL), since the tricks are in the parsing: `//host` and `/\host` are other hosts,
 * `https:host` is absolute, tabs and newlines are dropped, and `/..//host` normalises to `//host`.
 *
 * Returns `url` when it is a path on this site (`/posts/1?tab=2#top`), normalised, else `fallback`. Refused:
 * anything a browser would take elsewhere — `//evil.example`, `/\evil.example`, `https:evil.example`,
 * `javascript:…` — every absolute URL, even to this host (behind a proxy the app cannot know its
 * public origin), and whatever is not a string (a repeated query parameter is an array).
 *
 * @example return redirect(sameOrigin(ctx.query.next));                 // '/' unless next is a local path
 * @example return redirect(sameOrigin(ctx.request.body.returnTo, '/home'));
 */
export function sameOrigin(url: unknown, fallback = '/'): string {
  if (typeof url !== 'string' || !url.startsWith('/')) return fallback;
  let parsed: URL;
  try {
    parsed = new URL(url, PROBE);
  } catch {
    return fallback;
  }
  if (parsed.origin !== PROBE) return fallback;
  const path = parsed.pathname + parsed.search + parsed.hash;
  // `/..//evil.example` normalises to `//evil.example`, which a browser reads as a host.
  return path.startsWith('//') ? fallback : path;
}
