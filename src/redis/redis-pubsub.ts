// Pub/sub across processes on Redis. Every node publishes to, and subscribes to, one channel
// (`<prefix>:bus`): one subscription per node whatever the number of channels or sockets, one
// PUBLISH per broadcast, and Redis keeps the order of each publisher's messages. A node receives
// every envelope and delivers it to its own members only; it skips its own echoes by node id.
//
// Membership: each node keeps a hash `<prefix>:node:<id>` (channel → JSON list of connection ids)
// that expires unless the node refreshes it, and its id in the sorted set `<prefix>:nodes` scored
// by when it expires. A crashed node drops out of members() within `membershipTtl`; a clean stop
// removes it at once.
//
// Outages are at most once: while Redis is away, local delivery carries on and envelopes for other
// nodes are dropped — counted and logged when it comes back — rather than queued and replayed
// after the subscribers may or may not have re-subscribed. Every envelope carries its node's running
// number, so a receiver also counts, and logs, what it missed whichever side the outage was on.
// Only the connection makes an outage: a payload JSON cannot carry is refused to its caller before
// anything is sent, an error Redis answers loses that one message, and a PUBLISH that succeeds ends
// any outage.
import type { Redis } from 'ioredis';
import type { Logger } from '../logging/logger.js';
import type { HealthState } from '../app/health-options.js';
import type { PubSubAdapter, PubSubNode } from '../pubsub/adapter.js';
import type { HistoryOptions, PubSubHistory } from '../pubsub/history.js';
import type { Envelope, PubSubMessage, TraceCarrier } from '../pubsub/message.js';
import { connectRedis, openRedis, type RedisConnectionOptions } from './connection.js';
import { appendToHistory, HistorySizes, readHistory } from './redis-history.js';
import { decodeWire, encodeWire } from './wire.js';
import { RedisAnswerStore } from './redis-answers.js';
import { RedisPresence } from './redis-presence.js';

const DONE = Promise.resolve();

