// The presence capability of a pub/sub adapter (`PubSubAdapter.presence`): where every node's
// tracked metas are kept so that `list` and `count` see the whole cluster. memoryPubSub keeps them
// on its MemoryBus (memory-presence.ts), redisPubSub in Redis (redis/redis-presence.ts). The core
// (tracker.ts) owns what this node tracks, the per-connection bounds and the diffs.
import type { PresenceRow } from './presence-list.js';

/** A change a store made on its own: a dead node's metas it removed, or this node's it put back. */
export interface PresenceChange {
  readonly channel: string;
  readonly row: PresenceRow;
}

/** This node, as a presence store sees it. */
export interface PresenceNode {
  readonly id: string;
  /** Every meta this node tracks now, to put back when the store lost them (Redis restarted). */
  tracked(): Iterable<PresenceChange>;
  /** Metas the store removed for a node that died (broadcast as leaves). */
  removed(changes: readonly PresenceChange[]): void;
  /** This node's metas put back after the store had dropped them (broadcast as joins). */
  restored(changes: readonly PresenceChange[]): void;
}

export interface PresenceStore {
  /** Called once the app's pub/sub started, before the server listens. */
  start?(node: PresenceNode): void | Promise<void>;
  /** Keeps `row` in `channel` for `node`, removing the row `replaces` (an update) in the same step. */
  put(node: string, channel: string, row: PresenceRow, replaces?: string): void | Promise<void>;
  /** Removes the row `ref` of `channel`; nothing when it is not there. */
  remove(node: string, channel: string, ref: string): void | Promise<void>;
  /** Every row of `channel`, from every node. */
  list(channel: string): readonly PresenceRow[] | Promise<readonly PresenceRow[]>;
  /** How many distinct keys `channel` has, without building the list. */
  count(channel: string): number | Promise<number>;
  /** Called by `app.close()` after this node untracked everything: remove what is left of it. */
  stop?(node: string): void | Promise<void>;
}
