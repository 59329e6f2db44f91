// Pub/sub across processes on Redis. A node publishes each channel's messages on that channel's
// shard (`<prefix>:bus:<n>`, picked by a hash of its name) and subscribes to the shards of the
// channels it has members or listeners in, so it receives what its own members need, not everything
// (interest routing: keyspace.ts says why shards, interest.ts counts them). What is not a channel's
// message (Comms to a session, send-all) travels on `<prefix>:bus`, which every node subscribes to.
// Redis keeps the order of each publisher's messages; a node skips its own echoes by node id. On a
// Redis Cluster the shards are SPUBLISHed and SSUBSCRIBEd, each on the primary of its slot.
//
// Who is in which channel on the other nodes, for members(), is redis-membership.ts: a channel's
// members are written once this node hears the channel, so a member another node lists gets what is
// broadcast from then on.
//
// Outages are at most once: while Redis is away, local delivery carries on and envelopes for other
// nodes are dropped — counted and logged when it comes back — rather than queued and replayed
// after the subscribers may or may not have re-subscribed. Every envelope carries its node's running
// number on its Redis channel, so a receiver also counts, and logs, what it missed whichever side the
// outage was on (sequences.ts).
// Only the connection makes an outage: a payload JSON cannot carry is refused to its caller before
// anything is sent, an error Redis answers loses that one message, and a PUBLISH that succeeds ends
// any outage.
import type { Redis } from 'ioredis';
import { ConfigError } from '../app/errors.js';
import type { Logger } from '../logging/logger.js';
import type { HealthState } from '../app/health-options.js';
import type { PubSubAdapter, PubSubNode } from '../pubsub/adapter.js';
import type { HistoryOptions, PubSubHistory } from '../pubsub/history.js';
import type { Envelope, PubSubMessage, TraceCarrier } from '../pubsub/message.js';
import { connectRedis, isClustered, openRedis, type RedisConnectionOptions } from './connection.js';
import { appendToHistory, HistorySizes, readHistory } from './redis-history.js';
import { decodeWire, encodeWire } from './wire.js';
import { RedisAnswerStore } from './redis-answers.js';
import { RedisPresence } from './redis-presence.js';
import { DEFAULT_SHARDS, Keyspace, type Routing } from './keyspace.js';
import { Interest, type ShardSubscriber } from './interest.js';
import { Numbering, Sequences } from './sequences.js';
import { Membership } from './redis-membership.js';

const DONE = Promise.resolve();
const MAX_SHARDS = 65_536;

export interface RedisPubSubOptions extends RedisConnectionOptions {
  /** Prefix of every key and channel, so several apps can share one Redis. Default 'vela'. */
  keyPrefix?: string;
  /** How long a node's members outlive its last heartbeat, in ms (it refreshes every third of it). Default 15 000. */
  membershipTtl?: number;
  /**
   * How long the presence metas of a node that died without closing (SIGKILL) outlive its last
   * refresh, in ms: it refreshes every third of it, and the other nodes then remove its metas and
   * broadcast the leaves within `presenceTimeout` and a third. Default 5 000.
   */
  presenceTimeout?: number;
  /**
   * 'interest' (the default): a node receives the messages of the channels it has members or
   * listeners in, through hashed shard channels. 'all': every node receives every message on one
   * channel, as before Vela had interest routing (one subscription per node; see docs/scaling.md "Large
   * clusters"). Every node of an app must route alike: a node that differs is refused at start.
   */
  routing?: Routing;
  /**
   * Shard channels of interest routing: a node subscribes to at most this many (plus `<prefix>:bus`),
   * and also hears the channels that share a shard with its own. Default 8192; same on every node.
   */
  shards?: number;
}

/**
 * Runs several Vela processes as one app: broadcasts, `members()` and Comms reach every node.
 *
 * @example
 * await bootstrap(AppModule, { pubsub: redisPubSub({ url: 'redis://127.0.0.1:6379' }) });
 */
export function redisPubSub(options: RedisPubSubOptions = {}): PubSubAdapter {
  return new RedisPubSub(options);
}

