// Which shard channels this node subscribes to (see keyspace.ts): a shard while at least one of its
// Vela channels has a member or a listener here. Counted per shard, so a thousand rooms cost at most
// one subscription each of the shards they fall in, and the subscription goes with the last of them.
//
// Commands go out in call order on the one subscriber connection, and Redis applies them in that
// order, so a leave and a join in quick succession end subscribed, whatever the replies' timing.
// A join is heard from the moment Redis confirms the subscription: `add` hands back that moment.
//
// A shard's senders' running numbers start over when it is subscribed: what it carried meanwhile was
// not for this node. They start over when the SUBSCRIBE is sent, not when its reply is seen, because
// ioredis parses a whole read at once: the reply and the shard's first message often arrive together,
// the message is handled at once and the reply's promise only afterwards, so starting over then
// would forget the first number and the next gap would go uncounted. Only while an UNSUBSCRIBE of
// the shard is unconfirmed can its old messages still arrive: then the count starts over again at
// the confirmation.
import type { Logger } from '../logging/logger.js';
import type { Keyspace } from './keyspace.js';

/** SUBSCRIBE on one Redis, SSUBSCRIBE on a cluster (the shard's primary). */
export interface ShardSubscriber {
  subscribe(carrier: string): Promise<unknown>;
  unsubscribe(carrier: string): Promise<unknown>;
  /** False while the connection is down: nothing is heard then anyway, so no join waits for it. */
  readonly connected: boolean;
}

export class Interest {
  readonly #keyspace: Keyspace;
  readonly #subscriber: ShardSubscriber;
  readonly #logger: Logger;
  /** Called when a shard's messages start reaching this node anew: its senders' running numbers start over. */
  readonly #onSubscribing: (carrier: string) => void;
  /** Shard → its channels with local interest. */
  readonly #channels = new Map<number, number>();
  /** Shard → the subscription Redis has not confirmed yet. */
  readonly #pending = new Map<number, Promise<void>>();
  /** Shard → how many of its UNSUBSCRIBEs Redis has not confirmed yet. */
  readonly #leaving = new Map<number, number>();

  constructor(keyspace: Keyspace, subscriber: ShardSubscriber, logger: Logger, onSubscribing: (carrier: string) => void) {
    this.#keyspace = keyspace;
    this.#subscriber = subscriber;
    this.#logger = logger;
    this.#onSubscribing = onSubscribing;
  }

  /** Shards subscribed (or being subscribed) now: at most `shards`. */
  get size(): number {
    return this.#channels.size;
  }

  /**
   * `channel` has its first member or listener here. Resolves (never rejects) once its messages reach
   * this node; undefined when they already do.
   */
  add(channel: string): Promise<void> | undefined {
    const shard = this.#keyspace.shardOf(channel);
    if (shard === undefined) return undefined;
    const count = this.#channels.get(shard) ?? 0;
    this.#channels.set(shard, count + 1);
    if (count > 0) return this.#pending.get(shard);
    const carrier = this.#keyspace.carrier(shard);
    this.#onSubscribing(carrier);
    const oldMessagesPossible = this.#leaving.has(shard);
    const subscribed = this.#subscriber.subscribe(carrier).then(
      () => {
        if (oldMessagesPossible) this.#onSubscribing(carrier);
      },
      (error: unknown) => this.#logger.warn('redis pub/sub could not subscribe to a shard: its channels miss messages from other nodes until the next reconnect', { carrier, error }),
    );
    // During an outage the SUBSCRIBE waits in the queue for the reconnect; a join does not wait with it.
    if (!this.#subscriber.connected) return undefined;
    const pending: Promise<void> = subscribed.then(() => {
      if (this.#pending.get(shard) === pending) this.#pending.delete(shard);
    });
    this.#pending.set(shard, pending);
    return pending;
  }

  /** `channel` lost its last member or listener here. */
  remove(channel: string): void {
    const shard = this.#keyspace.shardOf(channel);
    if (shard === undefined) return;
    const count = this.#channels.get(shard);
    if (count === undefined) return;
    if (count > 1) return void this.#channels.set(shard, count - 1);
    this.#channels.delete(shard);
    this.#pending.delete(shard);
    this.#leaving.set(shard, (this.#leaving.get(shard) ?? 0) + 1);
    this.#subscriber
      .unsubscribe(this.#keyspace.carrier(shard))
      .catch((error: unknown) => {
        this.#logger.debug('redis pub/sub could not unsubscribe from a shard; its messages reach this node for nothing', { error });
      })
      .finally(() => {
        const left = (this.#leaving.get(shard) ?? 1) - 1;
        if (left === 0) this.#leaving.delete(shard);
        else this.#leaving.set(shard, left);
      });
  }

  /** What a join of `channel` still waits for before its messages reach this node. */
  ready(channel: string): Promise<void> | undefined {
    const shard = this.#keyspace.shardOf(channel);
    return shard === undefined ? undefined : this.#pending.get(shard);
  }
}
