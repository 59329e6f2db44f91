// Sessions in Redis, so that a session created on one node is read on the others. One string key
// per session holding its JSON, expiring with the session (PX), refreshed by touch (PEXPIRE);
// update writes only over a key that still exists (SET … XX).
import type { Redis } from 'ioredis';
import type { SessionData, SessionStore } from '../session/store.js';
import { connectRedis, openRedis, type RedisConnectionOptions } from './connection.js';

export interface RedisSessionStoreOptions extends RedisConnectionOptions {
  /** Prefix of every session key. Default 'vela:session:'. */
  keyPrefix?: string;
}

/**
 * @example
 * await bootstrap(AppModule, { sessions: { store: redisSessionStore({ url }) } });
 */
export function redisSessionStore(options: RedisSessionStoreOptions = {}): SessionStore {
  const prefix = options.keyPrefix ?? 'vela:session:';
  let redis: Redis | undefined;
  let connecting: Promise<Redis> | undefined;
  // Connects on first use, so building the options object for bootstrap needs no await; a Redis
  // that is down then fails that request with 500 (the middleware names the store), not the app.
  const client = (): Promise<Redis> =>
    (connecting ??= (async () => {
      const connection = await openRedis(options);
      connection.on('error', () => {}); // failures surface on the commands that need Redis
      await connectRedis(connection, 'sessions').catch((error: unknown) => {
        connecting = undefined;
        throw error;
      });
      return (redis = connection);
    })());

  return {
    name: 'redis',
    async load(id) {
      const json = await (await client()).get(prefix + id);
      return json === null ? undefined : (JSON.parse(json) as SessionData);
    },
    async save(id, data, ttlMs) {
      await (await client()).set(prefix + id, JSON.stringify(data), 'PX', ttlMs);
    },
    async update(id, data, ttlMs) {
      // XX: only if the key is still there, in the same command, so no destroy can fall in between.
      return (await (await client()).set(prefix + id, JSON.stringify(data), 'PX', ttlMs, 'XX')) === 'OK';
    },
    async touch(id, ttlMs) {
      await (await client()).pexpire(prefix + id, ttlMs);
    },
    async destroy(id) {
      await (await client()).del(prefix + id);
    },
    async close() {
      await redis?.quit().catch(() => redis?.disconnect());
    },
  };
}
