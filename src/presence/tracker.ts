// This node's half of presence: which (channel, key) each local connection tracks, with what meta,
// under which ref. It bounds what one connection may track, writes through the adapter's store (the
// cluster's view, for list and count), untracks a connection when it closes, and hands every change
// to the diff window, which broadcasts them as `presence_diff` messages.
import type { Hub, LocalConnection } from '../pubsub/hub.js';
import { DiffWindow } from './diff-window.js';
import { MAX_TRACKED_PER_CONNECTION, presenceMeta, requireKey } from './presence-input.js';
import { mergeDiffs, toPresenceList, type PresenceDiff, type PresenceList, type PresenceRow } from './presence-list.js';
import type { PresenceChange, PresenceNode, PresenceStore } from './presence-store.js';

export interface PresenceOptions {
  /** How long changes are gathered into one `presence_diff` per channel, in ms (the most a diff waits). Default 50. */
  window?: number;
}

/** The topic of the pub/sub messages that carry presence changes. */
export const PRESENCE_DIFF = 'presence_diff';

const DONE = Promise.resolve();

export class PresenceTracker implements PresenceNode {
  readonly #hub: Hub;
  readonly #store: PresenceStore | undefined;
  readonly #adapter: string;
  /** Per connection: channel → key → its row. */
  readonly #tracked = new Map<LocalConnection, Map<string, Map<string, PresenceRow>>>();
  readonly #diffs: DiffWindow;
  #refs = 0;

  constructor(hub: Hub, store: PresenceStore | undefined, adapter: string, options: PresenceOptions = {}) {
    this.#hub = hub;
    this.#store = store;
    this.#adapter = adapter;
    const window = options.window ?? 50;
    if (!Number.isFinite(window) || window < 0) throw new RangeError(`presence.window must be a number of ms ≥ 0, got ${window}.`);
    this.#diffs = new DiffWindow(window, (channel, diff) => this.#broadcast(channel, diff));
    // Each node's diffs, merged again where they are delivered: one per window for a member, whatever
    // the number of nodes (a window of 0 delivers each as it comes).
    if (window > 0) hub.coalesce(PRESENCE_DIFF, mergeDiffs, window);
    hub.whenDisconnected((connection) => this.untrackAll(connection));
  }

  get id(): string {
    return this.#hub.id;
  }

  async start(): Promise<void> {
    await this.#store?.start?.(this);
  }

  /** After every connection closed (app.close): the last diffs out, then this node's metas gone from the store. */
  async stop(): Promise<void> {
    await this.#diffs.flush();
    await this.#store?.stop?.(this.id);
  }

  track(connection: LocalConnection, channel: string, key: string, meta: unknown): Promise<void> {
    const store = this.#requireStore();
    requireKey(key);
    const copy = presenceMeta(meta);
    // A handler may still run after its socket closed: it must not leave a meta nobody untracks.
    if (!this.#hub.isConnected(connection)) return DONE;
    let channels = this.#tracked.get(connection);
    const previous = channels?.get(channel)?.get(key);
    if (!previous && countOf(channels) >= MAX_TRACKED_PER_CONNECTION) {
      throw new RangeError(`A connection may track at most ${MAX_TRACKED_PER_CONNECTION} (channel, key) pairs at once: untrack some first.`);
    }
    if (!channels) this.#tracked.set(connection, (channels = new Map()));
    let keys = channels.get(channel);
    if (!keys) channels.set(channel, (keys = new Map()));
    const row: PresenceRow = { ref: this.#nextRef(), key, meta: copy };
    keys.set(key, row);
    const write = Promise.resolve(store.put(this.id, channel, row, previous?.ref));
    if (previous) this.#diffs.leave(channel, previous);
    this.#diffs.join(channel, row, write);
    return write;
  }

  /** Replaces the meta of a (channel, key) this connection tracks: a leave of the old meta, a join of the new, under a new ref. */
  update(connection: LocalConnection, channel: string, key: string, meta: unknown): Promise<void> {
    requireKey(key);
    if (!this.#tracked.get(connection)?.get(channel)?.has(key) && this.#hub.isConnected(connection)) {
      throw new Error(`presence.update('${channel}', ${JSON.stringify(key)}): this connection does not track that key; call presence.track() first.`);
    }
    return this.track(connection, channel, key, meta);
  }

  untrack(connection: LocalConnection, channel: string, key: string): Promise<void> {
    const channels = this.#tracked.get(connection);
    const keys = channels?.get(channel);
    const row = keys?.get(key);
    if (!row) return DONE;
    keys!.delete(key);
    if (keys!.size === 0) channels!.delete(channel);
    if (channels!.size === 0) this.#tracked.delete(connection);
    const write = Promise.resolve(this.#store!.remove(this.id, channel, row.ref));
    this.#diffs.leave(channel, row, write);
    return write;
  }

  /** Everything `connection` tracks: it closed. */
  untrackAll(connection: LocalConnection): void {
    for (const [channel, keys] of this.#tracked.get(connection) ?? []) {
      for (const key of [...keys.keys()]) void this.untrack(connection, channel, key);
    }
  }

  async list(channel: string): Promise<PresenceList> {
    return toPresenceList(await this.#requireStore().list(channel));
  }

  async count(channel: string): Promise<number> {
    return this.#requireStore().count(channel);
  }

  *tracked(): Iterable<PresenceChange> {
    for (const channels of this.#tracked.values()) {
      for (const [channel, keys] of channels) for (const row of keys.values()) yield { channel, row };
    }
  }

  removed(changes: readonly PresenceChange[]): void {
    for (const { channel, row } of changes) this.#diffs.leave(channel, row);
  }

  restored(changes: readonly PresenceChange[]): void {
    for (const { channel, row } of changes) this.#diffs.join(channel, row);
  }

  /** The keys this node's connections track, per channel (a key tracked by two of them counts once): a metric. */
  *keysPerChannel(): Iterable<[string, number]> {
    const keys = new Map<string, Set<string>>();
    for (const channels of this.#tracked.values()) {
      for (const [channel, rows] of channels) {
        let seen = keys.get(channel);
        if (!seen) keys.set(channel, (seen = new Set()));
        for (const key of rows.keys()) seen.add(key);
      }
    }
    for (const [channel, seen] of keys) yield [channel, seen.size];
  }

  /** Connections with something tracked on this node: what a leak test checks is back to zero. */
  get size(): number {
    return this.#tracked.size;
  }

  #broadcast(channel: string, diff: PresenceDiff): Promise<void> {
    const message = Object.freeze({ channel, sender: null, topic: PRESENCE_DIFF, payload: diff });
    return this.#hub.publish(message, { history: false }).catch((error: unknown) => {
      this.#hub.logger.error('presence could not broadcast a diff', { channel, error });
    });
  }

  #nextRef(): string {
    this.#refs += 1;
    return `${this.id}.${this.#refs.toString(36)}`;
  }

  #requireStore(): PresenceStore {
    if (this.#store) return this.#store;
    throw new Error(`The '${this.#adapter}' pub/sub adapter keeps no presence: use memoryPubSub() or redisPubSub(), or give the adapter a \`presence\` store.`);
  }
}

function countOf(channels: Map<string, Map<string, PresenceRow>> | undefined): number {
  let count = 0;
  for (const keys of channels?.values() ?? []) count += keys.size;
  return count;
}
