// The SessionStore contract, as one suite every store runs (the memory store now, Redis later).
// `advance` moves the store's clock: a fake clock for the memory store, real time for a server.
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionStore } from '../../src/session/index.js';

export interface StoreUnderTest {
  store: SessionStore;
  advance(ms: number): void | Promise<void>;
}

const ID = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';
const OTHER = 'zyxwvutsrqponmlkjihgfedcba_-9876';

export function describeSessionStore(name: string, create: () => StoreUnderTest | Promise<StoreUnderTest>): void {
  describe(`${name} (SessionStore contract)`, () => {
    const opened: SessionStore[] = [];
    const open = async () => {
      const subject = await create();
      opened.push(subject.store);
      return subject;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close?.()));
    });

    it('loads undefined for an id it never saved', async () => {
      const { store } = await open();
      expect(await store.load(ID)).toBeUndefined();
    });

    it('loads what was saved, per id', async () => {
      const { store } = await open();
      await store.save(ID, { user: { id: 7, roles: ['admin'] }, n: 1.5, ok: true, none: null }, 60_000);
      await store.save(OTHER, { user: 'other' }, 60_000);
      expect(await store.load(ID)).toEqual({ user: { id: 7, roles: ['admin'] }, n: 1.5, ok: true, none: null });
      expect(await store.load(OTHER)).toEqual({ user: 'other' });
    });

    it('replaces the data on a second save', async () => {
      const { store } = await open();
      await store.save(ID, { a: 1, b: 2 }, 60_000);
      await store.save(ID, { b: 3 }, 60_000);
      expect(await store.load(ID)).toEqual({ b: 3 });
    });

    it('stores a copy: changing the saved or the loaded object later changes nothing', async () => {
      const { store } = await open();
      const data = { cart: ['apple'] };
      await store.save(ID, data, 60_000);
      data.cart.push('pear');
      const loaded = (await store.load(ID)) as { cart: string[] };
      loaded.cart.push('plum');
      expect(await store.load(ID)).toEqual({ cart: ['apple'] });
    });

    it('updates a session that exists, restarting its ttl, and answers true', async () => {
      const { store, advance } = await open();
      await store.save(ID, { a: 1, b: 2 }, 1_000);
      await advance(800);
      expect(await store.update!(ID, { b: 3 }, 1_000)).toBe(true);
      await advance(800);
      expect(await store.load(ID)).toEqual({ b: 3 });
    });

    it('does not bring back an unknown, destroyed or expired id on update, and answers false', async () => {
      const { store, advance } = await open();
      expect(await store.update!(OTHER, { a: 1 }, 1_000)).toBe(false);
      await store.save(ID, { a: 1 }, 1_000);
      await store.destroy(ID);
      expect(await store.update!(ID, { a: 2 }, 1_000)).toBe(false);
      await store.save(ID, { a: 3 }, 1_000);
      await advance(1_002);
      expect(await store.update!(ID, { a: 4 }, 1_000)).toBe(false);
      expect(await store.load(OTHER)).toBeUndefined();
      expect(await store.load(ID)).toBeUndefined();
    });

    it('forgets a destroyed session, and destroying an unknown id is fine', async () => {
      const { store } = await open();
      await store.save(ID, { a: 1 }, 60_000);
      await store.destroy(ID);
      await store.destroy(OTHER);
      expect(await store.load(ID)).toBeUndefined();
    });

    it('never returns an entry past its ttl', async () => {
      const { store, advance } = await open();
      await store.save(ID, { a: 1 }, 1_000);
      await advance(999);
      expect(await store.load(ID)).toEqual({ a: 1 });
      // 2 ms more: the millisecond at the ttl itself is the store's choice (Redis drops the key,
      // lru-cache keeps it until it is older than the ttl).
      await advance(2);
      expect(await store.load(ID)).toBeUndefined();
    });

    it('restarts the ttl on save and on touch (sliding expiry)', async () => {
      const { store, advance } = await open();
      await store.save(ID, { a: 1 }, 1_000);
      await advance(800);
      await store.touch(ID, 1_000);
      await advance(800);
      expect(await store.load(ID)).toEqual({ a: 1 });
      await store.save(ID, { a: 2 }, 1_000);
      await advance(800);
      expect(await store.load(ID)).toEqual({ a: 2 });
      await advance(202);
      expect(await store.load(ID)).toBeUndefined();
    });

    it('does not bring back an unknown or expired id on touch', async () => {
      const { store, advance } = await open();
      await store.touch(OTHER, 1_000);
      await store.save(ID, { a: 1 }, 1_000);
      await advance(1_002);
      await store.touch(ID, 1_000);
      expect(await store.load(OTHER)).toBeUndefined();
      expect(await store.load(ID)).toBeUndefined();
    });

    it('has a name for error messages', async () => {
      const { store } = await open();
      expect(store.name).toMatch(/^\S+$/);
    });
  });
}
