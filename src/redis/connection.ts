// The Redis connections Vela opens for itself. Commands fail fast while Redis is away (no offline
// queue) instead of piling up and being replayed in an order nobody chose; ioredis keeps
// reconnecting on its own and re-subscribes when it is back.
//
// A Redis Cluster (`cluster: [urls]`, or a Cluster as `client`) is typed as a Redis here: it runs the
// same commands, each routed to the primary of its keys' slot; what differs checks `isCluster`.
//
// ioredis is imported here on first use, not with `vela`: it costs tens of milliseconds of start-up
// that an app on the default memory pub/sub and session store would pay for nothing.
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { ConfigError } from '../app/errors.js';

export interface RedisConnectionOptions {
  /** `redis://host:port/db`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * Nodes of a Redis Cluster to discover it from (`['redis://10.0.0.1:6379', …]`; one that answers is
   * enough). Instead of `url`.
   */
  cluster?: readonly string[];
  /**
   * An ioredis client (a Redis, or a Cluster) to take settings from; Vela opens its own connections
   * from it and never closes yours.
   */
  client?: Redis | Cluster;
}

const OWN: RedisOptions = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 };

/** What a connection is for: commands (the default), or SSUBSCRIBE to shards of a cluster. */
export interface OpenOptions extends RedisOptions {
  /** On a cluster: one subscriber connection per primary, each holding the shard channels of its slots. */
  shardedSubscriber?: boolean;
}

/** Whether these options name a Redis Cluster. */
export function isClustered(options: RedisConnectionOptions): boolean {
  if (options.cluster && (options.url || options.client)) {
    throw new ConfigError(`Give the \`cluster\` nodes or a ${options.url ? '`url`' : '`client`'}, not both: they name different servers.`);
  }
  return options.cluster !== undefined || options.client?.isCluster === true;
}

/** A new connection (not yet connected) with Vela's settings. */
export async function openRedis(options: RedisConnectionOptions, overrides: OpenOptions = {}): Promise<Redis> {
  const { shardedSubscriber = false, ...settings } = { ...OWN, ...overrides };
  if (isClustered(options)) return openCluster(options, settings, shardedSubscriber);
  if (options.client) return (options.client as Redis).duplicate(settings);
  const { Redis } = await import('ioredis');
  return new Redis(options.url ?? 'redis://127.0.0.1:6379', settings);
}

async function openCluster(options: RedisConnectionOptions, settings: RedisOptions, shardedSubscribers: boolean): Promise<Redis> {
  const { lazyConnect, enableOfflineQueue, ...redisOptions } = settings;
  const clusterOptions: ClusterOptions = { lazyConnect, enableOfflineQueue, shardedSubscribers, redisOptions };
  if (options.client) return (options.client as Cluster).duplicate([], clusterOptions) as unknown as Redis;
  if (options.cluster!.length === 0) throw new ConfigError('`cluster` lists no node: give at least one, e.g. cluster: [\'redis://127.0.0.1:7000\'].');
  const { Cluster } = await import('ioredis');
  const nodes = options.cluster!.map((url) => {
    const { hostname, port } = new URL(url);
    return { host: hostname, port: Number(port || 6379) };
  });
  return new Cluster(nodes, clusterOptions) as unknown as Redis;
}

/** Connects, or fails bootstrap with what to do about it. */
export async function connectRedis(redis: Redis, purpose: string): Promise<void> {
  // connect() rejects with ioredis's bare "Connection is closed."; the socket's own error (ECONNREFUSED…)
  // says why, so the message names that, without the doubled full stop the bare one left.
  let first: Error | undefined;
  const remember = (error: Error) => void (first ??= error);
  redis.on('error', remember);
  try {
    await redis.connect();
    if (redis.isCluster) await connectPrimaries(redis as unknown as Cluster);
  } catch (error) {
    redis.disconnect();
    const reason = (first ?? (error as Error)).message.replace(/\.$/, '');
    throw new ConfigError(`Cannot reach ${where(redis)} for ${purpose}: ${reason}. Start Redis, or fix the ${redis.isCluster ? 'cluster nodes' : 'url'}.`, { cause: first ?? error });
  } finally {
    redis.off('error', remember);
  }
}

/**
 * A Cluster connects to a primary on its first command, and without an offline queue (Vela's, so
 * that nothing waits out an outage to be replayed) it refuses the commands that come meanwhile and
 * retries them later, behind newer ones: a burst of publishes would arrive out of order. Connected
 * before any command, it keeps their order.
 */
async function connectPrimaries(cluster: Cluster): Promise<void> {
  if (cluster.options.enableOfflineQueue) return;
  await Promise.all(cluster.nodes('master').map((node) => node.ping()));
}

function where(redis: Redis): string {
  if (!redis.isCluster) return `Redis at ${redis.options.host}:${redis.options.port}`;
  // ioredis keeps the nodes it was given in a field it does not declare.
  const nodes = (redis as unknown as { startupNodes: { host?: string; port?: number }[] }).startupNodes;
  return `the Redis Cluster at ${nodes.map((node) => `${node.host}:${node.port}`).join(', ')}`;
}
