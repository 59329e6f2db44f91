// Who is in which channel on the other nodes, for `members()`, and how the app routes. Each node keeps
// a hash `<prefix>:node:<id>` (channel → JSON list of connection ids) that expires unless the node
// refreshes it, and its id in the sorted set `<prefix>:nodes` scored by when it expires: a crashed
// node drops out of members() within `membershipTtl`, a clean stop removes it at once. Beside them,
// `<prefix>:routing` says how the running nodes route (interest routing's shards, or 'all'), so a
// node configured otherwise is refused at start instead of missing their messages.
import type { Redis } from 'ioredis';
import { ConfigError } from '../app/errors.js';
import type { PubSubNode } from '../pubsub/adapter.js';
import type { Keyspace } from './keyspace.js';

export interface MembershipSettings {
  readonly keys: Keyspace;
  /** How long a node's members outlive its last refresh, in ms. */
  readonly ttl: number;
  /** The adapter's publishing connection, once it started. */
  readonly redis: () => Redis;
  readonly node: () => PubSubNode;
  /** Whether Redis is away (writes wait for it to come back, then everything is written again). */
  readonly down: () => boolean;
  /** What a channel's members wait for before they are written: this node hearing the channel. */
  readonly heard: (channel: string) => Promise<void> | undefined;
}

export class Membership {
  readonly #settings: MembershipSettings;
  readonly #dirty = new Set<string>();
  #flushing = false;
  #stopped = false;

  constructor(settings: MembershipSettings) {
    this.#settings = settings;
  }

  /** 'all', or the number of shards. */
  get #routing(): string {
    const { shards } = this.#settings.keys;
    return shards === 0 ? 'all' : String(shards);
  }

  get #key(): string {
    return this.#settings.keys.members(this.#settings.node().id);
  }

  /**
   * Records how this app routes, or checks it against the nodes already running: nodes that route
   * differently publish where the others do not listen.
   */
  async claimRouting(): Promise<void> {
    const { keys, ttl } = this.#settings;
    const redis = this.#settings.redis();
    await redis.set(keys.routing, this.#routing, 'PX', ttl, 'NX');
    const running = await redis.get(keys.routing);
    if (running === null || running === this.#routing) return;
    const said = (name: string) => (name === 'all' ? "routing: 'all'" : `shards: ${name}`);
    throw new ConfigError(
      `redisPubSub({ ${said(this.#routing)} }): the nodes already running with keyPrefix '${keys.prefix}' route with ${said(running)}, ` +
        `and nodes that route differently miss each other's messages. Give every node the same routing and shards, or stop the others ` +
        `first (their record, ${keys.routing}, expires ${ttl} ms after the last one stops).`,
    );
  }

  /** Connection ids in `channel` on the other live nodes. */
  async remote(channel: string): Promise<string[]> {
    const { keys } = this.#settings;
    const redis = this.#settings.redis();
    const self = this.#settings.node().id;
    const nodes = (await redis.zrangebyscore(keys.nodes, Date.now(), '+inf')).filter((id) => id !== self);
    if (nodes.length === 0) return [];
    const pipeline = redis.pipeline();
    for (const id of nodes) pipeline.hget(keys.members(id), channel);
    const replies = (await pipeline.exec()) ?? [];
    return replies.flatMap(([error, value]) => (error || typeof value !== 'string' ? [] : (JSON.parse(value) as string[])));
  }

  /** A connection joined or left `channel`: written with the other changes of this turn of the event loop. */
  changed(channel: string): void {
    this.#dirty.add(channel);
    if (this.#flushing) return;
    this.#flushing = true;
    // One write for all the joins and leaves of this turn of the event loop (a burst of connections).
    setImmediate(() => {
      this.#flushing = false;
      void this.#flush();
    });
  }

  /** Writes this node's whole membership (at start, and after an outage). */
  async publish(): Promise<void> {
    const node = this.#settings.node();
    const key = this.#key;
    const multi = this.#settings.redis().multi().del(key);
    for (const channel of node.localChannels()) multi.hset(key, channel, JSON.stringify(node.localMembers(channel)));
    await this.#expireAndExec(multi).catch((error: unknown) => node.logger.warn('could not publish membership to Redis', { error }));
  }

  /** Keeps this node's members alive, and forgets the nodes that stopped refreshing theirs. */
  async refresh(): Promise<void> {
    if (this.#stopped || this.#settings.down()) return;
    const multi = this.#settings.redis().multi().zremrangebyscore(this.#settings.keys.nodes, '-inf', Date.now());
    await this.#expireAndExec(multi).catch(() => {});
  }

  /** A clean stop: this node's members go at once. */
  async remove(): Promise<void> {
    this.#stopped = true;
    const { keys } = this.#settings;
    const node = this.#settings.node();
    try {
      if (!this.#settings.down()) await this.#settings.redis().multi().del(this.#key).zrem(keys.nodes, node.id).exec();
    } catch (error) {
      node.logger.warn('could not remove this node from Redis membership; it expires by itself', { error });
    }
  }

  async #flush(): Promise<void> {
    if (this.#stopped || this.#settings.down() || this.#dirty.size === 0) return; // republished in full when Redis is back
    const node = this.#settings.node();
    const channels = [...this.#dirty];
    this.#dirty.clear();
    // Written once this node hears them: a member another node lists gets what is broadcast next.
    await Promise.all(channels.map((channel) => this.#settings.heard(channel)));
    if (this.#stopped) return; // removed meanwhile: writing now would bring this node back
    const key = this.#key;
    const multi = this.#settings.redis().multi();
    for (const channel of channels) {
      const members = node.localMembers(channel);
      if (members.length === 0) multi.hdel(key, channel);
      else multi.hset(key, channel, JSON.stringify(members));
    }
    await this.#expireAndExec(multi).catch((error: unknown) => {
      for (const channel of channels) this.#dirty.add(channel);
      node.logger.debug('membership update to Redis failed; retried on the next change or after reconnect', { error });
    });
  }

  #expireAndExec(multi: ReturnType<Redis['multi']>): Promise<unknown> {
    const { keys, ttl } = this.#settings;
    // The routing record lives as long as a node refreshes it (and comes back after Redis lost it).
    return multi
      .pexpire(this.#key, ttl)
      .zadd(keys.nodes, Date.now() + ttl, this.#settings.node().id)
      .set(keys.routing, this.#routing, 'PX', ttl)
      .exec();
  }
}
