// The memory session store under churn: every request a new session, as an HTTP benchmark without
// cookies sees it. Run with `npm run bench:session-store` (builds first).
//
// Two stores, same options (maxEntries 100 000, ttl 24 h), same pre-made 32-character ids:
//   current   memorySessionStore() from dist/ (lru-cache: constant-time eviction)
//   map-order the previous store, inlined below: the Map's insertion order is the recency order and
//             eviction deletes `map.keys().next()`, which walks over the holes earlier deletions
//             left at the front of the Map.
// Per store: `fill` saves CAPACITY new sessions (no eviction), then `churn` saves CHURN more, each
// evicting the oldest. Reported: µs per save, awaited one at a time as the session middleware does,
// for the fill, the whole churn, and the slowest WINDOW-save window of the churn. ROUNDS rounds,
// the order of the two stores alternating; medians over the rounds. Bounded: about 10–30 s.
import { performance } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { machine, median } from './harness.mjs';

const CAPACITY = 100_000;
const CHURN = 100_000;
const WINDOW = 10_000;
const ROUNDS = 3;
const TTL = 24 * 60 * 60 * 1000;

const dist = new URL('../dist/index.js', import.meta.url);
if (!existsSync(dist)) throw new Error('dist/ is missing: run `npm run build` first');
const { memorySessionStore } = await import(dist.href);

/** The store before lru-cache (src/session/memory-store.ts at 9d79978), minus option checks. */
class MapOrderStore {
  name = 'memory';
  #entries = new Map();
  #maxEntries;
  #now;
  #timer;
  constructor({ maxEntries = 100_000, sweepInterval = 60_000, now = Date.now } = {}) {
    this.#maxEntries = maxEntries;
    this.#now = now;
    this.#timer = setInterval(() => this.sweep(), sweepInterval).unref();
  }
  get size() {
    return this.#entries.size;
  }
  async load(id) {
    const entry = this.#live(id);
    return entry && structuredClone(entry.data);
  }
  async save(id, data, ttlMs) {
    const entry = { data: structuredClone(data), expiresAt: this.#now() + ttlMs };
    this.#entries.delete(id);
    if (this.#entries.size >= this.#maxEntries) this.#evict();
    this.#entries.set(id, entry);
  }
  async touch(id, ttlMs) {
    const entry = this.#live(id);
    if (!entry) return;
    entry.expiresAt = this.#now() + ttlMs;
    this.#entries.delete(id);
    this.#entries.set(id, entry);
  }
  async destroy(id) {
    this.#entries.delete(id);
  }
  sweep() {
    const now = this.#now();
    let removed = 0;
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(id);
        removed += 1;
      }
    }
    return removed;
  }
  close() {
    clearInterval(this.#timer);
  }
  #live(id) {
    const entry = this.#entries.get(id);
    if (entry && entry.expiresAt <= this.#now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry;
  }
  #evict() {
    const oldest = this.#entries.keys().next();
    if (!oldest.done) this.#entries.delete(oldest.value);
  }
}

const stores = {
  current: () => memorySessionStore({ maxEntries: CAPACITY }),
  'map-order': () => new MapOrderStore({ maxEntries: CAPACITY }),
};

// Ids as the middleware makes them (24 random bytes, base64url), made before any clock starts.
const ids = Array.from({ length: CAPACITY + CHURN }, () => randomBytes(24).toString('base64url'));

async function saves(store, from, to) {
  const started = performance.now();
  for (let i = from; i < to; i++) await store.save(ids[i], {}, TTL);
  return ((performance.now() - started) * 1000) / (to - from);
}

async function run(kind) {
  const store = stores[kind]();
  try {
    const fill = await saves(store, 0, CAPACITY);
    const windows = [];
    for (let at = CAPACITY; at < CAPACITY + CHURN; at += WINDOW) windows.push(await saves(store, at, Math.min(at + WINDOW, CAPACITY + CHURN)));
    if (store.size !== CAPACITY) throw new Error(`${kind}: ${store.size} entries after the churn, expected ${CAPACITY}`);
    if ((await store.load(ids[CAPACITY + CHURN - 1])) === undefined) throw new Error(`${kind}: lost the newest session`);
    if ((await store.load(ids[CHURN - 1])) !== undefined) throw new Error(`${kind}: kept a session it should have evicted`);
    return { fill, churn: windows.reduce((a, b) => a + b, 0) / windows.length, slowest: Math.max(...windows) };
  } finally {
    store.close();
  }
}

const { date, node, nproc, commit } = machine();
const started = performance.now();
console.log(`session store: capacity ${CAPACITY.toLocaleString('en-US')}, ${CHURN.toLocaleString('en-US')} new sessions past it; node ${node}, nproc ${nproc}, commit ${commit}\n`);
console.log('round  store       fill µs/save   churn µs/save   slowest window µs/save');
const results = { current: [], 'map-order': [] };
const us = (x) => x.toFixed(2).padStart(8);
for (let round = 1; round <= ROUNDS; round++) {
  const order = round % 2 ? ['current', 'map-order'] : ['map-order', 'current'];
  for (const kind of order) {
    const result = await run(kind);
    results[kind].push(result);
    console.log(`${String(round).padEnd(5)}  ${kind.padEnd(10)}  ${us(result.fill)}       ${us(result.churn)}        ${us(result.slowest)}`);
  }
}
const line = (kind) => {
  const rs = results[kind];
  const m = (key) => median(rs.map((r) => r[key])).toFixed(2);
  return `${kind.padEnd(10)} fill ${m('fill')} µs/save, churn ${m('churn')} µs/save (slowest ${WINDOW.toLocaleString('en-US')}-save window ${m('slowest')})`;
};
console.log(
  [
    '',
    '---- session-store summary ----',
    'command: npm run bench:session-store',
    `date: ${date}   node: ${node}   nproc: ${nproc}   (shared, noisy machine: compare side by side)`,
    `commit: ${commit}`,
    `setup: maxEntries ${CAPACITY.toLocaleString('en-US')}, ttl 24 h, save(id, {}, ttl) awaited one at a time; ${CAPACITY.toLocaleString('en-US')} to fill, ` +
      `then ${CHURN.toLocaleString('en-US')} that each evict; ${ROUNDS} rounds, order alternating; medians`,
    line('current'),
    line('map-order'),
    `churn, map-order / current: ${(median(results['map-order'].map((r) => r.churn)) / median(results.current.map((r) => r.churn))).toFixed(1)}×`,
    `total run time: ${((performance.now() - started) / 1000).toFixed(0)} s`,
  ].join('\n'),
);
