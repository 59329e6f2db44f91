// memorySessionStore: the SessionStore contract, plus the bounds that keep it from growing forever.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../src/index.js';
import { memorySessionStore, type MemorySessionStore } from '../../src/session/index.js';
import { describeSessionStore } from './store-contract.js';
import { manualClock } from './support.js';

describeSessionStore('memorySessionStore', () => {
  const clock = manualClock();
  return { store: memorySessionStore({ now: clock.now }), advance: clock.advance };
});

const id = (n: number) => `session-${String(n).padStart(24, '0')}`;

const stores: MemorySessionStore[] = [];
function store(options: Parameters<typeof memorySessionStore>[0]) {
  const made = memorySessionStore(options);
  stores.push(made);
  return made;
}
afterEach(() => {
  for (const made of stores.splice(0)) made.close();
  vi.useRealTimers();
});

describe('memorySessionStore({ maxEntries })', () => {
  it('evicts the least recently saved session to take a new one past maxEntries', async () => {
    const sessions = store({ maxEntries: 3 });
    for (const n of [1, 2, 3]) await sessions.save(id(n), { n }, 60_000);
    await sessions.save(id(1), { n: 1, again: true }, 60_000);

    await sessions.save(id(4), { n: 4 }, 60_000);

    expect(sessions.size).toBe(3);
    expect(await sessions.load(id(2))).toBeUndefined();
    expect(await sessions.load(id(1))).toEqual({ n: 1, again: true });
    expect(await sessions.load(id(3))).toEqual({ n: 3 });
    expect(await sessions.load(id(4))).toEqual({ n: 4 });
  });

  it('counts a touch as use, so an active session outlives idle ones', async () => {
    const sessions = store({ maxEntries: 2 });
    await sessions.save(id(1), {}, 60_000);
    await sessions.save(id(2), {}, 60_000);
    await sessions.touch(id(1), 60_000);

    await sessions.save(id(3), {}, 60_000);

    expect(await sessions.load(id(1))).toEqual({});
    expect(await sessions.load(id(2))).toBeUndefined();
  });

  it('does not evict to replace a session it already holds', async () => {
    const sessions = store({ maxEntries: 2 });
    await sessions.save(id(1), { v: 1 }, 60_000);
    await sessions.save(id(2), { v: 1 }, 60_000);
    await sessions.save(id(2), { v: 2 }, 60_000);
    expect(sessions.size).toBe(2);
    expect(await sessions.load(id(1))).toEqual({ v: 1 });
  });

  it('stays at maxEntries under a flood of new sessions', async () => {
    const sessions = store({ maxEntries: 100 });
    for (let n = 0; n < 1_000; n++) await sessions.save(id(n), { n }, 60_000);
    expect(sessions.size).toBe(100);
    expect(await sessions.load(id(999))).toEqual({ n: 999 });
    expect(await sessions.load(id(899))).toBeUndefined();
  });
});

describe('memorySessionStore({ maxAnonymous })', () => {
  it('keeps anonymous sessions apart: a flood of them evicts only anonymous ones, never a regenerated one', async () => {
    const sessions = store({ maxEntries: 2, maxAnonymous: 3 });
    await sessions.save(id(1), { user: 'ada' }, 60_000, { anonymous: false });
    for (let n = 100; n < 1_100; n++) await sessions.save(id(n), { visitor: n }, 60_000, { anonymous: true });

    expect(await sessions.load(id(1))).toEqual({ user: 'ada' });
    expect(sessions.size).toBe(4);
    expect(await sessions.load(id(1_099))).toEqual({ visitor: 1_099 });
    expect(await sessions.load(id(1_096))).toBeUndefined();
  });

  it('update and touch keep an entry in its own pool; a save as the other kind moves it', async () => {
    const sessions = store({ maxEntries: 1, maxAnonymous: 1 });
    await sessions.save(id(1), { n: 1 }, 60_000, { anonymous: true });
    expect(await sessions.update!(id(1), { n: 2 }, 60_000)).toBe(true);
    await sessions.touch(id(1), 60_000);
    await sessions.save(id(2), { user: 'ada' }, 60_000);
    expect(await sessions.load(id(1))).toEqual({ n: 2 });

    await sessions.save(id(1), { n: 3 }, 60_000);
    expect(sessions.size).toBe(1);
    expect(await sessions.load(id(2))).toBeUndefined();
  });
});

