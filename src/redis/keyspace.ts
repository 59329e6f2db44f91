// Every Redis key and pub/sub channel redisPubSub uses, and which channel carries a Vela channel.
//
// Interest routing: a Vela channel's messages travel on one of `shards` Redis channels, picked by a
// hash of its name (`<prefix>:bus:<n>`), and a node subscribes to a shard while it has members or
// listeners in a channel of that shard. A fixed number of hashed shards rather than one Redis channel
// per Vela channel: a node's subscriptions stay bounded (at most `shards` + 1) however many rooms it
// serves, a publisher keeps one running number per shard, not per channel, and a burst of joins
// subscribes at most once per shard. The price is that a node also hears the channels that share a
// shard with its own (about channels-in-the-cluster / shards of the traffic; see docs/scaling.md "Large
// clusters"). What is not a channel's message (Comms to a session, send-all) travels on the
// cluster-wide `<prefix>:bus`, which every node subscribes to. `routing: 'all'` puts everything on
// that one channel, as Vela did before.
//
// On a Redis Cluster, keys a script or MULTI touches together must live in one hash slot, so names
// carry hash tags there: a shard's channel and the history of the channels it carries share
// `{<prefix>:<n>}` (the script that appends a message also SPUBLISHes it); membership and presence
// share `{<prefix>}`; a client's remembered answers share its id. On one Redis the names are those
// Vela always used, so an upgrade keeps the keys it finds.

export type Routing = 'interest' | 'all';

/** The shards of interest routing unless `shards` says otherwise. */
export const DEFAULT_SHARDS = 8192;

export interface KeyspaceOptions {
  readonly prefix: string;
  readonly clustered: boolean;
  readonly routing: Routing;
  readonly shards: number;
}

export class Keyspace {
  readonly prefix: string;
  readonly clustered: boolean;
  /** 0 when every message travels on the cluster-wide bus (`routing: 'all'`). */
  readonly shards: number;
  /** The prefix of membership and presence keys: one hash slot on a cluster (their scripts span them). */
  readonly group: string;
  /** The cluster-wide channel: Comms and send-all, and every message with `routing: 'all'`. */
  readonly bus: string;
  readonly #names = new Map<number, string>();

  constructor({ prefix, clustered, routing, shards }: KeyspaceOptions) {
    this.prefix = prefix;
    this.clustered = clustered;
    this.shards = routing === 'all' ? 0 : shards;
    this.group = clustered ? `{${prefix}}` : prefix;
    this.bus = `${this.group}:bus`;
  }

  /** The shard of a Vela channel, or undefined when it travels on the cluster-wide bus. */
  shardOf(channel: string): number | undefined {
    return this.shards === 0 ? undefined : fnv1a(channel) % this.shards;
  }

  /** The Redis channel a shard's messages travel on (the cluster-wide bus for undefined). */
  carrier(shard: number | undefined): string {
    if (shard === undefined) return this.bus;
    let name = this.#names.get(shard);
    if (name === undefined) this.#names.set(shard, (name = this.clustered ? `{${this.prefix}:${shard}}:bus` : `${this.prefix}:bus:${shard}`));
    return name;
  }

  /** The Redis channel that carries the messages of `channel`. */
  carrierOf(channel: string): string {
    return this.carrier(this.shardOf(channel));
  }

  /** The keys of a history channel, in its carrier's hash slot, and that carrier. */
  history(channel: string): { meta: string; stream: string; carrier: string } {
    const carrier = this.carrierOf(channel);
    // Before the cluster-wide bus's `:bus`, so `{p:7}:bus` gives `{p:7}`; on one Redis, the prefix.
    const tag = this.clustered ? carrier.slice(0, -':bus'.length) : this.prefix;
    return { meta: `${tag}:history-meta:${channel}`, stream: `${tag}:history:${channel}`, carrier };
  }

  /** This node's members, channel → JSON list of connection ids. */
  members(node: string): string {
    return `${this.group}:node:${node}`;
  }

  /** Every node, scored by when its members expire. */
  get nodes(): string {
    return `${this.group}:nodes`;
  }

  /** What the running nodes route by (`shards`, or 'all'): a node that differs is refused at start. */
  get routing(): string {
    return `${this.group}:routing`;
  }

  /** Where a client's answer to `ref` is remembered (with ref '', the prefix of all of them). */
  answer(client: string, ref: string): string {
    return `${this.prefix}:answer:${this.#tagged(client)}:${ref}`;
  }

  /** The refs a client has answers for, by time. */
  answers(client: string): string {
    return `${this.prefix}:answers:${this.#tagged(client)}`;
  }

  #tagged(id: string): string {
    return this.clustered ? `{${id}}` : id;
  }
}

/** FNV-1a over the UTF-16 code units: the same shard on every node, whatever its platform. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
