// The default session store: an LRU cache in this process. Bounded two ways so that clients which never
// come back (bots, private windows) cannot grow it forever: entries expire, and past `maxEntries`
// the least recently used (loaded, saved or touched) entry goes.
import { LRUCache } from 'lru-cache';
import { ConfigError } from '../errors.js';
import type { SessionData, SessionStore } from './store.js';

export interface MemorySessionStoreOptions {
  /** Most sessions kept; saving a new one past this evicts the least recently used. Default 100 000. */
  maxEntries?: number;
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
 * await bootstrap(AppModule, { middleware: [sessionMiddleware({ store })] });
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
  readonly #entries: LRUCache<string, SessionData>;
  readonly #timer: NodeJS.Timeout;

  constructor({ maxEntries = 100_000, sweepInterval = 60_000, now = Date.now }: MemorySessionStoreOptions) {
    positiveInteger('maxEntries', maxEntries, '100_000');
    positiveInteger('sweepInterval', sweepInterval, '60_000');
    // ttlResolution 0: read the clock on every check, so a test's clock moves expiry at once. The +1:
    // lru-cache reads a start time of 0 as "no expiry", and a test's clock may well start at 0.
    this.#entries = new LRUCache({ max: maxEntries, perf: { now: () => now() + 1 }, ttlResolution: 0 });
    // unref: a forgotten store must not keep the process alive.
    this.#timer = setInterval(() => this.sweep(), sweepInterval).unref();
  }

  get size(): number {
    return this.#entries.size;
  }

  async load(id: string): Promise<SessionData | undefined> {
    // A read is use: it moves the session away from eviction (not its expiry; touch does that).
    const data = this.#entries.get(id);
    // A copy: the caller's later changes must reach the store only through save().
    return data && structuredClone(data);
  }

  async save(id: string, data: SessionData, ttlMs: number): Promise<void> {
    this.#entries.set(id, structuredClone(data), { ttl: ttlMs });
  }

  async update(id: string, data: SessionData, ttlMs: number): Promise<boolean> {
    // has() answers false for an expired entry (and does not count as use).
    if (!this.#entries.has(id)) return false;
    this.#entries.set(id, structuredClone(data), { ttl: ttlMs });
    return true;
  }

  async touch(id: string, ttlMs: number): Promise<void> {
    const data = this.#entries.get(id);
    if (data !== undefined) this.#entries.set(id, data, { ttl: ttlMs });
  }

  async destroy(id: string): Promise<void> {
    this.#entries.delete(id);
  }

  sweep(): number {
    const before = this.#entries.size;
    this.#entries.purgeStale();
    return before - this.#entries.size;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

function positiveInteger(option: string, value: number, example: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`memorySessionStore({ ${option}: ${String(value)} }): ${option} must be a positive integer, e.g. ${example}.`);
  }
}
