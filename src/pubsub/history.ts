// Channel history: the contract between the Hub and an adapter that keeps the recent messages of
// history channels (memoryPubSub in the process, redisPubSub in Redis Streams), what a join that
// recovers reports, and the order in which the Hub delivers history broadcasts on its own node.
import type { PubSubMessage, TraceCarrier } from './message.js';
import type { ChannelSizes } from '../telemetry/metrics.js';

/** How much of a channel is kept: the last `size` messages, none older than `ttl` ms. */
export interface HistoryOptions {
  readonly size: number;
  readonly ttl: number;
}

/** One entry of `@Module({ channels })`: an exact channel name or a `prefix*` pattern. */
export interface ChannelOptions {
  /** Keep the channel's recent messages, so a client that comes back gets what it missed. */
  history?: HistoryOptions;
}

/**
 * What `pubsub.join(channel)` resolves with. `recovered: false` means the connection presented a
 * position the history could not cover (or that could not be read): nothing was replayed, and the
 * client should reload what it shows. A join without a position resolves `{ recovered: true, missed: 0 }`.
 */
export interface JoinResult {
  readonly recovered: boolean;
  /** Messages replayed through @OnInfo before the live ones. */
  readonly missed: number;
}

/** The capability of a PubSubAdapter that keeps history (optional: bootstrap refuses `channels` without it). */
export interface PubSubHistory {
  /**
   * Gives `message` the next position of its channel (an opaque string of at most 100 characters),
   * keeps it, and carries it, with that position, to the other nodes, in one step: the order of the
   * history is the order in which every node delivers. Throws PubSubEncodingError synchronously, with
   * nothing kept or sent, for a payload the other nodes could not get. `tc`, when given, goes in the
   * envelope the other nodes receive (see Envelope).
   */
  append(message: PubSubMessage, options: HistoryOptions, tc?: TraceCarrier): string | Promise<string>;
  /**
   * What was broadcast on `channel` after `position`, oldest first, each with its position; undefined
   * when the history cannot cover the whole gap (another epoch, trimmed by size or ttl, a position
   * it did not make).
   */
  since(channel: string, position: string, options: HistoryOptions): readonly PubSubMessage[] | undefined | Promise<readonly PubSubMessage[] | undefined>;
  /** The messages held per channel, for the `vela.history.messages` metric (optional: without it, no such metric). */
  sizes?(): ChannelSizes | Promise<ChannelSizes>;
}

export const NOTHING_MISSED: JoinResult = Object.freeze({ recovered: true, missed: 0 });
export const NOT_RECOVERED: JoinResult = Object.freeze({ recovered: false, missed: 0 });

const DONE = Promise.resolve();

interface Slot {
  position: string | undefined;
  ready: boolean;
  deliver(position: string | undefined): void;
}

/**
 * Local delivery of history broadcasts once each has its position, in publish order even when the
 * adapter answers late (Redis). A position known at once (memory) with nothing waiting is delivered
 * synchronously, as ordinary broadcasts are.
 */
export class PublishOrder {
  readonly #waiting: Slot[] = [];

  /** `position` undefined: the message could not be kept; it is delivered without one. */
  run(position: string | undefined | Promise<string | undefined>, deliver: (position: string | undefined) => void): Promise<void> {
    if (typeof position !== 'object' && this.#waiting.length === 0) {
      deliver(position);
      return DONE;
    }
    const slot: Slot = { position: undefined, ready: false, deliver };
    this.#waiting.push(slot);
    return Promise.resolve(position).then((known) => {
      slot.position = known;
      slot.ready = true;
      this.#drain();
    });
  }

  #drain(): void {
    while (this.#waiting[0]?.ready) {
      const slot = this.#waiting.shift()!;
      slot.deliver(slot.position);
    }
  }
}
