// The seam between sessions and where their data lives. Asynchronous so that a store over the
// network (Redis) fits the same shape as the in-memory one; the middleware calls it at most twice a
// request, so the per-call cost does not matter.
import type { HealthState } from '../app/health-options.js';

/**
 * What a session holds: string keys to JSON values (strings, numbers, booleans, null, arrays and
 * plain objects of those). The memory store would keep a Date or a Map, but a Redis store encodes
 * JSON, so an app that stores anything else breaks the day it moves to Redis.
 */
export type SessionData = Record<string, unknown>;

/** What the middleware tells a store about a session it saves. */
export interface SaveOptions {
  /**
   * True for a session a request started by writing to it (a visitor's cart, a CSRF token); false
   * (or absent) for one `regenerate()` made, which is how an app marks a login. A store that must
   * drop sessions to stay bounded drops anonymous ones first, so a flood of visitors can never log
   * anyone out. `update` and `touch` keep an entry's kind.
   */
  anonymous?: boolean;
}

/**
 * Where sessions are kept between requests. Ids reaching a store are always ones Vela generated and
 * signed; a store never needs to validate them. A client holding a signed id the store does not
 * know has an empty session: sessions are written only once a request writes to them.
 *
 * Expiry is sliding: `save` and `touch` both restart the entry's `ttlMs`, and the entry expires once
 * `ttlMs` have passed (the millisecond at the ttl itself is the store's: Redis drops a key at its
 * PTTL, the memory store just after). An expired entry is never returned by
 * `load` and must not come back through `touch`.
 *
 * @example
 * const store: SessionStore = memorySessionStore({ maxEntries: 10_000 });
 * await store.save(id, { userId: 7 }, 86_400_000);
 */
export interface SessionStore {
  /** Named in error messages and logs, e.g. 'memory' or 'redis'. */
  readonly name: string;
  /** The session's data, or undefined when the id is unknown or expired. */
  load(id: string): Promise<SessionData | undefined>;
  /** Creates or replaces the session's data and restarts its expiry. Stores written before `options` existed may ignore it. */
  save(id: string, data: SessionData, ttlMs: number, options?: SaveOptions): Promise<void>;
  /**
   * Replaces the data of a session that still exists and restarts its expiry; does nothing, and
   * resolves false, for an unknown, expired or destroyed id. The middleware saves what a request
   * changed with it, so that a request still running when its session was destroyed (log-out, or
   * `regenerate()` in another request) cannot bring that session back. Optional for stores written
   * before it existed: without it the middleware falls back to `save`, and that protection is lost.
   */
  update?(id: string, data: SessionData, ttlMs: number): Promise<boolean>;
  /** Restarts the expiry of an existing session without rewriting its data; does nothing for an unknown or expired id. */
  touch(id: string, ttlMs: number): Promise<void>;
  /** Forgets the session; does nothing for an unknown id. */
  destroy(id: string): Promise<void>;
  /**
   * The secret session cookies are signed with, when the app gives none (`sessions: { secret }`).
   * Every node sharing the store must answer the same: the memory store makes one per process, the
   * Redis store keeps one in Redis. Without it, and without `sessions.secret`, bootstrap refuses the
   * store (a per-process secret would make each node refuse the others' cookies).
   */
  secret?(): Promise<string>;
  /** Releases timers and connections; called once when the app closes. */
  close?(): void | Promise<void>;
  /** Whether the store can serve now (its connection's status), for bootstrap's `health` endpoint. Without it: up. */
  health?(): HealthState;
}
