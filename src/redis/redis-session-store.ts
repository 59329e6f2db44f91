// Sessions in Redis, so that a session created on one node is read on the others. One string key
// per session holding its JSON, expiring with the session (PX), refreshed by touch (PEXPIRE);
// update writes only over a key that still exists (SET … XX). Anonymous sessions are also listed in
// one sorted set, capped, so a flood of visitors stays bounded and never evicts a logged-in user.
// On a Redis Cluster the keys keep their names: each session lives on the primary of its own slot,
// and what touches a session and the index together runs as one command per slot instead.
import type { Redis } from 'ioredis';
import { ConfigError } from '../app/errors.js';
import { randomSecret } from '../session/signed-id.js';
import type { SessionData, SessionStore } from '../session/store.js';
import { connectRedis, isClustered, openRedis, type RedisConnectionOptions } from './connection.js';

export interface RedisSessionStoreOptions extends RedisConnectionOptions {
  /** Prefix of every session key. Default 'vela:session:'. */
  keyPrefix?: string;
  /**
   * Most anonymous sessions kept (started by a request writing to its session, never regenerated);
   * saving one more deletes the oldest. Regenerated (logged-in) sessions are never counted or
   * deleted for it. Default 100 000.
   */
  maxAnonymous?: number;
}

// Saves an anonymous session and lists it, dropping the oldest anonymous sessions past the cap, in
// one step so that nodes saving at the same time cannot overshoot it. The index expires when the
// newest session in it would. Keys: the session, the index. Args: data, ttl ms, id, cap, prefix.
const SAVE_ANONYMOUS = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local now = redis.call('TIME')
redis.call('ZADD', KEYS[2], now[1] * 1000 + math.floor(now[2] / 1000), ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], excess)
  for i = 1, #oldest, 2 do redis.call('DEL', ARGV[5] .. oldest[i]) end
end
`;

// On a cluster, the same cap kept on the index alone (its own slot): returns the ids it dropped, whose
// sessions are deleted after it. Keys: the index. Args: id, ttl ms, cap.
const CAP_ANONYMOUS = `
local now = redis.call('TIME')
redis.call('ZADD', KEYS[1], now[1] * 1000 + math.floor(now[2] / 1000), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
local dropped = {}
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[1], excess)
  for i = 1, #oldest, 2 do dropped[#dropped + 1] = oldest[i] end
end
return dropped
`;

type WithSaveAnonymous = Redis & {
  velaSaveAnonymous(key: string, index: string, data: string, ttlMs: number, id: string, cap: number, prefix: string): Promise<unknown>;
  velaCapAnonymous(index: string, id: string, ttlMs: number, cap: number): Promise<string[]>;
};

/**
 * The signing secret is kept in Redis too (`<keyPrefix>secret`, made once with SET NX), so every
 * node signs and checks session cookies alike with nothing to configure; pass `sessions: { secret }`
 * to use your own instead.
 *
 * @example
 * await bootstrap(AppModule, { sessions: { store: redisSessionStore({ url }) } });
 */
export function redisSessionStore(options: RedisSessionStoreOptions = {}): SessionStore {
  const prefix = options.keyPrefix ?? 'vela:session:';
  const maxAnonymous = options.maxAnonymous ?? 100_000;
  if (!Number.isSafeInteger(maxAnonymous) || maxAnonymous < 1) {
    throw new ConfigError(`redisSessionStore({ maxAnonymous: ${String(maxAnonymous)} }): maxAnonymous must be a positive integer, e.g. 100_000.`);
  }
  // Session ids are 32 characters: neither name can collide with one.
  const index = `${prefix}anonymous`;
  const secretKey = `${prefix}secret`;
  const clustered = isClustered(options);
  let redis: Redis | undefined;
  let connecting: Promise<WithSaveAnonymous> | undefined;
  // Connects on first use, so building the options object for bootstrap needs no await; a Redis
  // that is down then fails that request with 500 (the middleware names the store), not the app.
  const client = (): Promise<WithSaveAnonymous> =>
    (connecting ??= (async () => {
      const connection = await openRedis(options);
      connection.on('error', () => {}); // failures surface on the commands that need Redis
      await connectRedis(connection, 'sessions').catch((error: unknown) => {
        connecting = undefined;
        throw error;
      });
      connection.defineCommand('velaSaveAnonymous', { numberOfKeys: 2, lua: SAVE_ANONYMOUS });
      connection.defineCommand('velaCapAnonymous', { numberOfKeys: 1, lua: CAP_ANONYMOUS });
      return (redis = connection) as WithSaveAnonymous;
    })());

  return {
    name: 'redis',
    async load(id) {
      const json = await (await client()).get(prefix + id);
      return json === null ? undefined : (JSON.parse(json) as SessionData);
    },
    async save(id, data, ttlMs, saveOptions) {
      const connection = await client();
      if (!clustered && saveOptions?.anonymous) {
        await connection.velaSaveAnonymous(prefix + id, index, JSON.stringify(data), ttlMs, id, maxAnonymous, prefix);
      } else if (!clustered) {
        await connection.multi().set(prefix + id, JSON.stringify(data), 'PX', ttlMs).zrem(index, id).exec();
      } else if (!saveOptions?.anonymous) {
        await Promise.all([connection.set(prefix + id, JSON.stringify(data), 'PX', ttlMs), connection.zrem(index, id)]);
      } else {
        // The session first: the cap may then drop it, as the one script would, and never misses it.
        await connection.set(prefix + id, JSON.stringify(data), 'PX', ttlMs);
        const dropped = await connection.velaCapAnonymous(index, id, ttlMs, maxAnonymous);
        await Promise.all(dropped.map((old) => connection.del(prefix + old)));
      }
    },
    async update(id, data, ttlMs) {
      // XX: only if the key is still there, in the same command, so no destroy can fall in between.
      return (await (await client()).set(prefix + id, JSON.stringify(data), 'PX', ttlMs, 'XX')) === 'OK';
    },
    async touch(id, ttlMs) {
      await (await client()).pexpire(prefix + id, ttlMs);
    },
    async destroy(id) {
      const connection = await client();
      if (clustered) await Promise.all([connection.del(prefix + id), connection.zrem(index, id)]);
      else await connection.multi().del(prefix + id).zrem(index, id).exec();
    },
    async secret() {
      const connection = await client();
      // NX: the first node to ask makes it; every other node (and restart) reads that one.
      await connection.set(secretKey, randomSecret(), 'NX');
      const secret = await connection.get(secretKey);
      if (secret === null) throw new Error(`the session secret ${secretKey} was deleted while it was being read; retry`);
      return secret;
    },
    // Connected on first use: before that there is nothing to be down.
    health() {
      return { up: !redis || redis.status === 'ready', connection: redis?.status ?? 'not connected yet' };
    },
    async close() {
      await redis?.quit().catch(() => redis?.disconnect());
    },
  };
}
