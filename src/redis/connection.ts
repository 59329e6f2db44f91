// The Redis connections Vela opens for itself. Commands fail fast while Redis is away (no offline
// queue) instead of piling up and being replayed in an order nobody chose; ioredis keeps
// reconnecting on its own and re-subscribes when it is back.
//
// ioredis is imported here on first use, not with `vela`: it costs tens of milliseconds of start-up
// that an app on the default memory pub/sub and session store would pay for nothing.
import type { Redis, RedisOptions } from 'ioredis';
import { ConfigError } from '../app/errors.js';

export interface RedisConnectionOptions {
  /** `redis://host:port/db`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** An ioredis client to take settings from; Vela opens its own connections from it and never closes yours. */
  client?: Redis;
}

const OWN: RedisOptions = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 };

/** A new connection (not yet connected) with Vela's settings. */
export async function openRedis(options: RedisConnectionOptions, overrides: RedisOptions = {}): Promise<Redis> {
  const settings = { ...OWN, ...overrides };
  if (options.client) return options.client.duplicate(settings);
  const { Redis } = await import('ioredis');
  return new Redis(options.url ?? 'redis://127.0.0.1:6379', settings);
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
  } catch (error) {
    redis.disconnect();
    const { host, port } = redis.options;
    const reason = (first ?? (error as Error)).message.replace(/\.$/, '');
    throw new ConfigError(`Cannot reach Redis at ${host}:${port} for ${purpose}: ${reason}. Start Redis, or fix the url.`, { cause: first ?? error });
  } finally {
    redis.off('error', remember);
  }
}
