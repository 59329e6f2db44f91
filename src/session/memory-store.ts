// The default session store: one Map in this process. Bounded two ways so that clients which never
// come back (bots, private windows) cannot grow it forever: entries expire, and past `maxEntries`
// the least recently saved entry goes.
import { ConfigError } from '../errors.js';
import type { SessionData, SessionStore } from './store.js';

export interface MemorySessionStoreOptions {
  /** Most sessions kept; saving a new one past this evicts the least recently saved. Default 100 000. */
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

interface Entry {
  data: SessionData;
  expiresAt: number;
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

class MemoryStore implements MemorySessionStore {
  readonly name = 'memory';
  // Insertion order is save order (save re-inserts), so the first key is the one to evict.
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;

  constructor({ maxEntries = 100_000, sweepInterval = 60_000, now = Date.now }: MemorySessionStoreOptions) {
    positiveInteger('maxEntries', maxEntries, '100_000');
    positiveInteger('sweepInterval', sweepInterval, '60_000');
    this.#maxEntries = maxEntries;
    this.#now = now;
    // unref: a forgotten store must not keep the process alive.
    this.#timer = setInterval(() => this.sweep(), sweepInterval).unref();
  }

  get size(): number {
    return this.#entries.size;
  }

  async load(id: string): Promise<SessionData | undefined> {
    const entry = this.#live(id);
    // A copy: the caller's later changes must reach the store only through save().
    return entry && structuredClone(entry.data);
  }

  async save(id: string, data: SessionData, ttlMs: number): Promise<void> {
    const entry = { data: structuredClone(data), expiresAt: this.#now() + ttlMs };
    this.#entries.delete(id);
    if (this.#entries.size >= this.#maxEntries) this.#evict();
    this.#entries.set(id, entry);
  }

  async touch(id: string, ttlMs: number): Promise<void> {
    const entry = this.#live(id);
    if (!entry) return;
    entry.expiresAt = this.#now() + ttlMs;
    this.#entries.delete(id);
    this.#entries.set(id, entry);
  }

  async destroy(id: string): Promise<void> {
    this.#entries.delete(id);
  }

  sweep(): number {
    const now = this.#now();
    let removed = 0;
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(id);
        removed += 1;
      }
    }
    return removed;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** The entry if it has not expired; an expired one is removed on the way. */
  #live(id: string): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry && entry.expiresAt <= this.#now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry;
  }

  /**
   * Makes room for one entry by dropping the least recently saved. No sweep here: a full store under
   * a flood of new clients would scan every entry on every save. With one ttl the oldest entry is
   * also the first to expire, so expired entries go first anyway.
   */
  #evict(): void {
    const oldest = this.#entries.keys().next();
    if (!oldest.done) this.#entries.delete(oldest.value);
  }
}

function positiveInteger(option: string, value: number, example: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`memorySessionStore({ ${option}: ${String(value)} }): ${option} must be a positive integer, e.g. ${example}.`);
  }
}
