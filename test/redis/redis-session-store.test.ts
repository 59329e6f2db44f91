// redisSessionStore(): the shared SessionStore contract against the real Redis, expiry kept by Redis
// itself (PX / PEXPIRE), and a session started on one node read and changed on another.
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { redisSessionStore, type SessionStore } from 'vela';
import { describeSessionStore } from '../session/store-contract.js';
import { SessionModule, sessionCookie, withSession } from '../session/support.js';
import { start } from '../support/start.js';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { eventually } from '../pubsub/support.js';
import { rawRedis, testPrefix } from './support.js';

const ID = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';

/**
 * The contract moves the store's clock by exact milliseconds (1 000 ms live, 999 ms later still
 * there, 2 ms more gone), and real time keeps passing on a real server while a test runs. So here
 * one contract millisecond is one real second: ttls reach Redis multiplied by SCALE, and advance(ms)
 * shortens every key's PTTL by ms × SCALE, as that much time passing would. Redis alone decides what
 * has expired (a non-positive PEXPIRE deletes, as expiry does); the few real milliseconds a test
 * takes are a few thousandths of a contract millisecond.
 */
const SCALE = 1_000;

const opened: SessionStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close?.()));
});

function redisStore(options: Parameters<typeof redisSessionStore>[0] = {}): SessionStore {
  const store = redisSessionStore({ url: REDIS_URL, ...options });
  opened.push(store);
  return store;
}

