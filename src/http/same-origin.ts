// Open redirects: `redirect(ctx.query.next)` sends the browser wherever the link says, so a
// phishing link on the app's own domain can land on evil.example. sameOrigin keeps only paths of
// this site. It parses as browsers do (WHATWG URL), since the tricks are in the parsing: `//host`
// and `/\host` are other hosts, `https:host` is absolute, tabs and newlines are dropped, and
// `/..//host` normalises to `//host`.

/** Any absolute URL resolves to another origin than this one, which no request can name. */
const PROBE = 'http://same-origin.invalid';

/**
 * `url` when it is a path on this site (`/posts/1?tab=2#top`), normalised, else `fallback`. Refused:
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
