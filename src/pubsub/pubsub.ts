// The PubSub users inject (Nova's nova_pubsub with Phoenix's vocabulary). In a gateway it is bound
// to that connection, its "self": join/leave act on the connection, and its @OnInfo receives the
// messages. Anywhere else it has no self and listens with subscribe().
import type { Hub, Member } from './hub.js';
import type { JoinResult } from './history.js';
import type { PubSubMessage } from './message.js';

export type PubSubListener<T = unknown> = (message: PubSubMessage<T>) => void | Promise<void>;

/**
 * What `subscribe()` returns: call it to stop listening. `ready` settles once this node hears the
 * channel from the other nodes (at once, unless the listener is the channel's first member here on
 * redisPubSub, which routes by interest: a round trip to Redis).
 */
export type Subscription = (() => void) & { readonly ready: Promise<void> };

const READY = Promise.resolve();

export class PubSub {
  readonly #hub: Hub;
  readonly #self: Member | undefined;
  readonly #onListenerError: (error: unknown, channel: string) => void;

  /** Built by Vela: injected per connection in gateways, as a singleton elsewhere. */
  constructor(hub: Hub, self: Member | undefined, onListenerError: (error: unknown, channel: string) => void) {
    this.#hub = hub;
    this.#self = self;
    this.#onListenerError = onListenerError;
  }

  /**
   * This connection joins `channel`: its @OnInfo receives every message broadcast there. On a history
   * channel, a connection that came back with a position for it (vela/client presents one) first gets
   * what it missed, replayed through @OnInfo in order, then the live messages, none twice: the promise
   * tells how that went, `{ recovered, missed }`. It never rejects (a history that cannot be read is
   * logged and counts as not recovered); a join with nothing to recover resolves `{ recovered: true, missed: 0 }`
   * once this node hears the channel from the other nodes (at once, unless it is the channel's first
   * member here on redisPubSub: a round trip to Redis). Awaiting it is optional: membership starts at
   * once either way.
   */
  join(channel: string): Promise<JoinResult> {
    requireChannel(channel);
    const self = this.#requireSelf('join');
    this.#hub.join(channel, self);
    return self.recover?.(channel) ?? this.#hub.listening.joined(channel);
  }

  leave(channel: string): void {
    this.#hub.leave(requireChannel(channel), this.#requireSelf('leave'));
  }

  /**
   * To every member on every node, the sender included (Nova's semantics). Rejects with
   * PubSubEncodingError, having delivered nothing, when the payload cannot travel to the other nodes
   * as JSON (a BigInt, a cycle, nesting over 510 levels; checked by the Redis adapter and by a shared
   * MemoryBus). A lost Redis connection does not reject: it is logged, and local members still get it.
   */
  broadcast<T>(channel: string, topic: string, payload: T): Promise<void> {
    return this.#hub.publish(this.#message(channel, topic, payload));
  }

  /** To every member on every node except this connection. Rejects as `broadcast` does. */
  broadcastFrom<T>(channel: string, topic: string, payload: T): Promise<void> {
    const self = this.#requireSelf('broadcastFrom');
    return this.#hub.publish(this.#message(channel, topic, payload), { except: self });
  }

  /** To the members on this node only. */
  localBroadcast<T>(channel: string, topic: string, payload: T): void {
    void this.#hub.publish(this.#message(channel, topic, payload), { local: true });
  }

  /** Connection ids in `channel` on every node. */
  members(channel: string): Promise<string[]> {
    return this.#hub.members(requireChannel(channel));
  }

  /** Connection ids in `channel` on this node. */
  localMembers(channel: string): string[] {
    return this.#hub.localMembers(requireChannel(channel));
  }

  /**
   * Calls `listener` with every message broadcast on `channel`, from any code (services, jobs).
   * Returns the function that stops it; its `ready` tells when messages other nodes broadcast reach it
   * (see Subscription). A listener that throws is logged and stays subscribed.
   */
  subscribe<T = unknown>(channel: string, listener: PubSubListener<T>): Subscription {
    requireChannel(channel);
    if (typeof listener !== 'function') throw new TypeError(`subscribe('${channel}', listener): the listener must be a function.`);
    const onError = (error: unknown) => this.#onListenerError(error, channel);
    const member: Member = {
      id: null,
      deliver: (message) => {
        try {
          const pending = listener(message as PubSubMessage<T>);
          if (pending && typeof pending.then === 'function') pending.then(undefined, onError);
        } catch (error) {
          onError(error);
        }
      },
    };
    this.#hub.join(channel, member);
    const off = () => this.#hub.leave(channel, member);
    return Object.assign(off, { ready: this.#hub.listening.ready(channel) ?? READY });
  }

  #message<T>(channel: string, topic: string, payload: T): PubSubMessage<T> {
    if (typeof topic !== 'string') throw new TypeError(`The topic of a pub/sub message must be a string, got ${typeof topic}.`);
    return Object.freeze({ channel: requireChannel(channel), sender: this.#self?.id ?? null, topic, payload });
  }

  #requireSelf(method: string): Member {
    if (this.#self) return this.#self;
    throw new Error(
      `pubsub.${method}() needs a connection, and this PubSub was not injected into a gateway. ` +
        `Outside gateways, listen with pubsub.subscribe(channel, listener) and send with pubsub.broadcast().`,
    );
  }
}

export function requireChannel(channel: string): string {
  if (typeof channel !== 'string' || channel === '') throw new TypeError(`A channel name must be a non-empty string, got ${JSON.stringify(channel)}.`);
  return channel;
}
