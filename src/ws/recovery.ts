// Recovery on join, and the position marker, the server's half of vela/client's gap-free history.
//
// A connection that came back with positions (`vela_pos`) gets a Resumption. When its gateway joins a
// history channel it had a position for, the channel's live messages for it are held while the
// history since that position is read; then the client gets `vela:recover {...}`, the missed messages
// go through @OnInfo in order, then the held ones the replay did not already bring (same position),
// then live as usual. Every message published before the read is in the history, every one after the
// join arrives live, so none is skipped, and the positions tell the doubles apart. A gap the history
// cannot cover replays nothing: `recovered: false`, and the held messages are delivered.
import type { Hub, Member } from '../pubsub/hub.js';
import { NOT_RECOVERED, type JoinResult } from '../pubsub/history.js';
import type { PubSubMessage } from '../pubsub/message.js';
import type { EncodedFrame, Frame, FrameEncoder } from './frames.js';

export type { JoinResult };

/** What recovery needs from a connection's process. */
export interface RecoveringConnection extends Member {
  readonly id: string;
  send(frame: Frame): boolean;
  /** Posts a message to the mailbox, for @OnInfo. */
  info(message: unknown): void;
}

/** The live messages of one channel held while its history is read. */
interface Hold {
  readonly messages: PubSubMessage[];
  /** Past this many, the replay could not be gap-free anyway (more than the history keeps). */
  readonly limit: number;
  /** Settles the join: when the read is done, or at once when the hold overflows (the read may hang). */
  readonly settle: (result: JoinResult) => void;
}

export class Resumption {
  readonly #connection: RecoveringConnection;
  readonly #hub: Hub;
  /** Channel → the position presented; each is used by the first join of its channel only. */
  readonly #positions: Map<string, string>;
  readonly #holds = new Map<string, Hold>();
  /**
   * Channel → the newest position this client has (presented, replayed or delivered since). A
   * message at or before it is a double and is dropped: the bus and the history read travel on two
   * connections to Redis, so a message the read already brought can still arrive live after it, and
   * a node that has just joined the bus can deliver live what the client got from its old node.
   */
  readonly #floors = new Map<string, string>();

  constructor(connection: RecoveringConnection, hub: Hub, positions: ReadonlyMap<string, string>) {
    this.#connection = connection;
    this.#hub = hub;
    this.#positions = new Map(positions);
  }

  /** True when `message` was held (its channel is being recovered): the caller must not deliver it. */
  holds(message: PubSubMessage): boolean {
    if (this.#floors.size === 0) return false;
    const floor = this.#floors.get(message.channel);
    if (floor === undefined || message.position === undefined) return false;
    if (!isAfter(message.position, floor)) return true;
    const hold = this.#holds.get(message.channel);
    if (!hold) {
      this.#floors.set(message.channel, message.position);
      return false;
    }
    hold.messages.push(message);
    // A slow read must not hold messages without bound: past the history's size it cannot succeed.
    if (hold.messages.length > hold.limit) this.#release(message.channel, hold, undefined);
    return true;
  }

  /** Recovers `channel` if the client presented a position for it; undefined otherwise. */
  join(channel: string): Promise<JoinResult> | undefined {
    const position = this.#positions.get(channel);
    if (position === undefined) return undefined;
    this.#positions.delete(channel);
    const history = this.#hub.historyOf(channel);
    if (!history) {
      this.#announce(channel, NOT_RECOVERED);
      return Promise.resolve(NOT_RECOVERED);
    }
    let settle!: (result: JoinResult) => void;
    const joined = new Promise<JoinResult>((resolve) => (settle = resolve));
    const hold: Hold = { messages: [], limit: history.size, settle };
    this.#holds.set(channel, hold);
    this.#floors.set(channel, position);
    this.#hub.historySince(channel, position).then(
      (missed) => this.#release(channel, hold, missed),
      (error: unknown) => {
        this.#hub.logger.warn('history could not be read: the connection is not recovered', { connection: this.#connection.id, channel, error });
        this.#release(channel, hold, undefined);
      },
    );
    return joined;
  }

  /** Ends the hold: the replay (or `recovered: false`), then the held messages, in one go. */
  #release(channel: string, hold: Hold, missed: readonly PubSubMessage[] | undefined): JoinResult {
    // Already released (it overflowed): what the read brought is too late to be gap-free.
    if (this.#holds.get(channel) !== hold) return NOT_RECOVERED;
    this.#holds.delete(channel);
    // The gateway left the channel while its history was read: nothing of it is delivered any more.
    if (!this.#hub.isMember(channel, this.#connection)) {
      this.#floors.delete(channel);
      hold.settle(NOT_RECOVERED);
      return NOT_RECOVERED;
    }
    const result: JoinResult = missed ? { recovered: true, missed: missed.length } : NOT_RECOVERED;
    this.#announce(channel, result);
    hold.settle(result);
    const connection = this.#connection;
    if (!missed) {
      // Not recovered: the client reloads its state, and every live message counts from now on.
      this.#floors.delete(channel);
      for (const message of hold.messages) connection.info(message);
      return result;
    }
    let floor = this.#floors.get(channel)!;
    // The replay, then the held messages it did not already bring, each once, in position order.
    for (const message of [...missed, ...hold.messages]) {
      if (message.position === undefined || !isAfter(message.position, floor)) continue;
      floor = message.position;
      connection.info(message);
    }
    this.#floors.set(channel, floor);
    return result;
  }

  #announce(channel: string, { recovered, missed }: JoinResult): void {
    this.#connection.send(`vela:recover ${JSON.stringify({ channel, recovered, missed })}`);
  }
}

/**
 * Whether position `a` comes after `b` on one channel. Every history (memory, Redis) ends a position
 * with the channel's message counter, which grows by one per message within an epoch: `<epoch>:<n>`,
 * `<epoch>:<ms>-<n>`. Positions of another epoch are never "before": a new history starts over.
 */
export function isAfter(a: string, b: string): boolean {
  const epochA = a.slice(0, a.indexOf(':'));
  if (epochA !== b.slice(0, b.indexOf(':'))) return true;
  return counter(a) > counter(b);
}

function counter(position: string): number {
  return Number(position.slice(Math.max(position.lastIndexOf(':'), position.lastIndexOf('-')) + 1));
}

/**
 * The `vela:at` frame that precedes the `frames` reply frames of an @OnInfo delivery of a history
 * message, so vela/client records the position once all of them arrived; undefined for any other
 * info or an empty reply. Built once per broadcast for every member replying as many frames.
 */
export function positionMarker(encoder: FrameEncoder, message: unknown, frames: number): EncodedFrame | undefined {
  const position = (message as { position?: unknown } | null | undefined)?.position;
  if (typeof position !== 'string' || frames < 1) return undefined;
  const { channel } = message as PubSubMessage;
  return encoder.encodeShared(message as object, frames, () => `vela:at ${JSON.stringify({ channel, position, frames })}`);
}
