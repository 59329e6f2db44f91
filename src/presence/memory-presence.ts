// Presence kept in this process: on a MemoryBus, so the apps sharing a bus share it, as nodes share
// Redis. Every operation is synchronous. An app removes its own metas when it closes (no app dies
// without closing inside one process, so there are no dead nodes to sweep); the primary of
// `vela start`, which keeps its workers' presence in one, removes a dead worker's with removeNode.
import type { PresenceRow } from './presence-list.js';
import type { PresenceChange, PresenceStore } from './presence-store.js';

interface Stored extends PresenceRow {
  readonly node: string;
}

interface Channel {
  readonly rows: Map<string, Stored>;
  /** Metas per key: `count()` is the size of this map. */
  readonly keys: Map<string, number>;
}

export class MemoryPresence implements PresenceStore {
  readonly #channels = new Map<string, Channel>();

  put(node: string, channel: string, row: PresenceRow, replaces?: string): void {
    if (replaces !== undefined) this.remove(node, channel, replaces);
    let entry = this.#channels.get(channel);
    if (!entry) this.#channels.set(channel, (entry = { rows: new Map(), keys: new Map() }));
    if (!entry.rows.has(row.ref)) entry.keys.set(row.key, (entry.keys.get(row.key) ?? 0) + 1);
    entry.rows.set(row.ref, { ...row, node });
  }

  remove(_node: string, channel: string, ref: string): void {
    const entry = this.#channels.get(channel);
    const row = entry?.rows.get(ref);
    if (!entry || !row) return;
    entry.rows.delete(ref);
    const left = entry.keys.get(row.key)! - 1;
    if (left > 0) entry.keys.set(row.key, left);
    else entry.keys.delete(row.key);
    if (entry.rows.size === 0) this.#channels.delete(channel);
  }

  list(channel: string): PresenceRow[] {
    return [...(this.#channels.get(channel)?.rows.values() ?? [])].map(({ ref, key, meta }) => ({ ref, key, meta }));
  }

  count(channel: string): number {
    return this.#channels.get(channel)?.keys.size ?? 0;
  }

  stop(node: string): void {
    this.removeNode(node);
  }

  /** Removes every meta of `node` and returns them: a worker that died (cluster primary) has its leaves broadcast by another. */
  removeNode(node: string): PresenceChange[] {
    const removed: PresenceChange[] = [];
    for (const [channel, { rows }] of this.#channels) {
      for (const { node: owner, ...row } of [...rows.values()]) {
        if (owner !== node) continue;
        this.remove(node, channel, row.ref);
        removed.push({ channel, row });
      }
    }
    return removed;
  }

  /** Channels with at least one meta: what a leak test checks is back to zero. */
  get size(): number {
    return this.#channels.size;
  }
}
