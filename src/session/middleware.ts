// Gives every client a session, lazily: reads the signed session cookie, trusts the id if its
// signature holds, and loads its data; a client without one gets an id (and the cookie) only when
// its request needs one. Nothing is stored until a request writes, so anonymous visitors cost
// nothing. Runs on HTTP requests and on WebSocket upgrade requests alike.
import type { Context, Middleware } from 'koa';
import { ConfigError } from '../app/errors.js';
import { memorySessionStore } from './memory-store.js';
import { RequestSession, type SessionHooks } from './session.js';
import { newSessionId, signedIds, type SessionSecret, type SignedIds } from './signed-id.js';
import type { SessionData, SessionStore } from './store.js';
import { isToken } from '../http/header-token.js';

export interface SessionOptions {
  /** Where sessions live. Default: a memory store (this process only, 100 000 sessions at most). */
  store?: SessionStore;
  /** How long a session outlives its client's last request, in ms (sliding). Default 24 hours. */
  ttl?: number;
  /** The cookie's name. Default 'session_id'. */
  cookie?: string;
  /**
   * Signs the session cookie: 32 characters or more, or a list of them, newest first (the first
   * signs, every one is accepted, and a cookie signed with an older one is signed again with the
   * first). Default: the store's own (`SessionStore.secret()`): one per process for the memory
   * store, one shared through Redis for the Redis store. Required for a store that has none.
   */
  secret?: SessionSecret;
}

const DAY = 24 * 60 * 60 * 1000;

/**
 * The request's session, under a symbol on the context. Not a WeakMap: its entries hold closures
 * over the context (the session's hooks), an ephemeron cycle that V8's collector traces to a
 * fixpoint on every collection: it slowed raw Koa by more than all of Vela's own work.
 */
const SESSION = Symbol('vela.session');
type WithSession = Context & { [SESSION]?: RequestSession };

type CookieOptions = NonNullable<Parameters<Context['cookies']['set']>[2]>;

/**
 * Lazy sessions for every request. A client gets a cookie only when its session gets an id (a
 * request reads `session.id` or writes to the session), and the store sees a session only once a
 * request writes to it: a 404, a static file, an OPTIONS or an upgrade that never touches its
 * session costs no store write and sends no cookie. The cookie is `<id>.<signature>` (HMAC-SHA256
 * with the secret), `HttpOnly`, `SameSite=Lax`, `Path=/`, no expiry (gone when the browser
 * closes), and `Secure` on HTTPS requests. Behind a TLS-terminating proxy set
 * `app.koa.proxy = true`, so that Koa believes the proxy's `X-Forwarded-Proto`.
 *
 * An id whose signature does not hold (forged, altered, from another app) is never used: the client
 * gets a new id when it needs one. A signed id the store does not know (expired, or never written)
 * is an empty session under that id. A failing store fails the request with 500. What a request
 * changed is written at its end, whole, and over a session the store held only while it still
 * exists (`SessionStore.update`): a request still running when its session was destroyed cannot
 * revive it.
 *
 * Use it through `bootstrap(App, { sessions: { store, ttl, secret } })`, which runs one such
 * middleware for HTTP and for WebSocket upgrades alike: a second one on the same request fails it,
 * as the page's session id and its sockets' `conn.sessionId` would differ and `Comms` would miss them.
 *
 * @example
 * const store = redisSessionStore({ url: process.env.REDIS_URL });
 * await bootstrap(AppModule, { sessions: { store, ttl: 60 * 60 * 1000 } });
 */
