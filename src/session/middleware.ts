// Gives every client a session: reads the session cookie, trusts it only if the store knows it, and
// otherwise starts a new session under a new random id. Runs on HTTP requests and on WebSocket
// upgrade requests alike; only `ctx.cookies` and the store are touched.
import { randomBytes } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { ConfigError } from '../errors.js';
import { memorySessionStore } from './memory-store.js';
import { RequestSession } from './session.js';
import type { SessionData, SessionStore } from './store.js';
import { isToken } from '../http/token.js';

export interface SessionOptions {
  /** Where sessions live. Default: a memory store (this process only, 100 000 sessions at most). */
  store?: SessionStore;
  /** How long a session outlives its client's last request, in ms (sliding). Default 24 hours. */
  ttl?: number;
  /** The cookie's name. Default 'session_id'. */
  cookie?: string;
}

const DAY = 24 * 60 * 60 * 1000;
/** 24 random bytes: 192 bits, exactly 32 base64url characters with no padding. */
const ID_BYTES = 24;
const ID_SHAPE = /^[A-Za-z0-9_-]{32}$/;

const sessions = new WeakMap<Context, RequestSession>();

type CookieOptions = NonNullable<Parameters<Context['cookies']['set']>[2]>;

/**
 * Sessions for every request. A cookie is sent only when a session starts (and cleared when it is
 * destroyed): `HttpOnly`, `SameSite=Lax`, `Path=/`, no expiry (gone when the browser closes), and
 * `Secure` on HTTPS requests. Behind a TLS-terminating proxy set `app.koa.proxy = true`, so that
 * Koa believes the proxy's `X-Forwarded-Proto` and the cookie is marked Secure.
 *
 * An id the store does not know (forged, expired, destroyed, from another app) is never reused:
 * the client gets a new session under a new id. A failing store fails the request with 500.
 * What a request changed is written at its end, whole, and only over a session that still exists
 * (`SessionStore.update`): a request still running when its session was destroyed cannot revive it.
 *
 * @example
 * const store = memorySessionStore();
 * await bootstrap(AppModule, { middleware: [sessionMiddleware({ store, ttl: 60 * 60 * 1000 })] });
 */
export function sessionMiddleware(options: SessionOptions = {}): Middleware {
  const { store = memorySessionStore(), ttl = DAY, cookie = 'session_id' } = options;
  if (!Number.isSafeInteger(ttl) || ttl < 1) {
    throw new ConfigError(
      `sessionMiddleware({ ttl: ${String(ttl)} }): ttl must be a positive whole number of milliseconds, e.g. 86_400_000 for 24 hours.`,
    );
  }
  if (typeof cookie !== 'string' || !isToken(cookie)) {
    throw new ConfigError(
      `sessionMiddleware({ cookie: ${JSON.stringify(cookie)} }): a cookie name is letters, digits and !#$%&'*+-.^_\`|~ only, e.g. 'session_id'.`,
    );
  }
  const call = storeCaller(store);
  // Only over a session that still exists: a request that was running when another one destroyed
  // (logged out) or regenerated the session must not write it back. Whatever it changed is dropped.
  const update = (id: string, data: SessionData): Promise<unknown> =>
    store.update ? store.update(id, data, ttl) : store.save(id, data, ttl);

  return async (ctx, next) => {
    const presented = ctx.cookies.get(cookie, { signed: false });
    // Only an id of the shape Vela makes reaches the store: junk costs no lookup.
    const stored = presented !== undefined && ID_SHAPE.test(presented) ? await call('load', () => store.load(presented)) : undefined;
    const isNew = stored === undefined;
    const id = isNew ? newId() : presented!;
    const session = new RequestSession(id, stored ?? {}, isNew, {
      destroy: async (current) => {
        await call('destroy', () => store.destroy(current));
        ctx.cookies.set(cookie, null, cookieOptions(ctx));
      },
      regenerate: async (current, data) => {
        const next = newId();
        // The new id first: should the destroy fail, the client still holds a working session.
        await call('save', () => store.save(next, data, ttl));
        await call('destroy', () => store.destroy(current));
        ctx.cookies.set(cookie, next, cookieOptions(ctx));
        return next;
      },
    });
    sessions.set(ctx, session);
    ctx.state.session = session;

    if (isNew) {
      // Saved before the handler runs: a WebSocket opened by this very response can count on it.
      await call('save', () => store.save(id, {}, ttl));
      ctx.cookies.set(cookie, id, cookieOptions(ctx));
    }

    await next();

    // A request that failed saves nothing: its changes may be half made.
    if (session.destroyed) return;
    // session.id, not id: regenerate() may have moved it.
    if (session.changed) await call('update', () => update(session.id, session.data()));
    else if (!isNew) await call('touch', () => store.touch(session.id, ttl));
  };
}

function newId(): string {
  return randomBytes(ID_BYTES).toString('base64url');
}

/**
 * The session id of a request that went through sessionMiddleware, or undefined (no session
 * middleware, or the session was destroyed). For code that has the context but not the state,
 * such as the WebSocket upgrade setting `conn.sessionId`.
 */
export function sessionIdOf(ctx: Context): string | undefined {
  const session = sessions.get(ctx);
  return session && !session.destroyed ? session.id : undefined;
}

function cookieOptions(ctx: Context): CookieOptions {
  // Koa refuses a Secure cookie on a request it does not see as HTTPS, so follow ctx.secure.
  // overwrite: a session started and destroyed in one request sends only the clearing cookie.
  return { httpOnly: true, sameSite: 'lax', path: '/', secure: ctx.secure, overwrite: true, signed: false };
}

/** Runs a store operation; a failure becomes an error naming the store and the operation. */
function storeCaller(store: SessionStore) {
  return async <T>(operation: 'load' | 'save' | 'update' | 'touch' | 'destroy', run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `Session store '${store.name}' failed in ${operation}(): ${reason.replace(/\.$/, '')}. Requests that need a session fail with 500 until the store answers again.`,
        { cause: error },
      );
    }
  };
}
