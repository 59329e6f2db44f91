// Merges the messages of one topic that reach this node within a window into one local delivery per
// channel. Presence diffs come from every node, each node's own coalesced per window: delivered as
// they come, a watcher on a cluster of N nodes would get N diffs per window, and the fan-out to every
// member of a busy channel costs per delivery. Merged here, a member gets at most one per window,
// whatever the number of nodes; the messages still cross the bus as they were published.
//
// The window grows with the cost of the fan-out: a channel whose last local delivery kept the event
// loop busy for d ms waits at least COST_FACTOR × d before its next one. On a fast machine or a small
// channel that is the configured window; on a slow machine with a huge channel the diffs come less
// often but bigger, and their fan-out never takes more than about a fifth of the loop, so upgrades,
// track() and the other channels are not starved (a fixed window would queue diffs without bound).
// `deliver` may take several turns of the loop (the hub hands a big channel's members their diff in
// slices, so a track() or count() waits for a slice, not a whole fan-out). A channel's next diff,
// released while the one before is still going out, follows it slice by slice (setImmediate callbacks
// run in the order they were queued), so each member keeps the order.
import type { PubSubMessage } from './message.js';

/** A channel waits at least this many times its last delivery's duration before the next. */
export const COST_FACTOR = 4;

export type Merge = (earlier: unknown, later: unknown) => unknown;

/** Delivers one message to the channel's members; returns (or resolves to) the ms the loop was busy with it. */
export type Deliver = (message: PubSubMessage) => number | Promise<number>;

interface Held {
  payload: unknown;
  readonly timer: NodeJS.Timeout;
}

export class Coalescer {
  readonly #held = new Map<string, Held>();
  /** Last delivery's duration in ms, only for channels where it stretches the window (bounded by them). */
  readonly #cost = new Map<string, number>();

  /** `deliver` gets one message per channel and window, its payload the merge of those held. */
  constructor(
    readonly topic: string,
    private readonly merge: Merge,
    private readonly window: number,
    private readonly deliver: Deliver,
  ) {}

  /** Holds `message` (of this topic, from no connection); false when it is not one to merge. */
  hold(message: PubSubMessage): boolean {
    if (message.topic !== this.topic || message.sender !== null) return false;
    const held = this.#held.get(message.channel);
    if (held) {
      held.payload = this.merge(held.payload, message.payload);
      return true;
    }
    const timer = setTimeout(() => this.#release(message.channel), this.windowOf(message.channel));
    timer.unref();
    this.#held.set(message.channel, { payload: message.payload, timer });
    return true;
  }

  /** How long a message of `channel` held now waits: the window, or longer after a costly delivery. */
  windowOf(channel: string): number {
    return Math.max(this.window, COST_FACTOR * (this.#cost.get(channel) ?? 0));
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
    const busy = this.deliver(Object.freeze({ channel, sender: null, topic: this.topic, payload: held.payload }));
    if (typeof busy === 'number') this.#record(channel, busy);
    else void busy.then((ms) => this.#record(channel, ms));
  }

  #record(channel: string, took: number): void {
    if (COST_FACTOR * took > this.window) this.#cost.set(channel, took);
    else this.#cost.delete(channel);
  }
}
