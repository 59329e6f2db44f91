// Merges the messages of one topic that reach this node within a window into one local delivery per
// channel. Presence diffs come from every node, each node's own coalesced per window: delivered as
// they come, a watcher on a cluster of N nodes would get N diffs per window, and the fan-out to every
// member of a busy channel costs per delivery. Merged here, a member gets at most one per window,
// whatever the number of nodes; the messages still cross the bus as they were published.
import type { PubSubMessage } from './message.js';

export type Merge = (earlier: unknown, later: unknown) => unknown;

interface Held {
  payload: unknown;
  readonly timer: NodeJS.Timeout;
}

export class Coalescer {
  readonly #held = new Map<string, Held>();

  /** `deliver` gets one message per channel and window, its payload the merge of those held. */
  constructor(
    readonly topic: string,
    private readonly merge: Merge,
    private readonly window: number,
    private readonly deliver: (message: PubSubMessage) => void,
  ) {}

  /** Holds `message` (of this topic, from no connection); false when it is not one to merge. */
  hold(message: PubSubMessage): boolean {
    if (message.topic !== this.topic || message.sender !== null) return false;
    const held = this.#held.get(message.channel);
    if (held) {
      held.payload = this.merge(held.payload, message.payload);
      return true;
    }
    const timer = setTimeout(() => this.#release(message.channel), this.window);
    timer.unref();
    this.#held.set(message.channel, { payload: message.payload, timer });
    return true;
  }

  /** Delivers everything held now (the app is closing). */
  flush(): void {
    for (const channel of [...this.#held.keys()]) this.#release(channel);
  }

  #release(channel: string): void {
    const held = this.#held.get(channel);
    if (!held) return;
    clearTimeout(held.timer);
    this.#held.delete(channel);
    this.deliver(Object.freeze({ channel, sender: null, topic: this.topic, payload: held.payload }));
  }
}
