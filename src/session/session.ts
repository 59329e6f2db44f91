// The session a request sees on `ctx.state.session`: a copy of the stored data, loaded once, read
// and written synchronously, and handed back to the middleware to save once when the request ends.
// Its id is made on first need, so that a request which never uses its session costs nothing.
import type { SessionData } from './store.js';

/**
 * One client's session, on `ctx.state.session` (and its id on a WebSocket's `conn.sessionId`).
 * Values are JSON values (see SessionData). Changes are saved when the request ends, not when
 * `set` is called, and a session is saved whole: two requests of one client that run at the same
 * time each save their own copy, so the last one to finish wins, even for different keys. What is
 * stored is always one request's complete view, never a mix of two. A request that finishes after
 * its session was destroyed (or regenerated) saves nothing: a log-out is never undone.
 *
 * @example
 * @Route('/cart/:item', { methods: ['post'] })
 * add(ctx: Context) {
 *   const cart = ctx.state.session.get<string[]>('cart') ?? [];
 *   ctx.state.session.set('cart', [...cart, ctx.params.item]);   // a new array: see get()
 *   return json({ cart: ctx.state.session.get('cart') });
 * }
 */
export interface Session {
  /**
   * 32 base64url characters (192 random bits); the session cookie carries it, signed. Sessions are
   * lazy: a client that sent no valid cookie has no id until one is needed, and reading `id` is a
   * need: it starts one and sends the cookie (no store write; that waits for a `set`). Read it in
   * a page whose sockets `Comms` should reach, so the browser has the cookie when it opens them.
   */
  readonly id: string;
  /**
   * The value stored under `key`, or undefined. `T` is not checked: it is what you say was stored.
   * Changing a returned object or array changes nothing in the store until you `set` it again.
   */
  get<T = unknown>(key: string): T | undefined;
  /** Stores `value` under `key` from the end of this request on. `undefined` deletes the key, as JSON would. */
  set(key: string, value: unknown): void;
  /** Removes `key`. */
  delete(key: string): void;
  /**
   * Forgets the session now, in the store too, and clears the cookie: the client's next request
   * starts a new session with a new id (log-out). Nothing more can be set in this request.
   */
  destroy(): Promise<void>;
  /**
   * Moves the session to a new random id: the data goes along, the old id is forgotten by the store
   * and the cookie is set to the new one. Call it when a client logs in (or gains any privilege), so
   * that an id an attacker planted in the browser before (session fixation) is worth nothing after.
   * WebSockets opened before keep the old id as `conn.sessionId`; reconnect them. A regenerated
   * session counts as authenticated: stores drop anonymous sessions first when they must drop any,
   * so a flood of visitors never logs anyone out. It also gets a new CSRF token (csrf()).
   *
   * @example
   * await ctx.state.session.regenerate();
   * ctx.state.session.set('userId', user.id);
   */
  regenerate(): Promise<void>;
}

declare module 'koa' {
  interface DefaultState {
    /** The client's session (Vela's session middleware). */
    session: Session;
  }
}

/** What the middleware does when a request starts, destroys or regenerates its session. */
export interface SessionHooks {
  /** Makes a new id and sends it in the cookie; synchronous, as reading `id` is. */
  start(): string;
  /** Forgets `id` (if the session had one) and clears the cookie. */
  destroy(id: string | undefined): Promise<void>;
  /** Stores `data` under a new id, forgets `id`, sets the cookie; resolves with the new id. */
  regenerate(id: string | undefined, data: SessionData): Promise<string>;
}

/** The middleware's side of a Session: what changed, and whether it is gone. */
export class RequestSession implements Session {
  #id: string | undefined;
  #persisted: boolean;
  // A Map, not the stored object: a key such as '__proto__' stays a plain key.
  readonly #values: Map<string, unknown>;
  readonly #hooks: SessionHooks;
  #changed = false;
  #destroyed = false;

  /** `id` undefined: no valid cookie came, one is made on first need. `persisted`: the store holds `data` under `id`. */
  constructor(id: string | undefined, data: SessionData, persisted: boolean, hooks: SessionHooks) {
    this.#id = id;
    this.#persisted = persisted;
    this.#values = new Map(Object.entries(data));
    this.#hooks = hooks;
  }

  get id(): string {
    // After destroy() a session starts nothing: '' for one that never had an id.
    if (this.#destroyed) return this.#id ?? '';
    return (this.#id ??= this.#hooks.start());
  }

  /** The id if one was presented or made, without making one. */
  get existingId(): string | undefined {
    return this.#id;
  }

  /** Whether the store held this session when the request began, or regenerate() stored it. */
  get persisted(): boolean {
    return this.#persisted;
  }

  /** Whether `set` or `delete` changed anything since the session was loaded (or regenerated). */
  get changed(): boolean {
    return this.#changed;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  get<T = unknown>(key: string): T | undefined {
    return this.#values.get(key) as T | undefined;
  }

  set(key: string, value: unknown): void {
    if (this.#destroyed) {
      throw new Error(
        `Session.set('${key}') after destroy(): a destroyed session takes no values. ` +
          `The client's next request starts a new session; set the value there.`,
      );
    }
    if (value === undefined) return this.delete(key);
    // A written session needs an id (and the client its cookie) before the response starts.
    void this.id;
    this.#values.set(key, value);
    this.#changed = true;
  }

  delete(key: string): void {
    if (this.#values.delete(key)) this.#changed = true;
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#values.clear();
    await this.#hooks.destroy(this.#id);
  }

  async regenerate(): Promise<void> {
    if (this.#destroyed) {
      throw new Error(
        'Session.regenerate() after destroy(): the session is gone. The client\'s next request starts a new session with a new id.',
      );
    }
    // Stored whole under the new id: only what changes from here on (even during the await) needs saving again.
    const changed = this.#changed;
    this.#changed = false;
    try {
      this.#id = await this.#hooks.regenerate(this.#id, this.data());
      this.#persisted = true;
    } catch (error) {
      this.#changed ||= changed;
      throw error;
    }
  }

  /** The values as a plain object, for the store. */
  data(): SessionData {
    return Object.fromEntries(this.#values);
  }
}
