// Presence, the client's half: who is on a channel, kept from the gateway's `presence_state` (the
// whole list, sent by `init` on every connection) and `presence_diff` (`{ joins, leaves }`) events.
// A key is one user, a meta one of their connections (a tab), told apart by its `ref`; the app hears
// a key come online once, on its first meta, and go offline once, on its last — Phoenix's Presence
// JS semantics. A new state (after a reconnect) replaces the list and is reported as the joins and
// leaves that lead to it; diffs that arrive before a connection's state wait for it.
import { call, callAll, subscribe } from './listeners.js';

/** What a connection says about itself under a key: a plain JSON object (`{ name, device }`). */
export type PresenceMeta = Record<string, unknown>;
/** One connection's meta as the list shows it: the meta's fields and the `ref` that tells it from the key's others. */
export type PresenceEntry<M extends object = PresenceMeta> = M & { ref: string };
/** One key's presence: an entry per connection it is tracked from. */
export interface PresenceMetas<M extends object = PresenceMeta> {
  metas: PresenceEntry<M>[];
}
/** A channel's presence list: `{ [key]: { metas: [{ ...meta, ref }] } }`, as `presence.list(channel)` on the server. */
export type PresenceList<M extends object = PresenceMeta> = Record<string, PresenceMetas<M>>;
/** The data of a `presence_diff` event: the metas that joined and those that left, as lists. */
export interface PresenceDiff<M extends object = PresenceMeta> {
  joins: PresenceList<M>;
  leaves: PresenceList<M>;
}

/** A meta joined `key` (or changed): `current` is the key's presence before, undefined when it just came online. */
export type PresenceJoinListener<M extends object = PresenceMeta> = (key: string, current: PresenceMetas<M> | undefined, joined: PresenceMetas<M>) => void;
/** A meta left `key`: `current` is what remains, undefined when it went offline. */
export type PresenceLeaveListener<M extends object = PresenceMeta> = (key: string, current: PresenceMetas<M> | undefined, left: PresenceMetas<M>) => void;
/** A state or a diff was applied: the whole list, as `list()` returns it. */
export type PresenceSyncListener<M extends object = PresenceMeta> = (list: PresenceList<M>) => void;

/** What `presence()` needs of a socket: a `VelaSocket` has it. */
export interface PresenceSource {
  onEvent(name: string, listener: (data: unknown) => void): () => void;
  on(type: 'close', listener: () => void): () => void;
}

/** Diffs held while a connection's state has not come, at most: past it the oldest is dropped. */
export const MAX_HELD_DIFFS = 1_000;

/** The list held: key → its entries by ref, in arrival order; and key → entries, as parsed from the wire. */
type EntriesByRef = Map<string, PresenceEntry>;
type Entries = Map<string, PresenceEntry[]>;

/**
 * Keeps `channel`'s presence list from the socket's events `presence_state` and `presence_diff`, and
 * `presence_state:<channel>` and `presence_diff:<channel>` (for a gateway that sends several
 * channels' presence on one socket: it names the channel in the event, and each tracker hears its own).
 *
 * @example
 * const room = presence<{ name: string }>(socket, 'room:1');
 * room.onJoin((key, current) => { if (!current) console.log(`${key} came online`); });
 * room.onLeave((key, current) => { if (!current) console.log(`${key} went offline`); });
 * room.onSync((list) => render(Object.keys(list)));
 */
export function presence<M extends object = PresenceMeta>(socket: PresenceSource, channel: string): PresenceTracker<M> {
  return new PresenceTracker<M>(socket, channel);
}

export class PresenceTracker<M extends object = PresenceMeta> {
  readonly channel: string;
  readonly #state = new Map<string, EntriesByRef>();
  readonly #joinListeners = new Set<PresenceJoinListener<M>>();
  readonly #leaveListeners = new Set<PresenceLeaveListener<M>>();
  readonly #syncListeners = new Set<PresenceSyncListener<M>>();
  readonly #unsubscribe: (() => void)[];
  /** Diffs that came before this connection's state, oldest first. */
  #held: [joins: Entries, leaves: Entries][] = [];
  /** False until a state came on the current connection: diffs wait until then. */
  #synced = false;

