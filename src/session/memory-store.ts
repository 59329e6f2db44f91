// The default session store: LRU caches in this process. Bounded two ways so that clients which never
// come back (bots, private windows) cannot grow it forever: entries expire, and past its capacity
// the least recently used (loaded, saved or touched) entry goes. Anonymous sessions and regenerated
// (logged-in) ones have a capacity each, so a flood of visitors can only evict visitors.
import { LRUCache } from 'lru-cache';
import { ConfigError } from '../app/errors.js';
import { randomSecret } from './signed-id.js';
import type { SaveOptions, SessionData, SessionStore } from './store.js';

export interface MemorySessionStoreOptions {
  /**
   * Most regenerated (logged-in) sessions kept; saving a new one past this evicts the least
   * recently used of them. Default 100 000.
   */
  maxEntries?: number;
  /**
   * Most anonymous sessions kept (started by a request writing to its session, never regenerated);
   * past this the least recently used anonymous one goes, never a logged-in one. Default 100 000.
   */
  maxAnonymous?: number;
  /** How often expired entries are swept, in ms. Default 60 000. */
  sweepInterval?: number;
  /** The clock expiry is measured on, in ms. Default `Date.now`; tests pass their own to expire sessions without waiting. */
  now?: () => number;
}

export interface MemorySessionStore extends SessionStore {
  /** Entries held right now, expired ones not yet swept included. */
  readonly size: number;
  /** Removes every expired entry now, and returns how many went. The sweep timer calls it. */
  sweep(): number;
  /** Stops the sweep timer. The store still works; only the periodic sweep stops. */
  close(): void;
}

/**
 * Sessions in this process's memory: lost on restart and not shared between processes, so use a
 * shared store (Redis) once the app runs on more than one node.
 *
 * @example
 * const store = memorySessionStore({ maxEntries: 10_000 });
 * await bootstrap(AppModule, { sessions: { store } });
 */
export function memorySessionStore(options: MemorySessionStoreOptions = {}): MemorySessionStore {
  return new MemoryStore(options);
}

// lru-cache keeps the recency order and the expiry: evicting the oldest, moving an entry to the
// front and dropping an expired one are all constant time. (A Map's own insertion order is not
// enough: finding its first key walks over the holes deletions leave at the front, 9–44 µs per save
// at 100 000 entries under a flood of new clients.)
class MemoryStore implements MemorySessionStore {
  readonly name = 'memory';
  readonly #authenticated: LRUCache<string, SessionData>;
  readonly #anonymous: LRUCache<string, SessionData>;
  readonly #timer: NodeJS.Timeout;
  // Per process, as the store is: a cookie from another process's store means nothing here anyway.
  readonly #secret = randomSecret();

  constructor({ maxEntries = 100_000, maxAnonymous = 100_000, sweepInterval = 60_000, now = Date.now }: MemorySessionStoreOptions) {
    positiveInteger('maxEntries', maxEntries, '100_000');
    positiveInteger('maxAnonymous', maxAnonymous, '100_000');
    positiveInteger('sweepInterval', sweepInterval, '60_000');
    // ttlResolution 0: read the clock on every check, so a test's clock moves expiry at once. The +1:
    // lru-cache reads a start time of 0 as "no expiry", and a test's clock may well start at 0.
    const perf = { now: () => now() + 1 };
    this.#authenticated = new LRUCache({ max: maxEntries, perf, ttlResolution: 0 });
    this.#anonymous = new LRUCache({ max: maxAnonymous, perf, ttlResolution: 0 });
    // unref: a forgotten store must not keep the process alive.
    this.#timer = setInterval(() => this.sweep(), sweepInterval).unref();
  }

  get size(): number {
    return this.#authenticated.size + this.#anonymous.size;
  }

  async load(id: string): Promise<SessionData | undefined> {
    // A read is use: it moves the session away from eviction (not its expiry; touch does that).
    const data = this.#authenticated.get(id) ?? this.#anonymous.get(id);
    // A copy: the caller's later changes must reach the store only through save().
    return data && structuredClone(data);
  }

  async save(id: string, data: SessionData, ttlMs: number, options?: SaveOptions): Promise<void> {
    const [into, other] = options?.anonymous ? [this.#anonymous, this.#authenticated] : [this.#authenticated, this.#anonymous];
    other.delete(id);
    into.set(id, structuredClone(data), { ttl: ttlMs });
  }

  async update(id: string, data: SessionData, ttlMs: number): Promise<boolean> {
    // has() answers false for an expired entry (and does not count as use).
    const cache = this.#holding(id);
    if (!cache) return false;
    cache.set(id, structuredClone(data), { ttl: ttlMs });
    return true;
  }

  async touch(id: string, ttlMs: number): Promise<void> {
    // get(), not has(): a touch is use, and it drops an expired entry as a load would.
    for (const cache of [this.#authenticated, this.#anonymous]) {
      const data = cache.get(id);
      if (data !== undefined) return void cache.set(id, data, { ttl: ttlMs });
    }
  }

  async destroy(id: string): Promise<void> {
    this.#authenticated.delete(id);
    this.#anonymous.delete(id);
  }

  async secret(): Promise<string> {
    return this.#secret;
  }

  sweep(): number {
    const before = this.size;
    this.#authenticated.purgeStale();
    this.#anonymous.purgeStale();
    return before - this.size;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** The cache holding a live entry for `id`, if any: update keeps an entry's kind. */
  #holding(id: string): LRUCache<string, SessionData> | undefined {
    if (this.#authenticated.has(id)) return this.#authenticated;
    return this.#anonymous.has(id) ? this.#anonymous : undefined;
  }
}

function positiveInteger(option: string, value: number, example: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`memorySessionStore({ ${option}: ${String(value)} }): ${option} must be a positive integer, e.g. ${example}.`);
  }
}