describe('memorySessionStore eviction order', () => {
  it('evicts the next oldest after the oldest was destroyed, and a re-saved session counts as new', async () => {
    const sessions = store({ maxEntries: 3 });
    for (const n of [1, 2, 3]) await sessions.save(id(n), { n }, 60_000);
    await sessions.destroy(id(1));
    await sessions.save(id(1), { n: 1 }, 60_000);

    await sessions.save(id(4), { n: 4 }, 60_000);
    await sessions.save(id(5), { n: 5 }, 60_000);

    expect(await sessions.load(id(2))).toBeUndefined();
    expect(await sessions.load(id(3))).toBeUndefined();
    expect(await sessions.load(id(1))).toEqual({ n: 1 });
    expect(await sessions.load(id(4))).toEqual({ n: 4 });
    expect(await sessions.load(id(5))).toEqual({ n: 5 });
  });

  it('keeps the order of the sessions a sweep leaves', async () => {
    const clock = manualClock();
    const sessions = store({ maxEntries: 4, now: clock.now });
    await sessions.save(id(1), {}, 5_000);
    await sessions.save(id(2), {}, 1_000);
    await sessions.save(id(3), {}, 5_000);
    await sessions.save(id(4), {}, 1_000);
    await sessions.touch(id(1), 5_000);
    clock.advance(1_001);
    expect(sessions.sweep()).toBe(2);

    for (const n of [5, 6, 7]) await sessions.save(id(n), {}, 5_000);

    expect(await sessions.load(id(3))).toBeUndefined();
    expect(await sessions.load(id(1))).toEqual({});
    expect(sessions.size).toBe(4);
  });

  it('matches a plain list of ids under a random mix of operations', async () => {
    const clock = manualClock();
    const maxEntries = 8;
    const sessions = store({ maxEntries, now: clock.now });
    const model = recencyModel(maxEntries, clock.now);
    const random = seeded(42);
    for (let step = 0; step < 5_000; step++) {
      const key = id(Math.floor(random() * 16));
      const ttl = 1 + Math.floor(random() * 3) * 1_000;
      const roll = random();
      if (roll < 0.35) {
        await sessions.save(key, { step }, ttl);
        model.save(key, { step }, ttl);
      } else if (roll < 0.55) {
        await sessions.touch(key, ttl);
        model.touch(key, ttl);
      } else if (roll < 0.65) {
        await sessions.destroy(key);
        model.destroy(key);
      } else if (roll < 0.9) {
        expect(await sessions.load(key), `load at step ${step}`).toEqual(model.load(key));
      } else if (roll < 0.92) {
        expect(sessions.sweep(), `sweep at step ${step}`).toBe(model.sweep());
      } else {
        clock.advance(Math.floor(random() * 1_500));
      }
      expect(sessions.size, `size at step ${step}`).toBe(model.size());
    }
  });
});

/** The store's rules written the slow, obvious way: an array from least to most recently used. */
function recencyModel(maxEntries: number, now: () => number) {
  let entries: { id: string; data: unknown; expiresAt: number }[] = [];
  const find = (key: string) => entries.findIndex((entry) => entry.id === key);
  const live = (key: string) => {
    const at = find(key);
    if (at === -1) return undefined;
    if (entries[at]!.expiresAt < now()) {
      entries.splice(at, 1);
      return undefined;
    }
    return entries[at];
  };
  return {
    save(key: string, data: unknown, ttl: number) {
      const at = find(key);
      if (at !== -1) entries.splice(at, 1);
      else if (entries.length >= maxEntries) entries.shift();
      entries.push({ id: key, data, expiresAt: now() + ttl });
    },
    touch(key: string, ttl: number) {
      const entry = live(key);
      if (!entry) return;
      entries.splice(entries.indexOf(entry), 1);
      entries.push({ ...entry, expiresAt: now() + ttl });
    },
    destroy(key: string) {
      const at = find(key);
      if (at !== -1) entries.splice(at, 1);
    },
    load(key: string) {
      const entry = live(key);
      if (!entry) return undefined;
      entries.splice(entries.indexOf(entry), 1);
      entries.push(entry);
      return entry.data;
    },
    sweep() {
      const before = entries.length;
      entries = entries.filter((entry) => entry.expiresAt >= now());
      return before - entries.length;
    },
    size: () => entries.length,
  };
}

/** A small deterministic PRNG (mulberry32), so a failure replays the same steps. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('memorySessionStore expiry', () => {
  it('removes an expired entry when it is looked up', async () => {
    const clock = manualClock();
    const sessions = store({ now: clock.now });
    await sessions.save(id(1), {}, 1_000);
    clock.advance(1_001);
    expect(sessions.size).toBe(1);
    expect(await sessions.load(id(1))).toBeUndefined();
    expect(sessions.size).toBe(0);
  });

  it('#sweep removes every expired entry and keeps the live ones', async () => {
    const clock = manualClock();
    const sessions = store({ now: clock.now });
    await sessions.save(id(1), {}, 1_000);
    await sessions.save(id(2), {}, 5_000);
    await sessions.save(id(3), {}, 1_000);
    clock.advance(1_001);

    expect(sessions.sweep()).toBe(2);
    expect(sessions.size).toBe(1);
    expect(await sessions.load(id(2))).toEqual({});
  });

  it('sweeps on its own every sweepInterval, until close()', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = manualClock();
    const sessions = store({ now: clock.now, sweepInterval: 10_000 });
    await sessions.save(id(1), {}, 1_000);
    clock.advance(1_001);

    vi.advanceTimersByTime(9_999);
    expect(sessions.size).toBe(1);
    vi.advanceTimersByTime(1);
    expect(sessions.size).toBe(0);

    sessions.close();
    await sessions.save(id(2), {}, 1_000);
    clock.advance(1_001);
    vi.advanceTimersByTime(60_000);
    expect(sessions.size).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('memorySessionStore options', () => {
  it('refuses a maxEntries or sweepInterval that is not a positive integer', () => {
    expect(() => memorySessionStore({ maxEntries: 0 })).toThrow(ConfigError);
    expect(() => memorySessionStore({ maxEntries: 0 })).toThrow(
      'memorySessionStore({ maxEntries: 0 }): maxEntries must be a positive integer, e.g. 100_000.',
    );
    expect(() => memorySessionStore({ sweepInterval: 1.5 })).toThrow(
      'memorySessionStore({ sweepInterval: 1.5 }): sweepInterval must be a positive integer, e.g. 60_000.',
    );
  });
});