/** How long another node may stay silent before its message count is forgotten. */
const FORGET_QUIET_NODE_MS = 10 * 60_000;

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
  readonly #prefix: string;
  readonly #ttl: number;
  #node?: PubSubNode;
  #pub?: Redis;
  #sub?: Redis;
  #heartbeat?: NodeJS.Timeout;
  readonly #dirty = new Set<string>();
  #flushing = false;
  #stopping = false;
  /** Set while the publishing connection is down: when it went, and what was dropped since. */
  #outage?: { since: number; dropped: number };
  /** Envelopes this node has published (or tried to): the number the next one carries on the wire. */
  #sent = 0;
  /** The highest number heard from each other node, and when. */
  readonly #heard = new Map<string, { seq: number; at: number }>();
  /** Messages from other nodes that never arrived here, since start. */
  #missed = 0;
  #answers?: RedisAnswerStore;
  /** Presence metas of every node, and the sweep of dead nodes' (redis-presence.ts). */
  readonly presence: RedisPresence;

  constructor(options: RedisPubSubOptions) {
    this.#options = options;
    this.#prefix = options.keyPrefix ?? 'vela';
    this.#ttl = options.membershipTtl ?? 15_000;
    const timeout = options.presenceTimeout ?? 5_000;
    if (!Number.isFinite(timeout) || timeout < 1) throw new RangeError(`redisPubSub({ presenceTimeout }) must be a number of ms ≥ 1, got ${timeout}.`);
    this.presence = new RedisPresence({ prefix: this.#prefix, timeout, redis: () => this.#pub!, logger: () => this.#logger });
  }

  get #bus(): string {
    return `${this.#prefix}:bus`;
  }

  get #nodes(): string {
    return `${this.#prefix}:nodes`;
  }

  #membersKey(nodeId: string): string {
    return `${this.#prefix}:node:${nodeId}`;
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
      openRedis(this.#options, { enableOfflineQueue: true }),
    ]);
    this.#pub = pub;
    this.#sub = sub;
    pub.on('error', (error: Error) => this.#logger.debug('redis pub/sub connection error', { error: error.message }));
    sub.on('error', (error: Error) => this.#logger.debug('redis subscriber connection error', { error: error.message }));
    try {
      await Promise.all([connectRedis(pub, 'pub/sub'), connectRedis(sub, 'pub/sub')]);
      sub.on('message', (_channel: string, raw: string) => this.#receive(raw));
      await sub.subscribe(this.#bus);
    } catch (error) {
      // Bootstrap fails, and nothing may be left behind: one connection that did open (the other was
      // refused: maxclients, say) would keep reconnecting and the process would never exit.
      pub.disconnect();
      sub.disconnect();
      throw error;
    }
    this.#watch(pub, sub);
    await this.#publishMembership();
    this.#heartbeat = setInterval(() => this.#tick(), Math.max(Math.floor(this.#ttl / 3), 1));
    this.#heartbeat.unref();
  }

  /** Up while both connections are ready (ioredis's `status`): down through an outage, so a balancer stops sending clients here. */
  health(): HealthState {
    const publisher = this.#pub?.status ?? 'not started';
    const subscriber = this.#sub?.status ?? 'not started';
    return { up: publisher === 'ready' && subscriber === 'ready', publisher, subscriber };
  }

  /** Not async: an envelope JSON cannot carry throws PubSubEncodingError here, in the caller (see encodeWire). */
  publish(envelope: Envelope): Promise<void> {
    // Encoded before it is numbered: a refused payload is the caller's error, not a lost message,
    // so it neither touches the outage state nor leaves a gap the other nodes would count as missed.
    const wire = encodeWire(this.#node!.id, envelope, this.#sent + 1, this.#publishTime());
    // Numbered even when dropped here: the receivers count the gap, whoever lost the message.
    this.#sent += 1;
    // Nothing is queued while the connection is down. A ready connection is always tried: the
    // outage flag then is stale, and the PUBLISH that succeeds ends it.
    if (this.#outage && this.#pub!.status !== 'ready') {
      this.#countDropped();
      return DONE;
    }
    return this.#send(wire);
  }

  async #send(wire: string): Promise<void> {
    // A lost connection is counted (#carry); only an error Redis answered reaches the Hub, which logs it.
    await this.#carry(this.#pub!.publish(this.#bus, wire)).catch((error: unknown) => {
      if (isReplyError(error)) throw error;
    });
  }

  /** History channels: kept in Redis Streams and published in one script (redis-history.ts). */
  readonly history: PubSubHistory = {
    append: (message, options, tc) => this.#keep(message, options, tc),
    since: (channel, position, options) => readHistory(this.#pub!, this.#prefix, channel, position, options),
    sizes: () => this.#historySizes.read(this.#pub!, this.#prefix),
  };
  readonly #historySizes = new HistorySizes();

  /** Rejects when the message could not be kept (the Hub logs it and delivers it here without a position). */
  #keep(message: PubSubMessage, options: HistoryOptions, tc: TraceCarrier | undefined): Promise<string> {
    const envelope: Envelope = tc ? { type: 'message', message, tc } : { type: 'message', message };
    const wire = encodeWire(this.#node!.id, envelope, this.#sent + 1, this.#publishTime()); // numbered as in publish()
    this.#sent += 1;
    if (this.#outage && this.#pub!.status !== 'ready') {
      this.#countDropped();
      return Promise.reject(new Error('the Redis connection is down'));
    }
    this.#historySizes.appended(message.channel, options);
    return this.#carry(appendToHistory(this.#pub!, this.#prefix, this.#bus, message.channel, wire, options));
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

  async remoteMembers(channel: string): Promise<string[]> {
    if (this.#outage) return [];
    const now = Date.now();
    const nodes = (await this.#pub!.zrangebyscore(this.#nodes, now, '+inf')).filter((id) => id !== this.#node!.id);
    if (nodes.length === 0) return [];
    const pipeline = this.#pub!.pipeline();
    for (const id of nodes) pipeline.hget(this.#membersKey(id), channel);
    const replies = (await pipeline.exec()) ?? [];
    return replies.flatMap(([error, value]) => (error || typeof value !== 'string' ? [] : (JSON.parse(value) as string[])));
  }

  membershipChanged(channel: string): void {
    this.#dirty.add(channel);
    if (this.#flushing) return;
    this.#flushing = true;
    // One write for all the joins and leaves of this turn of the event loop (a burst of connections).
    setImmediate(() => {
      this.#flushing = false;
      void this.#flushMembership();
    });
  }

  /** Answers to requests, in Redis on the publishing connection: any node answers a repeat. */
  answers(): RedisAnswerStore {
    return (this.#answers ??= new RedisAnswerStore(this.#prefix, () => this.#pub!));
  }

  async stop(): Promise<void> {
    if (!this.#node || this.#stopping) return;
    this.#stopping = true;
    this.#answers?.stop();
    clearInterval(this.#heartbeat);
    const pub = this.#pub!;
    try {
      if (!this.#outage) await pub.multi().del(this.#membersKey(this.#node.id)).zrem(this.#nodes, this.#node.id).exec();
    } catch (error) {
      this.#logger.warn('could not remove this node from Redis membership; it expires by itself', { error });
    }
    await Promise.all([quit(this.#sub!), quit(pub)]);
  }

  #receive(raw: string): void {
    const decoded = decodeWire(raw);
    if (!decoded.ok) {
      this.#logger.warn('dropped a pub/sub message from Redis that this node cannot read', { reason: decoded.reason, channel: this.#bus });
      return;
    }
    if (decoded.node === this.#node!.id) return; // our own echo: local members already have it
    if (decoded.seq !== undefined && !this.#inSequence(decoded.node, decoded.seq)) return;
    try {
      this.#node!.receive(decoded.envelope, decoded.publishedAt);
    } catch (error) {
      // This runs inside ioredis's socket data handler: a throw here would be an uncaught exception.
      this.#logger.error('pub/sub could not deliver a message from another node', { type: decoded.envelope.type, error });
    }
  }

  /**
   * Checks a message's number against the last one heard from its node: a gap is what this node
   * missed (the sender's outage, this subscriber's, or Redis dropping it as too slow) and is logged
   * with its size; a number already seen would be a second delivery, and is dropped.
   */
  #inSequence(node: string, seq: number): boolean {
    const last = this.#heard.get(node);
    this.#heard.set(node, { seq: Math.max(seq, last?.seq ?? 0), at: Date.now() });
    if (last === undefined || seq === last.seq + 1) return true;
    if (seq <= last.seq) {
      this.#logger.warn('dropped a pub/sub message already received from another node', { node, seq, last: last.seq });
      return false;
    }
    this.#missed += seq - last.seq - 1;
    if (this.#node!.bus) this.#node!.bus.missed += seq - last.seq - 1;
    this.#logger.warn('missed pub/sub messages from another node', { node, missed: seq - last.seq - 1, missedInAll: this.#missed });
    return true;
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
      this.#logger.info('redis subscriber re-subscribed', { channel: this.#bus });
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
    void this.#publishMembership();
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

  /** Writes this node's whole membership (at start, and after an outage). */
  async #publishMembership(): Promise<void> {
    const node = this.#node!;
    const key = this.#membersKey(node.id);
    const multi = this.#pub!.multi().del(key);
    for (const channel of node.localChannels()) multi.hset(key, channel, JSON.stringify(node.localMembers(channel)));
    await this.#expireAndExec(multi, key).catch((error: unknown) => this.#logger.warn('could not publish membership to Redis', { error }));
  }

  async #flushMembership(): Promise<void> {
    if (this.#outage || this.#stopping || this.#dirty.size === 0) return; // republished in full when Redis is back
    const node = this.#node!;
    const key = this.#membersKey(node.id);
    const channels = [...this.#dirty];
    this.#dirty.clear();
    const multi = this.#pub!.multi();
    for (const channel of channels) {
      const members = node.localMembers(channel);
      if (members.length === 0) multi.hdel(key, channel);
      else multi.hset(key, channel, JSON.stringify(members));
    }
    await this.#expireAndExec(multi, key).catch((error: unknown) => {
      for (const channel of channels) this.#dirty.add(channel);
      this.#logger.debug('membership update to Redis failed; retried on the next change or after reconnect', { error });
    });
  }

  #tick(): void {
    void this.#refresh();
    // A node gone quiet for long enough is forgotten (it most likely stopped): if it speaks again,
    // its next message starts a new count instead of being measured against one from long ago.
    const forgetBefore = Date.now() - FORGET_QUIET_NODE_MS;
    for (const [node, { at }] of this.#heard) if (at < forgetBefore) this.#heard.delete(node);
  }

  async #refresh(): Promise<void> {
    if (this.#outage || this.#stopping) return;
    const key = this.#membersKey(this.#node!.id);
    const multi = this.#pub!.multi().zremrangebyscore(this.#nodes, '-inf', Date.now());
    await this.#expireAndExec(multi, key).catch(() => {});
  }

  #expireAndExec(multi: ReturnType<Redis['multi']>, key: string): Promise<unknown> {
    return multi.pexpire(key, this.#ttl).zadd(this.#nodes, Date.now() + this.#ttl, this.#node!.id).exec();
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