describe.skipIf(redisMissing)('redisSessionStore', () => {
  describeSessionStore('redisSessionStore', () => {
    const keyPrefix = `${testPrefix()}:session:`;
    const store = redisSessionStore({ url: REDIS_URL, keyPrefix });
    const redis = rawRedis(REDIS_URL);
    const keys = () => redis.keys(`${keyPrefix}*`);
    return {
      store: {
        name: store.name,
        load: (id) => store.load(id),
        save: (id, data, ttl) => store.save(id, data, ttl * SCALE),
        update: (id, data, ttl) => store.update!(id, data, ttl * SCALE),
        touch: (id, ttl) => store.touch(id, ttl * SCALE),
        destroy: (id) => store.destroy(id),
        close: async () => {
          const left = await keys();
          if (left.length > 0) await redis.del(...left);
          await store.close?.();
        },
      },
      advance: async (ms) => {
        for (const key of await keys()) {
          const pttl = await redis.pttl(key);
          if (pttl === -1) throw new Error(`${key} was stored without an expiry`);
          if (pttl >= 0) await redis.pexpire(key, pttl - ms * SCALE);
        }
      },
    };
  });

  describe('expiry, kept by Redis', () => {
    it('stores JSON under <keyPrefix><id> with the ttl as PX, and touch restarts it with PEXPIRE', async () => {
      const keyPrefix = `${testPrefix()}:s:`;
      const store = redisStore({ keyPrefix });
      const redis = rawRedis(REDIS_URL);
      await store.save(ID, { cart: ['apple'], n: 1 }, 60_000);
      expect(await redis.get(`${keyPrefix}${ID}`)).toBe('{"cart":["apple"],"n":1}');
      const pttl = await redis.pttl(`${keyPrefix}${ID}`);
      expect(pttl).toBeLessThanOrEqual(60_000);
      expect(pttl).toBeGreaterThan(59_000);

      await store.touch(ID, 120_000);
      expect(await redis.pttl(`${keyPrefix}${ID}`)).toBeGreaterThan(119_000);
      await store.touch('zyxwvutsrqponmlkjihgfedcba_-9876', 120_000);
      expect(await redis.exists(`${keyPrefix}zyxwvutsrqponmlkjihgfedcba_-9876`)).toBe(0);
      await store.destroy(ID);
    });

    it('a session expires in Redis by itself, in real time', async () => {
      const keyPrefix = `${testPrefix()}:s:`;
      const store = redisStore({ keyPrefix });
      await store.save(ID, { a: 1 }, 150);
      expect(await store.load(ID)).toEqual({ a: 1 });
      await eventually(() => store.load(ID), (data) => data === undefined, 'the session to expire', 2_000);
      expect(await rawRedis(REDIS_URL).exists(`${keyPrefix}${ID}`)).toBe(0);
    });

    it('uses the default prefix vela:session:', async () => {
      const store = redisStore();
      const id = `${testPrefix().replace(/\W/g, '').slice(-12)}AbCdEfGhIjKlMnOpQrSt`;
      await store.save(id, { a: 1 }, 5_000);
      expect(await rawRedis(REDIS_URL).get(`vela:session:${id}`)).toBe('{"a":1}');
      await store.destroy(id);
    });
  });

  describe('across nodes', () => {
    async function twoNodes(ttl = 60_000) {
      const keyPrefix = `${testPrefix()}:session:`;
      // One store per app, as in separate processes; only Redis is shared.
      return Promise.all([0, 1].map(() => start(SessionModule, { sessions: { store: redisStore({ keyPrefix }), ttl } }))).then((apps) => ({ apps, keyPrefix }));
    }

    it('a session set on one node is read, changed and destroyed on another with the same cookie', async () => {
      const { apps: [a, b], keyPrefix } = await twoNodes();
      const first = await a!.fetch(`/set?key=cart&value=${encodeURIComponent('["apple"]')}`);
      const id = sessionCookie(first)!.value;
      expect(await first.json()).toEqual({ id });
      const redis = rawRedis(REDIS_URL);
      expect(await redis.pttl(`${keyPrefix}${id}`)).toBeGreaterThan(59_000);

      const onB = await b!.fetch('/session?keys=cart', withSession(id));
      expect(sessionCookie(onB)).toBeUndefined(); // the same session, not a new one
      expect(await onB.json()).toEqual({ id, values: { cart: ['apple'] } });

      await b!.fetch(`/set?key=cart&value=${encodeURIComponent('["apple","pear"]')}`, withSession(id));
      expect(await (await a!.fetch('/session?keys=cart', withSession(id))).json()).toEqual({ id, values: { cart: ['apple', 'pear'] } });

      await a!.fetch('/destroy', withSession(id));
      expect(await redis.exists(`${keyPrefix}${id}`)).toBe(0);
      const after = await b!.fetch('/session?keys=cart', withSession(id));
      expect(sessionCookie(after)!.value).not.toBe(id);
      expect(await after.json()).toMatchObject({ values: { cart: null } });
    });

    it('a request on any node restarts the session ttl in Redis (sliding expiry)', async () => {
      const { apps: [a, b], keyPrefix } = await twoNodes(2_000);
      const id = sessionCookie(await a!.fetch('/session'))!.value;
      const redis = rawRedis(REDIS_URL);
      const key = `${keyPrefix}${id}`;
      expect(await redis.pttl(key)).toBeLessThanOrEqual(2_000);
      await redis.pexpire(key, 500); // as if 1.5 s had passed
      await b!.fetch('/session', withSession(id));
      expect(await redis.pttl(key)).toBeGreaterThan(1_500);
    });
  });

  describe('given a client', () => {
    it("opens its own connection from the client's settings and leaves the client open", async () => {
      const client = new Redis(REDIS_URL);
      const keyPrefix = `${testPrefix()}:s:`;
      const store = redisSessionStore({ client, keyPrefix });
      await store.save(ID, { via: 'client' }, 5_000);
      expect(await client.get(`${keyPrefix}${ID}`)).toBe('{"via":"client"}');
      await store.destroy(ID);
      await store.close?.();
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
      await client.quit();
    });
  });

  describe('when Redis cannot be reached', () => {
    it('fails the requests that need a session with 500, naming Redis, and the app carries on', async () => {
      const app = await start(SessionModule, { sessions: { store: redisStore({ url: 'redis://127.0.0.1:1' }) } });
      for (let i = 0; i < 2; i += 1) expect((await app.fetch('/session')).status).toBe(500);
      const failures = app.log.entries.filter((entry) => entry.level === 'error');
      expect(failures).toHaveLength(2);
      expect(String((failures[0]!.fields.error as Error).message)).toContain(
        "Session store 'redis' failed in save(): Cannot reach Redis at 127.0.0.1:1 for sessions: connect ECONNREFUSED 127.0.0.1:1.",
      );
    });
  });
});
