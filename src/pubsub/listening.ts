// When this node hears a channel's messages from the other nodes. With an adapter that routes by
// interest (redisPubSub), a node starts receiving a channel only once it has a member or listener in
// it, and that takes a round trip to Redis: what other nodes broadcast before it completes does not
// reach this node. `pubsub.join()` resolves after it, and a join that recovers reads the channel's
// history only after it, so nothing falls between the history and the live messages.
import type { PubSubAdapter } from './adapter.js';
import { NOTHING_MISSED, type JoinResult } from './history.js';

const JOINED = Promise.resolve(NOTHING_MISSED);

export class Listening {
  readonly #adapter: PubSubAdapter;
  /** Channel → the adapter's promise that it hears the channel, until it settles. */
  readonly #pending = new Map<string, Promise<void>>();

  constructor(adapter: PubSubAdapter) {
    this.#adapter = adapter;
  }

  /** `channel` got its first member or listener on this node. */
  started(channel: string): void {
    const heard = this.#adapter.interest?.(channel, true);
    if (!heard) return;
    const settled: Promise<void> = heard.then(() => {
      if (this.#pending.get(channel) === settled) this.#pending.delete(channel);
    });
    this.#pending.set(channel, settled);
  }

  /** `channel` lost its last member or listener on this node. */
  stopped(channel: string): void {
    this.#pending.delete(channel);
    this.#adapter.interest?.(channel, false);
  }

  /** Settles once this node hears `channel` from the other nodes; undefined when it already does. */
  ready(channel: string): Promise<void> | undefined {
    return this.#pending.get(channel);
  }

  /** What `pubsub.join(channel)` resolves with when there is nothing to recover. */
  joined(channel: string): Promise<JoinResult> {
    const pending = this.#pending.get(channel);
    return pending ? pending.then(() => NOTHING_MISSED) : JOINED;
  }
}
