// Recovery on join, and the position marker, the server's half of vela/client's gap-free history.
//
// A connection that came back with positions (`vela_pos`) gets a Resumption. When its gateway joins a
// history channel it had a position for, the channel's live messages for it are held while the
// history since that position is read; then the client gets `vela:recover {...}`, the missed messages
// go through @OnInfo in order, then the held ones the replay did not already bring (same position),
// then live as usual. Every message published before the read is in the history, every one after the
// join arrives live, so none is skipped, and the positions tell the doubles apart. A gap the history
// cannot cover replays nothing: `recovered: false`, and the held messages are delivered.
import type { Hub } from '../pubsub/hub.js';
import { NOT_RECOVERED, type JoinResult } from '../pubsub/history.js';
import type { PubSubMessage } from '../pubsub/message.js';
import type { EncodedFrame, Frame, FrameEncoder } from './frames.js';

export type { JoinResult };

/** What recovery needs from a connection's process. */
export interface RecoveringConnection {
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
}

export class Resumption {
  readonly #connection: RecoveringConnection;
  readonly #hub: Hub;
  /** Channel → the position presented; each is used by the first join of its channel only. */
  readonly #positions: Map<string, string>;
  readonly #holds = new Map<string, Hold>();

  constructor(connection: RecoveringConnection, hub: Hub, positions: ReadonlyMap<string, string>) {
    this.#connection = connection;
    this.#hub = hub;
    this.#positions = new Map(positions);
  }

  /** True when `message` was held (its channel is being recovered): the caller must not deliver it. */
  holds(message: PubSubMessage): boolean {
    if (this.#holds.size === 0) return false;
    const hold = this.#holds.get(message.channel);
    if (!hold) return false;
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
    const hold: Hold = { messages: [], limit: history.size };
    this.#holds.set(channel, hold);
    return this.#hub.historySince(channel, position).then(
      (missed) => this.#release(channel, hold, missed),
      (error: unknown) => {
        this.#hub.logger.warn('history could not be read: the connection is not recovered', { connection: this.#connection.id, channel, error });
        return this.#release(channel, hold, undefined);
      },
    );
  }

  /** Ends the hold: the replay (or `recovered: false`), then the held messages, in one go. */
  #release(channel: string, hold: Hold, missed: readonly PubSubMessage[] | undefined): JoinResult {
    // Already released (it overflowed): what the read brought is too late to be gap-free.
    if (this.#holds.get(channel) !== hold) return NOT_RECOVERED;
    this.#holds.delete(channel);
    const result: JoinResult = missed ? { recovered: true, missed: missed.length } : NOT_RECOVERED;
    this.#announce(channel, result);
    const connection = this.#connection;
    for (const message of missed ?? []) connection.info(message);
    const replayed = missed && hold.messages.length > 0 ? new Set(missed.map((message) => message.position)) : undefined;
    for (const message of hold.messages) if (message.position === undefined || !replayed?.has(message.position)) connection.info(message);
    return result;
  }

  #announce(channel: string, { recovered, missed }: JoinResult): void {
    this.#connection.send(`vela:recover ${JSON.stringify({ channel, recovered, missed })}`);
  }
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
