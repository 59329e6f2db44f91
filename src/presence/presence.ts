// The Presence users inject (Phoenix.Presence): who is in a channel, on every node. In a gateway it is
// bound to that connection: what it tracks is the connection's, and goes when the socket closes.
// Anywhere else (`app.presence`, a service) it reads (`list`, `count`) but does not track: a meta
// with no connection behind it would have nothing to untrack it, and would outlive its user.
import type { LocalConnection } from '../pubsub/hub.js';
import { requireChannel } from '../pubsub/pubsub.js';
import type { PresenceList, PresenceMeta } from './presence-list.js';
import type { PresenceTracker } from './tracker.js';

export class Presence {
  readonly #tracker: PresenceTracker;
  readonly #self: LocalConnection | undefined;

  /** Built by Vela: injected per connection in gateways, as a singleton elsewhere. */
  constructor(tracker: PresenceTracker, self: LocalConnection | undefined) {
    this.#tracker = tracker;
    this.#self = self;
  }

  /**
   * This connection is present in `channel` under `key` (a user id), with `meta` (a plain JSON object
   * of at most 4 KiB, 16 levels deep): every member of the channel gets a `presence_diff` with the
   * join, and the meta stays until `untrack` or the socket closes. Tracking a key this connection
   * already tracks in that channel replaces its meta, as `update` does. A connection tracks at most
   * 100 (channel, key) pairs. Bad input throws TypeError or RangeError at the call; nothing is stored.
   */
  track<M extends object>(channel: string, key: string, meta: M): Promise<void> {
    return this.#tracker.track(this.#requireSelf('track'), requireChannel(channel), key, meta as PresenceMeta);
  }

  /** Replaces this connection's meta under `key`: a diff with the old meta leaving and the new joining (a new `ref`). */
  update<M extends object>(channel: string, key: string, meta: M): Promise<void> {
    return this.#tracker.update(this.#requireSelf('update'), requireChannel(channel), key, meta as PresenceMeta);
  }

  /** This connection is no longer present under `key`; nothing when it was not. */
  untrack(channel: string, key: string): Promise<void> {
    return this.#tracker.untrack(this.#requireSelf('untrack'), requireChannel(channel), key);
  }

  /** Who is in `channel` on every node: `{ [key]: { metas: [{ ...meta, ref }] } }`, one meta per tracking connection. */
  list<M extends object = PresenceMeta>(channel: string): Promise<PresenceList<M>> {
    return this.#tracker.list(requireChannel(channel)) as Promise<PresenceList<M>>;
  }

  /** How many keys are present in `channel` on every node (one user in five tabs counts once); no list is built. */
  count(channel: string): Promise<number> {
    return this.#tracker.count(requireChannel(channel));
  }

  #requireSelf(method: string): LocalConnection {
    if (this.#self) return this.#self;
    throw new Error(
      `presence.${method}() needs a connection, and this Presence was not injected into a gateway. ` +
        `Track from the gateway of the socket that is present (its meta then goes when the socket closes); ` +
        `elsewhere, read with presence.list() and presence.count().`,
    );
  }
}
