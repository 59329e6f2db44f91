// redisSessionStore(): the shared SessionStore contract against the real Redis, expiry kept by Redis
// itself (PX / PEXPIRE), and a session started on one node read and changed on another.
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { redisSessionStore, type SessionStore } from 'vela';
import { describeSessionStore } from '../session/store-contract.js';
import { idOf, SessionModule, sessionCookie, withSession } from '../session/support.js';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { eventually } from '../pubsub/support.js';
import { rawRedis, scaledStore, testPrefix } from './support.js';
import { startTestApp } from 'vela/testing';

const ID = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';

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
    const redis = rawRedis(REDIS_URL);
    return scaledStore(redisSessionStore({ url: REDIS_URL, keyPrefix }), { keys: () => redis.keys(`${keyPrefix}*`), redis });
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
      return Promise.all([0, 1].map(() => startTestApp(SessionModule, { sessions: { store: redisStore({ keyPrefix }), ttl } }))).then((apps) => ({ apps, keyPrefix }));
    }

    it('a session set on one node is read, changed and destroyed on another with the same cookie', async () => {
      const { apps: [a, b], keyPrefix } = await twoNodes();
      const first = await a!.http.fetch(`/set?key=cart&value=${encodeURIComponent('["apple"]')}`);
      const cookie = sessionCookie(first)!.value;
      const id = idOf(cookie);
      expect(await first.json()).toEqual({ id });
      const redis = rawRedis(REDIS_URL);
      expect(await redis.pttl(`${keyPrefix}${id}`)).toBeGreaterThan(59_000);

      // b signs and checks with the secret a made in Redis: the same session, not a new one.
      const onB = await b!.http.fetch('/session?keys=cart', withSession(cookie));
      expect(sessionCookie(onB)).toBeUndefined();
      expect(await onB.json()).toEqual({ id, values: { cart: ['apple'] } });

      await b!.http.fetch(`/set?key=cart&value=${encodeURIComponent('["apple","pear"]')}`, withSession(cookie));
      expect(await (await a!.http.fetch('/session?keys=cart', withSession(cookie))).json()).toEqual({ id, values: { cart: ['apple', 'pear'] } });

      await a!.http.fetch('/destroy', withSession(cookie));
      expect(await redis.exists(`${keyPrefix}${id}`)).toBe(0);
      const after = await b!.http.fetch('/session?keys=cart', withSession(cookie));
      expect(await after.json()).toEqual({ id, values: { cart: null } });
      expect(await redis.exists(`${keyPrefix}${id}`)).toBe(0);
    });

    it('a request on any node restarts the session ttl in Redis (sliding expiry)', async () => {
      const { apps: [a, b], keyPrefix } = await twoNodes(2_000);
      const cookie = sessionCookie(await a!.http.fetch('/set?key=a&value=1'))!.value;
      const redis = rawRedis(REDIS_URL);
      const key = `${keyPrefix}${idOf(cookie)}`;
      expect(await redis.pttl(key)).toBeLessThanOrEqual(2_000);
      await redis.pexpire(key, 500); // as if 1.5 s had passed
      await b!.http.fetch('/session', withSession(cookie));
      expect(await redis.pttl(key)).toBeGreaterThan(1_500);
    });

    it('keeps one signing secret under <keyPrefix>secret, made once (SET NX) and read by every node', async () => {
      const keyPrefix = `${testPrefix()}:session:`;
      const stores = [redisStore({ keyPrefix }), redisStore({ keyPrefix })];
      const secrets = await Promise.all(stores.map((store) => store.secret!()));
      expect(secrets[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(secrets[1]).toBe(secrets[0]);
      expect(await rawRedis(REDIS_URL).get(`${keyPrefix}secret`)).toBe(secrets[0]);
    });
  });

  describe('anonymous sessions', () => {
    it('are capped at maxAnonymous: the oldest go, a regenerated session never does', async () => {
      const keyPrefix = `${testPrefix()}:s:`;
      const store = redisStore({ keyPrefix, maxAnonymous: 3 });
      const redis = rawRedis(REDIS_URL);
      await store.save(ID, { user: 'ada' }, 60_000, { anonymous: false });
      const visitor = (n: number) => `visitor-${String(n).padStart(24, '0')}`;
      for (let n = 0; n < 50; n++) await store.save(visitor(n), { n }, 60_000, { anonymous: true });

      expect(await store.load(ID)).toEqual({ user: 'ada' });
      expect((await redis.keys(`${keyPrefix}*`)).sort()).toEqual(
        [ID, visitor(47), visitor(48), visitor(49), 'anonymous'].map((key) => keyPrefix + key).sort(),
      );
      expect(await redis.zcard(`${keyPrefix}anonymous`)).toBe(3);
      await store.destroy(visitor(49));
      expect(await redis.zcard(`${keyPrefix}anonymous`)).toBe(2);
    });

    it('refuses a maxAnonymous that is not a positive integer', () => {
      expect(() => redisSessionStore({ maxAnonymous: 0 })).toThrow(
        'redisSessionStore({ maxAnonymous: 0 }): maxAnonymous must be a positive integer, e.g. 100_000.',
      );
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
      const app = await startTestApp(SessionModule, { sessions: { store: redisStore({ url: 'redis://127.0.0.1:1' }) } });
      for (let i = 0; i < 2; i += 1) expect((await app.http.fetch('/session')).status).toBe(500);
      const failures = app.logs.entries.filter((entry) => entry.level === 'error');
      expect(failures).toHaveLength(2);
      expect(String((failures[0]!.fields.error as Error).message)).toContain(
        "Session store 'redis' failed in secret(): Cannot reach Redis at 127.0.0.1:1 for sessions: connect ECONNREFUSED 127.0.0.1:1.",
      );
    });
  });
});
