// The history memoryPubSub keeps, on its MemoryBus (apps sharing a bus share it, as nodes on Redis
// share Redis): per channel, a ring of the last `size` messages. A channel's offsets count up from 1
// without gaps, so whether the kept messages cover a gap is arithmetic. Each channel log has a random
// epoch: a restarted process, or a log dropped once all of it expired, makes old positions unusable
// (`recovered: false`) instead of pointing into a new count.
import { randomBytes } from 'node:crypto';
import type { HistoryOptions } from './history.js';
import type { PubSubMessage } from './message.js';

interface Kept {
  readonly at: number;
  readonly message: PubSubMessage;
}

interface ChannelLog {
  readonly epoch: string;
  /** The offset of the newest message. */
  last: number;
  readonly size: number;
  readonly ttl: number;
  /** Offset o is at o % size; grows up to size. */
  readonly ring: Kept[];
}

/** How often, at most, logs whose messages have all expired are dropped (during appends). */
const SWEEP_EVERY_MS = 1_000;
const POSITION = /^([0-9a-f]{1,32}):([0-9]{1,15})$/;

export class MemoryHistory {
  readonly #logs = new Map<string, ChannelLog>();
  /** Unique per log made by this history: a random part per history, then a count. */
  readonly #epochBase = randomBytes(6).toString('hex');
  #epochs = 0;
  #sweptAt = Date.now();

  /** Keeps `message` and returns it with its position (frozen, as every member gets it). */
  append(message: PubSubMessage, options: HistoryOptions): PubSubMessage {
    const now = Date.now();
    if (now - this.#sweptAt >= SWEEP_EVERY_MS) this.#sweep(now);
    let log = this.#logs.get(message.channel);
    if (!log) {
      log = { epoch: `${this.#epochBase}${(this.#epochs++).toString(16)}`, last: 0, size: options.size, ttl: options.ttl, ring: [] };
      this.#logs.set(message.channel, log);
    }
    const offset = ++log.last;
    const positioned = Object.freeze({ ...message, position: `${log.epoch}:${offset}` });
    log.ring[offset % log.size] = { at: now, message: positioned };
    return positioned;
  }

  since(channel: string, position: string): readonly PubSubMessage[] | undefined {
    const log = this.#logs.get(channel);
    const parsed = POSITION.exec(position);
    if (!log || !parsed || parsed[1] !== log.epoch) return undefined;
    const after = Number(parsed[2]);
    const missed = log.last - after;
    if (missed < 0 || missed > log.size) return undefined;
    if (missed === 0) return [];
    // The oldest missed is the oldest to replay: all of them are kept if it is.
    if (log.ring[(after + 1) % log.size]!.at < Date.now() - log.ttl) return undefined;
    const messages: PubSubMessage[] = [];
    for (let offset = after + 1; offset <= log.last; offset += 1) messages.push(log.ring[offset % log.size]!.message);
    return messages;
  }

  /** The messages held per channel (expired ones too, until the log is dropped). */
  *sizes(): Iterable<[string, number]> {
    for (const [channel, log] of this.#logs) yield [channel, Math.min(log.last, log.size)];
  }

  /** Drops the logs whose newest message has expired: a channel used once must not be kept for ever. */
  #sweep(now: number): void {
    this.#sweptAt = now;
    for (const [channel, log] of this.#logs) if (log.ring[log.last % log.size]!.at < now - log.ttl) this.#logs.delete(channel);
  }
}
