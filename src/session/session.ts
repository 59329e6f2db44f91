// The session a request sees on `ctx.state.session`: a copy of the stored data, loaded once, read
// and written synchronously, and handed back to the middleware to save once when the request ends.
import type { SessionData } from './store.js';

/**
 * One client's session, on `ctx.state.session` (and its id on a WebSocket's `conn.sessionId`).
 * Values are JSON values (see SessionData). Changes are saved when the request ends, not when
 * `set` is called; two requests of one client that run at the same time each save their own copy,
 * so the last one to finish wins, even for different keys.
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
  /** 32 base64url characters (192 random bits); the value of the session cookie. */
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
}

declare module 'koa' {
  interface DefaultState {
    /** The client's session (Vela's session middleware). */
    session: Session;
  }
}

/** The middleware's side of a Session: what changed, and whether it is gone. */
export class RequestSession implements Session {
  readonly id: string;
  /** Created by this request (no valid cookie came with it). */
  readonly isNew: boolean;
  // A Map, not the stored object: a key such as '__proto__' stays a plain key.
  readonly #values: Map<string, unknown>;
  readonly #onDestroy: () => Promise<void>;
  #changed = false;
  #destroyed = false;

  constructor(id: string, data: SessionData, isNew: boolean, onDestroy: () => Promise<void>) {
    this.id = id;
    this.isNew = isNew;
    this.#values = new Map(Object.entries(data));
    this.#onDestroy = onDestroy;
  }

  /** Whether `set` or `delete` changed anything since the session was loaded. */
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
    await this.#onDestroy();
  }

  /** The values as a plain object, for the store. */
  data(): SessionData {
    return Object.fromEntries(this.#values);
  }
}