  constructor(socket: PresenceSource, channel: string) {
    if (typeof channel !== 'string' || channel === '') {
      throw new TypeError(`presence(socket, channel): channel must be a non-empty string such as 'room:1', got ${JSON.stringify(channel)}.`);
    }
    this.channel = channel;
    const onState = (data: unknown) => this.#onState(data);
    const onDiff = (data: unknown) => this.#onDiff(data);
    this.#unsubscribe = [
      socket.onEvent('presence_state', onState),
      socket.onEvent('presence_diff', onDiff),
      socket.onEvent(`presence_state:${channel}`, onState),
      socket.onEvent(`presence_diff:${channel}`, onDiff),
      // The next connection's gateway sends the state again: diffs until then would apply to a stale list.
      socket.on('close', () => void (this.#synced = false)),
    ];
  }

  /** The current list, `{ [key]: { metas } }`: a copy, the app may keep or change it. */
  list(): PresenceList<M> {
    const list: PresenceList<M> = {};
    for (const [key, metas] of this.#state) define(list, key, this.#entry(metas.values()));
    return list;
  }

  /** Calls `listener(key, current, joined)` for every meta that joins (or changes); returns its unsubscribe. */
  onJoin(listener: PresenceJoinListener<M>): () => void {
    return subscribe(this.#joinListeners, listener);
  }

  /** Calls `listener(key, current, left)` for every meta that leaves; returns its unsubscribe. */
  onLeave(listener: PresenceLeaveListener<M>): () => void {
    return subscribe(this.#leaveListeners, listener);
  }

  /** Calls `listener(list)` after each state or diff is applied; returns its unsubscribe. */
  onSync(listener: PresenceSyncListener<M>): () => void {
    return subscribe(this.#syncListeners, listener);
  }

  /** Stops listening to the socket and drops every listener; `list()` keeps the last list. */
  stop(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#joinListeners.clear();
    this.#leaveListeners.clear();
    this.#syncListeners.clear();
    this.#held = [];
  }

  /** The whole list: what differs from the one held is reported as joins and leaves, then the held diffs follow. */
  #onState(data: unknown): void {
    const next = entries(data);
    if (!next) return;
    const leaves: Entries = new Map();
    for (const [key, metas] of this.#state) {
      const kept = new Set(next.get(key)?.map((meta) => meta.ref));
      const gone = [...metas.values()].filter((meta) => !kept.has(meta.ref));
      if (gone.length > 0) leaves.set(key, gone);
    }
    this.#apply(next, leaves);
    this.#synced = true;
    for (const [joins, held] of this.#held.splice(0)) this.#apply(joins, held);
    this.#sync();
  }

  #onDiff(data: unknown): void {
    const diff = typeof data === 'object' && data !== null ? (data as { joins?: unknown; leaves?: unknown }) : undefined;
    const joins = diff && entries(diff.joins ?? {});
    const leaves = diff && entries(diff.leaves ?? {});
    if (!joins || !leaves) return;
    if (!this.#synced) {
      this.#held.push([joins, leaves]);
      if (this.#held.length > MAX_HELD_DIFFS) this.#held.shift();
      return;
    }
    this.#apply(joins, leaves);
    this.#sync();
  }

  /**
   * Joins first, as Phoenix does: a key whose one tab leaves as another joins in the same diff stays
   * online. A ref that both leaves and joins in one diff was updated: its joined meta stays.
   */
  #apply(joins: Entries, leaves: Entries): void {
    for (const [key, metas] of joins) {
      const current = this.#state.get(key);
      const before = current && this.#entry(current.values());
      const next = current ?? new Map<string, PresenceEntry>();
      const joined = metas.filter((meta) => !sameMeta(next.get(meta.ref), meta));
      if (joined.length === 0) continue;
      for (const meta of joined) next.set(meta.ref, meta);
      this.#state.set(key, next);
      callAll(this.#joinListeners, key, before, this.#entry(joined));
    }
    for (const [key, metas] of leaves) {
      const current = this.#state.get(key);
      if (!current) continue;
      const rejoined = new Set(joins.get(key)?.map((meta) => meta.ref));
      const left = metas.flatMap((meta) => (rejoined.has(meta.ref) ? [] : (current.get(meta.ref) ?? [])));
      if (left.length === 0) continue;
      for (const meta of left) current.delete(meta.ref);
      if (current.size === 0) this.#state.delete(key);
      callAll(this.#leaveListeners, key, current.size === 0 ? undefined : this.#entry(current.values()), this.#entry(left));
    }
  }

  /** Each listener gets its own copy of the list. */
  #sync(): void {
    for (const listener of [...this.#syncListeners]) call(listener, this.list());
  }

  /** A fresh entry: listeners may keep or change it without touching the list. */
  #entry(metas: Iterable<PresenceEntry>): PresenceMetas<M> {
    return { metas: Array.from(metas, (meta) => ({ ...meta }) as PresenceEntry<M>) };
  }
}

/**
 * `{ [key]: { metas: [{ ..., ref }] } }` from the wire, or undefined when `data` is not an object.
 * An entry without a metas array, or a meta without a string ref, is skipped: the server sends none.
 */
function entries(data: unknown): Entries | undefined {
  if (!isRecord(data)) return undefined;
  const parsed: Entries = new Map();
  for (const key of Object.keys(data)) {
    const metas = (data[key] as { metas?: unknown } | null)?.metas;
    if (!Array.isArray(metas)) continue;
    const valid = metas.filter((meta): meta is PresenceEntry => isRecord(meta) && typeof meta.ref === 'string');
    if (valid.length > 0) parsed.set(key, valid);
  }
  return parsed;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Metas are plain JSON: the same text is the same meta. */
function sameMeta(known: PresenceEntry | undefined, meta: PresenceEntry): boolean {
  return known !== undefined && JSON.stringify(known) === JSON.stringify(meta);
}

/** `list[key] = value` that stays an own property for any key, `__proto__` included. */
function define<T>(list: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(list, key, { value, enumerable: true, writable: true, configurable: true });
}
