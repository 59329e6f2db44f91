// Origins as browsers write them in the `Origin` header (scheme://host[:port]): parsing a
// configured entry, and the origin a request was served from. Shared by cors() and the WebSocket
// origin check, so both read an origin the same way.
import type { Context } from 'koa';

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