export function sessionMiddleware(options: SessionOptions = {}): Middleware {
  const { store = memorySessionStore(), ttl = DAY, cookie = 'session_id', secret } = options;
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
  if (secret === undefined && !store.secret) {
    throw new ConfigError(
      `sessionMiddleware({ store: '${store.name}' }): this store has no secret() of its own, and every node sharing it must sign ` +
        `session cookies with the same secret: pass sessions: { secret: process.env.SESSION_SECRET } (32 characters or more).`,
    );
  }
  const call = storeCaller(store);
  let ids = secret === undefined ? undefined : signedIds(secret, 'sessionMiddleware({ secret })');
  let loadingIds: Promise<SignedIds> | undefined;
  // The store's secret is asked for once (a Redis round trip), then kept; a failure is retried.
  const signing = (): SignedIds | Promise<SignedIds> =>
    ids ??
    (loadingIds ??= call('secret', () => store.secret!()).then(
      (value) => (ids = signedIds(value, `SessionStore '${store.name}'.secret()`)),
      (error: unknown) => {
        loadingIds = undefined;
        throw error;
      },
    ));
  // Only over a session that still exists: a request that was running when another one destroyed
  // (logged out) or regenerated the session must not write it back. Whatever it changed is dropped.
  const update = (id: string, data: SessionData): Promise<unknown> =>
    store.update ? store.update(id, data, ttl) : store.save(id, data, ttl);

  /** What a request's session does to its cookie and the store: one object per request, no closures. */
  class CookieHooks implements SessionHooks {
    readonly #ctx: Context;
    readonly #signer: SignedIds;

    constructor(ctx: Context, signer: SignedIds) {
      this.#ctx = ctx;
      this.#signer = signer;
    }

    setCookie(id: string | null): void {
      this.#ctx.cookies.set(cookie, id === null ? null : this.#signer.sign(id), cookieOptions(this.#ctx));
    }

    start(): string {
      const id = newSessionId();
      this.setCookie(id);
      return id;
    }

    async destroy(current: string | undefined): Promise<void> {
      if (current !== undefined) await call('destroy', () => store.destroy(current));
      this.setCookie(null);
    }

    async regenerate(current: string | undefined, data: SessionData): Promise<string> {
      const next = newSessionId();
      // The new id first: should the destroy fail, the client still holds a working session.
      await call('save', () => store.save(next, data, ttl, { anonymous: false }));
      if (current !== undefined) await call('destroy', () => store.destroy(current));
      this.setCookie(next);
      return next;
    }
  }

  return async (ctx, next) => {
    if ((ctx as WithSession)[SESSION]) throw new ConfigError(SECOND_MIDDLEWARE);
    // No await once the secret is known: an await costs every request a turn of the microtask queue.
    const signer = ids ?? (await signing());
    // No Cookie header (an API client, a first visit): Koa's cookie jar is not even made.
    const presented = ctx.req.headers.cookie === undefined ? undefined : ctx.cookies.get(cookie, { signed: false });
    const verified = presented === undefined ? undefined : signer.verify(presented);
    const stored = verified ? await call('load', () => store.load(verified.id)) : undefined;
    const hooks = new CookieHooks(ctx, signer);
    const session = new RequestSession(verified?.id, stored ?? {}, stored !== undefined, hooks);
    (ctx as WithSession)[SESSION] = session;
    ctx.state.session = session;
    // Signed with a secret being rotated out: signed again with the current one.
    if (verified && !verified.current) hooks.setCookie(verified.id);

    await next();

    // A request that failed saves nothing: its changes may be half made.
    if (session.destroyed) return;
    // existingId, not verified.id: regenerate() may have moved it, or the request started one.
    const id = session.existingId;
    if (id === undefined) return;
    if (session.persisted) {
      if (session.changed) await call('update', () => update(id, session.data()));
      else await call('touch', () => store.touch(id, ttl));
    } else if (session.changed) {
      const data = session.data();
      // Written to and emptied again: an empty session is what a missing entry means already.
      if (Object.keys(data).length > 0) await call('save', () => store.save(id, data, ttl, { anonymous: true }));
    }
  };
}

const SECOND_MIDDLEWARE =
  'A second session middleware ran on this request: bootstrap already runs one (for HTTP and WebSocket upgrades ' +
  "alike), and a second one gives the page a session id its sockets' conn.sessionId does not have, so Comms misses them. " +
  'Remove sessionMiddleware() from your middleware and configure the one bootstrap runs: bootstrap(App, { sessions: { store, ttl } }).';

/**
 * The session id of a request that went through sessionMiddleware, or undefined (no session
 * middleware, the session was destroyed, or it has no id: no valid cookie came and nothing in the
 * request needed one). Never starts a session. For code that has the context but not the state,
 * such as the WebSocket upgrade setting `conn.sessionId`: a socket opened without a session cookie
 * has no session, unless the upgrade's own middleware or security started one (its cookie then
 * rides on the 101).
 */
export function sessionIdOf(ctx: Context): string | undefined {
  const session = (ctx as WithSession)[SESSION];
  return session && !session.destroyed ? session.existingId : undefined;
}

function cookieOptions(ctx: Context): CookieOptions {
  // Koa refuses a Secure cookie on a request it does not see as HTTPS, so follow ctx.secure.
  // overwrite: a session started and destroyed in one request sends only the clearing cookie.
  return { httpOnly: true, sameSite: 'lax', path: '/', secure: ctx.secure, overwrite: true, signed: false };
}

/** Runs a store operation; a failure becomes an error naming the store and the operation. */
function storeCaller(store: SessionStore) {
  return async <T>(operation: 'load' | 'save' | 'update' | 'touch' | 'destroy' | 'secret', run: () => Promise<T>): Promise<T> => {
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