class RedisPubSub implements PubSubAdapter {
  readonly name = 'redis';
  readonly #options: RedisPubSubOptions;
  readonly #keys: Keyspace;
  readonly #ttl: number;
  #node?: PubSubNode;
  #pub?: Redis;
  #sub?: Redis;
  #heartbeat?: NodeJS.Timeout;
  #stopping = false;
  /** Set while the publishing connection is down: when it went, and what was dropped since. */
  #outage?: { since: number; dropped: number };
  /** The numbers this node's envelopes carry, per Redis channel. */
  readonly #numbers = new Numbering();
  /** The numbers heard from other nodes: what never arrived, what arrived twice. */
  readonly #heard = new Sequences(() => this.#logger, () => this.#node?.bus);
  /** The shards this node subscribes to, once started; channels of interest before that wait here. */
  #interest?: Interest;
  readonly #early = new Set<string>();
  readonly #membership: Membership;
  #answers?: RedisAnswerStore;
  /** Presence metas of every node, and the sweep of dead nodes' (redis-presence.ts). */
  readonly presence: RedisPresence;

  constructor(options: RedisPubSubOptions) {
    this.#options = options;
    this.#ttl = options.membershipTtl ?? 15_000;
    const timeout = options.presenceTimeout ?? 5_000;
    if (!Number.isFinite(timeout) || timeout < 1) throw new RangeError(`redisPubSub({ presenceTimeout }) must be a number of ms ≥ 1, got ${timeout}.`);
    const routing = options.routing ?? 'interest';
    if (routing !== 'interest' && routing !== 'all') throw new ConfigError(`redisPubSub({ routing: ${JSON.stringify(routing)} }): routing is 'interest' (the default) or 'all'.`);
    const shards = options.shards ?? DEFAULT_SHARDS;
    if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
      throw new ConfigError(`redisPubSub({ shards: ${String(shards)} }): shards is a whole number from 1 to ${MAX_SHARDS}, e.g. ${DEFAULT_SHARDS}.`);
    }
    this.#keys = new Keyspace({ prefix: options.keyPrefix ?? 'vela', clustered: isClustered(options), routing, shards });
    this.presence = new RedisPresence({ prefix: this.#keys.group, timeout, redis: () => this.#pub!, logger: () => this.#logger });
    this.#membership = new Membership({
      keys: this.#keys,
      ttl: this.#ttl,
      redis: () => this.#pub!,
      node: () => this.#node!,
      down: () => this.#outage !== undefined,
      heard: (channel) => this.#interest?.ready(channel),
    });
  }

  get #logger(): Logger {
    return this.#node!.logger;
  }

  async start(node: PubSubNode): Promise<void> {
    if (this.#node) throw new Error('This redisPubSub() adapter is already used by an app; create one per app.');
    this.#node = node;
    const [pub, sub] = await Promise.all([
      // No retry: ioredis otherwise re-sends, after reconnecting, the commands that had no reply when the
      // connection broke, and a PUBLISH that Redis had delivered reached the other nodes twice. Failing
      // them at once keeps delivery at most once; they count as dropped (some may have arrived).
      openRedis(this.#options, { maxRetriesPerRequest: 0 }),
      // The subscriber keeps its queue so ioredis can re-subscribe on reconnect by itself.
      openRedis(this.#options, { enableOfflineQueue: true, shardedSubscriber: true }),
    ]);
    this.#pub = pub;
    this.#sub = sub;
    pub.on('error', (error: Error) => this.#logger.debug('redis pub/sub connection error', { error: error.message }));
    sub.on('error', (error: Error) => this.#logger.debug('redis subscriber connection error', { error: error.message }));
    try {
      await Promise.all([connectRedis(pub, 'pub/sub'), connectRedis(sub, 'pub/sub')]);
      await this.#membership.claimRouting();
      const subscriber = this.#subscriber(sub);
      await subscriber.subscribe(this.#keys.bus);
      this.#interest = new Interest(this.#keys, subscriber, node.logger, (carrier) => this.#heard.restart(carrier));
      await Promise.all([...this.#early].map((channel) => this.#interest!.add(channel)));
      this.#early.clear();
    } catch (error) {
      // Bootstrap fails, and nothing may be left behind: one connection that did open (the other was
      // refused: maxclients, say) would keep reconnecting and the process would never exit.
      pub.disconnect();
      sub.disconnect();
      throw error;
    }
    this.#watch(pub, sub);
    await this.#membership.publish();
    this.#heartbeat = setInterval(() => this.#tick(), Math.max(Math.floor(this.#ttl / 3), 1));
    this.#heartbeat.unref();
  }

  /** Up while both connections are ready (ioredis's `status`): down through an outage, so a balancer stops sending clients here. */
  health(): HealthState {
    const publisher = this.#pub?.status ?? 'not started';
    const subscriber = this.#sub?.status ?? 'not started';
    return { up: publisher === 'ready' && subscriber === 'ready', publisher, subscriber };
  }

  /** SUBSCRIBE on one Redis; SSUBSCRIBE on a cluster, where each shard lives on the primary of its slot. */
  #subscriber(sub: Redis): ShardSubscriber {
    const clustered = this.#keys.clustered;
    sub.on(clustered ? 'smessage' : 'message', (carrier: string, raw: string) => this.#receive(carrier, raw));
    return {
      subscribe: (carrier) => (clustered ? sub.ssubscribe(carrier) : sub.subscribe(carrier)),
      unsubscribe: (carrier) => (clustered ? sub.sunsubscribe(carrier) : sub.unsubscribe(carrier)),
      get connected() {
        return sub.status === 'ready';
      },
    };
  }

  interest(channel: string, interested: boolean): Promise<void> | undefined {
    if (this.#stopping) return undefined; // the members leaving as the app closes: nothing to carry any more
    if (!this.#interest) {
      if (interested) this.#early.add(channel);
      else this.#early.delete(channel);
      return undefined;
    }
    if (interested) return this.#interest.add(channel);
    this.#interest.remove(channel);
    return undefined;
  }

  /** Not async: an envelope JSON cannot carry throws PubSubEncodingError here, in the caller (see encodeWire). */
  publish(envelope: Envelope): Promise<void> {
    const carrier = envelope.type === 'message' ? this.#keys.carrierOf(envelope.message.channel) : this.#keys.bus;
    // A refused payload is the caller's error, not a lost message: it neither touches the outage
    // state nor takes a number. Numbered even when dropped here: the receivers count the gap.
    const wire = this.#numbers.number(carrier, (seq) => encodeWire(this.#node!.id, envelope, seq, this.#publishTime()));
    // Nothing is queued while the connection is down. A ready connection is always tried: the
    // outage flag then is stale, and the PUBLISH that succeeds ends it.
    if (this.#outage && this.#pub!.status !== 'ready') {
      this.#countDropped();
      return DONE;
    }
    return this.#send(carrier, wire);
  }

  async #send(carrier: string, wire: string): Promise<void> {
    const pub = this.#pub!;
    const sent = this.#keys.clustered ? pub.spublish(carrier, wire) : pub.publish(carrier, wire);
    // A lost connection is counted (#carry); only an error Redis answered reaches the Hub, which logs it.
    await this.#carry(sent).catch((error: unknown) => {
      if (isReplyError(error)) throw error;
    });
  }

  /** History channels: kept in Redis Streams and published in one script (redis-history.ts). */
  readonly history: PubSubHistory = {
    append: (message, options, tc) => this.#keep(message, options, tc),
    since: (channel, position, options) => readHistory(this.#pub!, this.#keys, channel, position, options),
    sizes: () => this.#historySizes.read(this.#pub!, this.#keys),
  };
  readonly #historySizes = new HistorySizes();

  /** Rejects when the message could not be kept (the Hub logs it and delivers it here without a position). */
  #keep(message: PubSubMessage, options: HistoryOptions, tc: TraceCarrier | undefined): Promise<string> {
    const envelope: Envelope = tc ? { type: 'message', message, tc } : { type: 'message', message };
    const carrier = this.#keys.carrierOf(message.channel);
    const wire = this.#numbers.number(carrier, (seq) => encodeWire(this.#node!.id, envelope, seq, this.#publishTime())); // as in publish()
    if (this.#outage && this.#pub!.status !== 'ready') {
      this.#countDropped();
      return Promise.reject(new Error('the Redis connection is down'));
    }
    this.#historySizes.appended(message.channel, options);
    return this.#carry(appendToHistory(this.#pub!, this.#keys, message.channel, wire, options));
  }

  /** What one command that carries a message did to the outage state; rejects as the command did. */
  async #carry<T>(command: Promise<T>): Promise<T> {
    try {
      const result = await command;
      this.#recovered();
      return result;
    } catch (error) {
      // Redis answered, with an error (an ACL without PUBLISH, say): the link is up, so this message
      // is lost but nothing else is. The receivers count the gap.
      if (!isReplyError(error)) {
        this.#lost(error);
        this.#countDropped();
      }
      throw error;
    }
  }

  remoteMembers(channel: string): Promise<string[]> {
    return this.#outage ? Promise.resolve([]) : this.#membership.remote(channel);
  }

  membershipChanged(channel: string): void {
    this.#membership.changed(channel);
  }

  /** Answers to requests, in Redis on the publishing connection: any node answers a repeat. */
  answers(): RedisAnswerStore {
    return (this.#answers ??= new RedisAnswerStore(this.#keys, () => this.#pub!));
  }

  async stop(): Promise<void> {
    if (!this.#node || this.#stopping) return;
    this.#stopping = true;
    this.#answers?.stop();
    clearInterval(this.#heartbeat);
    await this.#membership.remove();
    await Promise.all([quit(this.#sub!), quit(this.#pub!)]);
  }

  /** `carrier`: the Redis channel it came on (the bus, or a shard). */
  #receive(carrier: string, raw: string): void {
    const decoded = decodeWire(raw);
    if (!decoded.ok) {
      this.#logger.warn('dropped a pub/sub message from Redis that this node cannot read', { reason: decoded.reason, channel: carrier });
      return;
    }
    if (decoded.node === this.#node!.id) return; // our own echo: local members already have it
    if (decoded.seq !== undefined && !this.#heard.check(carrier, decoded.node, decoded.seq)) return;
    try {
      this.#node!.receive(decoded.envelope, decoded.publishedAt);
    } catch (error) {
      // This runs inside ioredis's socket data handler: a throw here would be an uncaught exception.
      this.#logger.error('pub/sub could not deliver a message from another node', { type: decoded.envelope.type, error });
    }
  }

  /** Logs outages once, with what they cost, and republishes membership when Redis is back. */
  #watch(pub: Redis, sub: Redis): void {
    pub.on('close', () => this.#lost(undefined));
    pub.on('ready', () => this.#recovered());
    let subscriberDown = false;
    sub.on('close', () => {
      if (this.#stopping || subscriberDown) return;
      subscriberDown = true;
      // Also what a slow subscriber sees when Redis enforces `client-output-buffer-limit pubsub`.
      this.#logger.warn('redis subscriber connection closed; messages from other nodes are missed until it re-subscribes');
    });
    sub.on('ready', () => {
      if (!subscriberDown) return;
      subscriberDown = false;
      this.#logger.info('redis subscriber re-subscribed', { channel: this.#keys.bus, shards: this.#interest?.size ?? 0 });
    });
  }

  /** Ends an outage, if there is one (Redis is ready again, or a PUBLISH just succeeded): logged once, with its cost. */
  #recovered(): void {
    const outage = this.#outage;
    if (!outage) return;
    this.#outage = undefined;
    this.#logger.info('redis pub/sub connection is back', {
      downMs: Date.now() - outage.since,
      droppedForOtherNodes: outage.dropped,
    });
    void this.#membership.publish();
  }

  #countDropped(): void {
    if (!this.#outage) return;
    this.#outage.dropped += 1;
    if (this.#node!.bus) this.#node!.bus.dropped += 1;
  }

  /** What the receivers measure the bus lag from, when this node's metrics are on. */
  #publishTime(): number | undefined {
    return this.#node!.bus?.clock() || undefined;
  }

  #lost(error: unknown): void {
    if (this.#stopping || this.#outage) return;
    this.#outage = { since: Date.now(), dropped: 0 };
    this.#logger.warn('redis pub/sub connection lost; local delivery continues, messages to other nodes are dropped until it is back', {
      error: error instanceof Error ? error.message : undefined,
    });
  }

  #tick(): void {
    void this.#membership.refresh();
    this.#heard.forgetQuiet();
  }

}

/** By name, not instanceof: importing ioredis's class here would load ioredis with 'vela'. */
function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

async function quit(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
