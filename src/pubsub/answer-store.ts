// Where a node remembers the answers it gave to requests, per (client id, ref), for the repeat
// window: a client that lost its link re-sends an unanswered request under the same ref, and the
// repeat must be answered without running the handler again, on whichever node it lands. A pub/sub
// adapter may offer its own store (`answers()`: Redis keeps them in Redis, a MemoryBus shares one
// between its apps); the default is this process's memory.
import { LRUCache } from 'lru-cache';

/** What a claim of (client, ref) found. */
export type Claim =
  /** Nothing: the caller runs the handler and must `settle` the claim. */
  | { readonly kind: 'first' }
  /** The answer frame (its JSON text) given to the first, to send again. */
  | { readonly kind: 'answer'; readonly answer: string }
  /** The first was answered but its answer was not kept (too big), or its node went away first. */
  | { readonly kind: 'unavailable' };

export interface AnswerStore {
  /**
   * Claims (client, ref) for `window` ms. A repeat that arrives while the first is still being
   * handled settles once the first does (or its node is known to be gone: `unavailable`).
   */
  claim(client: string, ref: string, window: number): Claim | Promise<Claim>;
  /** The first's answer frame, remembered for `window` ms; undefined: answered, but not kept. */
  settle(client: string, ref: string, answer: string | undefined, window: number): void | Promise<void>;
}

export const FIRST: Claim = Object.freeze({ kind: 'first' });
export const UNAVAILABLE: Claim = Object.freeze({ kind: 'unavailable' });

/** The most answers remembered per client: the oldest go first. */
export const ANSWERS_PER_CLIENT = 1_000;

export interface MemoryAnswerStoreOptions {
  /** The most answers remembered in all (least recently stored go first). Default 100 000. */
  max?: number;
}

/**
 * A settled claim, or one being handled: a repeat arriving meanwhile waits, and only then is a
 * promise made (nearly every request is a first, and is answered before any repeat can come).
 */
type Entry = { settled: Claim } | { waiters: ((claim: Claim) => void)[] | undefined };

/**
 * Answers in this process's memory, bounded per client and in all.
 * `has(client, ref)` tells whether an answer (or a claim) is still remembered.
 */
export class MemoryAnswerStore implements AnswerStore {
  readonly #entries: LRUCache<string, Entry>;
  /** Per client, the refs it has entries for, oldest first (a Set keeps insertion order). */
  readonly #refs = new Map<string, Set<string>>();

  constructor({ max = 100_000 }: MemoryAnswerStoreOptions = {}) {
    this.#entries = new LRUCache<string, Entry>({
      max,
      // Every entry has a ttl of its own (the window is the app's), checked when read: no timer per entry.
      noDisposeOnSet: true,
      dispose: (entry, key) => this.#forget(entry, key),
    });
  }

  /** Whether (client, ref) is remembered (claimed or answered) and not expired. */
  has(client: string, ref: string): boolean {
    return this.#entries.has(keyOf(client, ref));
  }

  /** Entries held, across clients (expired ones not yet read included). */
  get size(): number {
    return this.#entries.size;
  }

  /** Synchronous: a first claim (nearly all of them) costs no promise and no turn of the queue. */
  claim(client: string, ref: string, window: number): Claim | Promise<Claim> {
    const key = keyOf(client, ref);
    const entry = this.#entries.get(key);
    if (!entry) {
      this.#add(client, ref, key, { waiters: undefined }, window);
      return FIRST;
    }
    if ('settled' in entry) return entry.settled;
    return new Promise<Claim>((resolve) => (entry.waiters ??= []).push(resolve));
  }

  settle(client: string, ref: string, answer: string | undefined, window: number): void {
    const key = keyOf(client, ref);
    const settled: Claim = answer === undefined ? UNAVAILABLE : { kind: 'answer', answer };
    const entry = this.#entries.get(key);
    if (!entry) return this.#add(client, ref, key, { settled }, window);
    // Replaced (noDisposeOnSet: the claim is not disposed of as unanswered), then its waiters told.
    this.#entries.set(key, { settled }, { ttl: window });
    if ('waiters' in entry) for (const wake of entry.waiters ?? []) wake(settled);
  }

  #add(client: string, ref: string, key: string, entry: Entry, window: number): void {
    let refs = this.#refs.get(client);
    if (!refs) this.#refs.set(client, (refs = new Set()));
    if (refs.size >= ANSWERS_PER_CLIENT) this.#entries.delete(keyOf(client, refs.values().next().value!));
    refs.add(ref);
    this.#entries.set(key, entry, { ttl: window });
  }

  /** An entry went (expired, evicted, or the client's oldest): out of its client's list, and its waiters told. */
  #forget(entry: Entry, key: string): void {
    if ('waiters' in entry) for (const wake of entry.waiters ?? []) wake(UNAVAILABLE);
    const split = key.indexOf('\n');
    const client = key.slice(0, split);
    const refs = this.#refs.get(client);
    refs?.delete(key.slice(split + 1));
    if (refs?.size === 0) this.#refs.delete(client);
  }
}

/** A newline cannot be in a client id (url-safe characters), so the pair splits back unambiguously. */
function keyOf(client: string, ref: string): string {
  return `${client}\n${ref}`;
}
