// Presence under churn (issue 16): 3 Vela nodes on Redis, one channel watched by 10,000 sockets,
// while other clients join (track) and leave (close) it at 2,000 per second cluster-wide.
// Run with `npm run bench:presence` (builds first). Needs Redis at 127.0.0.1:6379 (REDIS_URL to change).
// `--subscribers N` (default 10,000), `--rate N` joins per second cluster-wide (default 2,000; as
// many leaves follow), `--rounds N` counted rounds of ROUND_MS each (default 6; a short development
// run: `--rounds 2 --subscribers 2000`).
//
// Processes (all on 127.0.0.1, all killed when this one ends, normally or not):
//   driver   this script: opens no socket to the nodes, commands everyone over IPC, keeps the rounds,
//            reads Redis's INFO (commandstats, cpu) around each round
//   nodes    `presence.mjs server <prefix> A|B|C`: bootstrap(PresenceModule, { port: 0, host:
//            '127.0.0.1', pubsub: redisPubSub({ url, keyPrefix }), sessions: false }) with
//            bench/apps/presence.vela.ts: /watch joins the channel, returns presence_state and
//            forwards each presence_diff as reply(json({ event, data })) (docs/presence.md);
//            /churn tracks ?key= with { name, device } and says 'tracked'. Each node times its
//            track() calls (in the gateway, around the call); node A also times count() in a loop
//            (one call, then COUNT_PAUSE_MS, while the churn runs).
//   clients  `presence.mjs client I` × 4, each from its own source addresses:
//            - SUBSCRIBERS/4 watchers spread over the 3 nodes. SAMPLE of them are `ws` sockets that
//              parse every frame: the latency sample. The others are raw TCP sockets that do the
//              upgrade and then only drain what comes, once every DRAIN_READ_MS (the nodes do all
//              the work of a member, every frame written when it is due; the kernel holds what a
//              drain has not read yet, and one read takes many frames: the clients spare the 2
//              cores a read per frame).
//            - churners at RATE/4 per second, over the 3 nodes in turn: a new TCP socket that does
//              the upgrade by hand to /churn?key=<client>-<n>; on 'tracked' it stays HOLD_MS, then
//              closes (a close frame, answered by the node's).
//              The join is stamped before the TCP connect, the leave at the close frame's write, with process.hrtime
//              (CLOCK_MONOTONIC, the same clock in every process).
//            A client's sampled watchers time the changes its own churners made (a quarter of all,
//            seen on watchers of all 3 nodes): latency = arrival of the diff frame naming the key in
//            its joins (resp. leaves) − the stamp. Every sampled watcher must see every such join
//            and leave exactly once, or neither (a join and its leave that meet in one merge window
//            are shown to nobody, by design: counted apart): a join without its leave, a leave
//            without its join, or a repeat is reported, and fails the run.
//
// The fan-out floor, in the same run: a plain broadcast (topic 'probe', a 30-byte payload, no
// presence) from a node to the same watchers, relayed the same way, timed from the broadcast call
// to the arrival at the timed watchers: IDLE_PROBES before the churn, one a second during it. A diff
// cannot reach the watchers faster than this; the difference is what presence adds.
//
// Rounds: ROUND_MS of churn each, WARMUP first (printed, not counted). Per round: latency p50/p99
// (join and leave diffs together), track() and count() p99, node CPU (process.cpuUsage() of the 3
// nodes, user + sys) per join, Redis commands per join (Δ INFO commandstats of the whole server:
// script-internal commands counted, as Redis counts them; other sessions' commands too, if any) and
// Redis CPU per join, and the foreign load (bench/harness.mjs loadMark: a round during which other
// processes kept more than FOREIGN_LIMIT CPUs busy is marked ! and left out of the totals). The
// totals are over the usable rounds' samples. After the churn stops and the last leaves' diffs are
// out, count() must be 0 on every node (no phantom entries). The run's Redis keys are under its own
// prefix and deleted at the end (also on an error or Ctrl-C).
import { performance } from 'node:perf_hooks';
import { createConnection } from 'node:net';
import { randomBytes } from 'node:crypto';
import { spawnChild, serveParent, machine, openFileLimit, sleep, loadMark, loadSince, foreignLoadLine, srcDiffStat, benchApp, closeAll, withDeadline } from './harness.mjs';
import { REDIS_URL, openRedis, flushKeys, flushOnExit, redisServerPids } from './redis-keys.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const wholeNumber = (name, fallback, min) => {
  const n = Number(arg(name, fallback));
  if (!(Number.isInteger(n) && n >= min)) throw new Error(`${name} ${arg(name)}: a whole number ≥ ${min}`);
  return n;
};
const SUBSCRIBERS = wholeNumber('--subscribers', '10000', 100);
const RATE = wholeNumber('--rate', '2000', 40); // joins per second cluster-wide; as many leaves, HOLD_MS later
const ROUNDS = wholeNumber('--rounds', '6', 1);
const NODES = ['A', 'B', 'C'];
const CLIENTS = 4; // processes; client I connects from 127.(I+1).0.x
const SAMPLE = 50; // parsing watchers per client process: SAMPLE × CLIENTS subscribers timed
const HOLD_MS = 1_000; // a churner stays this long after 'tracked': about RATE × HOLD_MS / 1000 present at once
const ROUND_MS = 10_000;
const WARMUP = 1; // rounds, not counted
const FOREIGN_LIMIT = 0.3; // CPUs busy with other processes' work during a round that make it unusable
const IDLE_PROBES = 20; // plain broadcasts to the watchers before the churn starts, PROBE_IDLE_MS apart
const PROBE_IDLE_MS = 200;
const PROBE_EVERY_MS = 1_000; // during the rounds: one plain broadcast a second, from A, B, C in turn
const DRAIN_READ_MS = 1_000; // a drain socket reads what came at most this often (one read for many frames)
const COUNT_PAUSE_MS = 10; // between two timed count() calls on node A
const MAX_TIMINGS = 100_000; // per node per round: track() and count() durations kept (bounded)
const MAX_CONNECTING = 1_000; // churners per client still connecting: past it, a due join is skipped (and counted)
const CHURN_TICK_MS = 5;
const STOP_GRACE_MS = 10_000; // when the churn stops: how long its last churners get to leave before they are cut
const DRAIN_MS = 3_000;
const SETTLE_MS = 5_000; // then: the timed watchers' count of missing changes must stop moving for this long…
const SETTLE_LIMIT_MS = 30_000; // …or this passes
const FINAL_COUNT_MS = 10_000; // after DRAIN_MS: how long count() may take to come down to 0 // after the last churner closed: the last diffs (50 ms window) have long arrived
const BATCH = 250; // watchers each client opens concurrently
const CHURN_ADDRESSES = 16; // source addresses per client for churners (no ephemeral-port exhaustion)
const HARD_LIMIT_MS = 235_000; // the whole run fails (and cleans up) past this
const FD_HEADROOM = 256;
const TARGETS = { latencyP99Ms: 250, trackP99Ms: 20, countP99Ms: 5 }; // issue 16
const CHANNEL = 'room:bench'; // as bench/apps/presence.vela.ts names it
const IDLE_ROUND = -100; // what the idle probes are filed under
const TRACKED_FRAME_BYTES = 2 + 'tracked'.length; // the node's reply, an unmasked text frame
// A client's close frame: FIN + close, masked, 2 bytes of payload (1000) under the mask 0x01020304.
const CLOSE_FRAME = Buffer.from([0x88, 0x82, 0x01, 0x02, 0x03, 0x04, 0x03 ^ 0x01, 0xe8 ^ 0x02]);

const self = new URL(import.meta.url).pathname;

/** Latencies in 0.1 ms buckets (a Map, so only the buckets used take room): bounded whatever the count. */
class Histogram {
  constructor(entries = []) {
    this.buckets = new Map(entries);
  }
  add(ms) {
    const b = Math.max(0, Math.round(ms * 10));
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + 1);
  }
  merge(other) {
    for (const [b, n] of other.buckets) this.buckets.set(b, (this.buckets.get(b) ?? 0) + n);
    return this;
  }
  get count() {
    let n = 0;
    for (const c of this.buckets.values()) n += c;
    return n;
  }
  /** The q-quantile in ms (NaN when empty). */
  quantile(q) {
    const total = this.count;
    if (total === 0) return NaN;
    const rank = Math.min(total - 1, Math.floor(q * total));
    let seen = 0;
    for (const b of [...this.buckets.keys()].sort((x, y) => x - y)) {
      seen += this.buckets.get(b);
      if (seen > rank) return b / 10;
    }
    return NaN;
  }
  toJSON() {
    return [...this.buckets];
  }
}

const fmt = (n) => n.toLocaleString('en-US');
const ms = (x) => (Number.isNaN(x) ? '   —' : x.toFixed(1));

// ---------------------------------------------------------------------------------------------
// Driver

async function main() {
  const started = performance.now();
  const limit = openFileLimit();
  const perClient = Math.ceil(SUBSCRIBERS / CLIENTS) + MAX_CONNECTING + (RATE / CLIENTS) * (HOLD_MS / 1000) * 2;
  if (perClient + FD_HEADROOM > limit) throw new Error(`ulimit -n is ${limit}: a client needs about ${Math.ceil(perClient + FD_HEADROOM)} (this bench never raises limits); try fewer --subscribers`);

  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const prefix = `vela-bench-presence-${runId}`;
  let flushed = false;
  flushOnExit('presence', () => [prefix], () => flushed);
  let redis;
  try {
    redis = await openRedis();
  } catch (error) {
    throw new Error(`presence: cannot reach Redis at ${REDIS_URL} (${error.message}): start it, or set REDIS_URL`);
  }

  const { date, node, nproc, commit } = machine();
  const srcChanges = srcDiffStat();
  console.log(`presence: 3 nodes on Redis, ${fmt(SUBSCRIBERS)} watchers of one channel, ${fmt(RATE)} joins/s (+ as many leaves) cluster-wide`);
  console.log(`node ${node}, nproc ${nproc}, commit ${commit}; ulimit -n ${limit}`);

  const nodes = NODES.map((name) => spawnChild(self, ['server', prefix, name]));
  const ports = await Promise.all(nodes.map((n) => n.ready));
  const clients = Array.from({ length: CLIENTS }, (_, i) => spawnChild(self, ['client', String(i)], { waitFor: 'ready' }));
  await Promise.all(clients.map((c) => c.ready));
  const ourPids = [...nodes, ...clients].map((c) => c.child.pid).concat(redisServerPids());

  const shareOf = (i) => Math.floor(SUBSCRIBERS / CLIENTS) + (i < SUBSCRIBERS % CLIENTS ? 1 : 0);
  const t = performance.now();
  await Promise.all(clients.map((c, i) => c.request({ cmd: 'watch', ports, count: shareOf(i), sample: SAMPLE, batch: BATCH }, 120_000)));
  const connectS = (performance.now() - t) / 1000;
  // A drain socket is open at its 101; its gateway's init (the join) may still be running then.
  let members = [];
  for (const until = performance.now() + 10_000; performance.now() < until; await sleep(100)) {
    members = (await Promise.all(nodes.map((n) => n.request({ cmd: 'members' })))).map((m) => m.members);
    if (members.reduce((a, b) => a + b, 0) === SUBSCRIBERS) break;
  }
  if (members.reduce((a, b) => a + b, 0) !== SUBSCRIBERS) throw new Error(`${members.join(' + ')} members on the nodes, expected ${SUBSCRIBERS}`);
  console.log(`connected ${fmt(SUBSCRIBERS)} watchers in ${connectS.toFixed(1)} s (${members.join(' / ')} on A / B / C; ${Math.min(SUBSCRIBERS, SAMPLE * CLIENTS)} parse every frame)`);

  // The churn and the count() loop run through every round; each process files what it sees under the round it was told.
  const everyone = [...nodes, ...clients];
  const setRound = (round) => Promise.all(everyone.map((p) => p.request({ cmd: 'round', round })));
  await setRound(IDLE_ROUND);
  for (let i = 0; i < IDLE_PROBES; i++) {
    await nodes[i % nodes.length].request({ cmd: 'probe' });
    await sleep(PROBE_IDLE_MS);
  }
  await setRound(0);
  const churnMaxMs = (WARMUP + ROUNDS) * ROUND_MS + 20_000;
  await Promise.all(clients.map((c, i) => c.request({ cmd: 'churn', ports, rate: RATE / CLIENTS, holdMs: HOLD_MS, maxMs: churnMaxMs, first: i })));
  await nodes[0].request({ cmd: 'countLoop', pauseMs: COUNT_PAUSE_MS, maxMs: churnMaxMs });
  let probes = 0;
  const probing = setInterval(() => void nodes[probes++ % nodes.length].request({ cmd: 'probe' }).catch(() => {}), PROBE_EVERY_MS);

  const reports = async () => ({
    seen: await Promise.all(clients.map((c) => c.request({ cmd: 'report' }))),
    timed: await Promise.all(nodes.map((n) => n.request({ cmd: 'report' }))),
  });
  console.log(`\n${HEADER}`);
  const rounds = [];
  for (let round = 1 - WARMUP; round <= ROUNDS; round++) {
    await setRound(round);
    const mark = loadMark(ourPids);
    const redis0 = await redisStats(redis);
    await Promise.all(nodes.map((n) => n.request({ cmd: 'mark' })));
    const t0 = performance.now();
    await sleep(ROUND_MS);
    const cpu = await Promise.all(nodes.map((n) => n.request({ cmd: 'cpu' })));
    const seconds = (performance.now() - t0) / 1000;
    const redis1 = await redisStats(redis);
    const { foreignCores } = loadSince(mark);
    rounds.push({ round, seconds, foreignCores, nodeCpuUs: cpu.reduce((n, { cpu: c }) => n + c.user + c.system, 0), redis: diffStats(redis0, redis1) });
    console.log(roundLine(rounds.at(-1), figures(await reports())));
  }
  clearInterval(probing);
  await setRound(ROUNDS + 1); // what arrives after the last round is filed apart

  // Stop the churn, let every churner leave and its diff arrive, then gather.
  await nodes[0].request({ cmd: 'stopCount' });
  const churn = await Promise.all(clients.map((c) => c.request({ cmd: 'stopChurn', holdMs: HOLD_MS }, HOLD_MS + 3 * STOP_GRACE_MS)));
  await sleep(DRAIN_MS);
  // Every churner has closed: each node's count() must come down to 0 (no phantom entries), within FINAL_COUNT_MS.
  let finalCounts = [];
  const countStart = performance.now();
  for (const until = countStart + FINAL_COUNT_MS; ; await sleep(100)) {
    finalCounts = (await Promise.all(nodes.map((n) => n.request({ cmd: 'count' })))).map((r) => r.count);
    if (finalCounts.every((c) => c === 0) || performance.now() > until) break;
  }
  const finalCountMs = performance.now() - countStart;
  // The last leaves' diffs may still be on their way to the timed watchers (a loaded machine holds
  // them for seconds): gather again until nothing is missing, or nothing changed for SETTLE_MS.
  let settled = await reports();
  for (let last = missingOf(settled), since = performance.now(), until = since + SETTLE_LIMIT_MS; last > 0 && performance.now() < until && performance.now() - since < SETTLE_MS; ) {
    await sleep(250);
    settled = await reports();
    const now = missingOf(settled);
    if (now !== last) [last, since] = [now, performance.now()];
  }
  const { seen, timed } = settled;

  await Promise.all(clients.map((c) => c.request({ cmd: 'close' })));
  await Promise.all(clients.map((c) => c.stop()));
  await Promise.all(nodes.map((n) => n.stop()));
  const { deleted, left } = await flushKeys(redis, [prefix]);
  flushed = left === 0;
  redis.disconnect();

  const lines = summarize({ rounds, seen, timed, churn, finalCounts, finalCountMs });
  const totalS = (performance.now() - started) / 1000;
  const summary = [
    '---- presence summary ----',
    `command: npm run bench:presence${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    `date: ${date}   node: ${node}   nproc: ${nproc}   (shared, noisy machine)`,
    `commit: ${commit}${srcChanges ? ` (${srcChanges})` : ''}`,
    `setup: 3 nodes (separate processes) on redisPubSub, bench/apps/presence.vela.ts, presence window 50 ms (default); one channel;`,
    `       ${fmt(SUBSCRIBERS)} watchers on /watch over the 3 nodes from ${CLIENTS} client processes (${Math.min(SUBSCRIBERS, SAMPLE * CLIENTS)} of them parse and time every frame, the rest drain);`,
    `       churners on /churn (raw TCP, upgrade by hand): ${fmt(RATE)} joins/s cluster-wide, each leaving (close) ${HOLD_MS} ms after 'tracked';`,
    `       latency: join stamped before the TCP connect, leave at the close frame's write, to the arrival of the diff naming it at a timed watcher;
       fan-out floor: app.pubsub.broadcast(channel, 'probe', { t }) from A, B, C in turn (${IDLE_PROBES} before the churn, one a second during it), timed from the call to the arrival;`,
    `       ${WARMUP} warm-up round + ${ROUNDS} rounds of ${ROUND_MS / 1000} s, connected in ${connectS.toFixed(1)} s (not measured)`,
    ...lines,
    `  Redis keys of the run deleted at the end: ${deleted} (${left} left)`,
    `total run time: ${totalS.toFixed(0)} s`,
  ];
  console.log(`\n${summary.join('\n')}`);
  const failures = lines.filter((l) => l.includes('FAILED'));
  if (failures.length) throw new Error(`presence: ${failures.join('; ')}`);
}

/** INFO commandstats (calls per command) and INFO cpu (seconds) of the whole Redis server. */
async function redisStats(redis) {
  const calls = new Map();
  for (const [, name, n] of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(name, Number(n));
  const cpu = await redis.info('cpu');
  const seconds = (field) => Number(new RegExp(`^${field}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? NaN);
  return { calls, cpuS: seconds('used_cpu_sys') + seconds('used_cpu_user') };
}

/** Calls per command between two redisStats, less the INFO calls that read them. */
function diffStats(a, b) {
  const calls = new Map();
  for (const [name, n] of b.calls) {
    const d = n - (a.calls.get(name) ?? 0) - (name === 'info' ? 2 : 0);
    if (d > 0) calls.set(name, d);
  }
  return { calls, cpuUs: (b.cpuS - a.cpuS) * 1e6 };
}

const missingOf = ({ seen }) => seen.reduce((n, s) => n + s.missing, 0);
const anyCut = (seen) => seen.some((s) => Object.keys(s.cut).length > 0);

/** Timed watchers a node closed during the run, by close code (1008: a slow consumer, docs/gateways.md, `maxBufferedBytes`). */
function cutLine(seen) {
  const codes = {};
  for (const s of seen) for (const [code, n] of Object.entries(s.cut)) codes[code] = (codes[code] ?? 0) + n;
  const listed = Object.entries(codes).map(([code, n]) => `${fmt(n)} with ${code}`);
  return `  timed watchers closed by a node before the end: ${listed.length ? listed.join(', ') : 'none'}`;
}

const HEADER = '  round    joins/s  diff latency p50 / p99 ms  floor p99 ms  track p99 ms  count p99 ms  node CPU µs/join  Redis cmds/join  Redis CPU µs/join  foreign CPUs';

/** Histograms of a round's samples, from the clients' and nodes' reports (a round's late arrivals are filed under the next). */
function figures({ seen, timed }) {
  const timings = (field, round) => timed.flatMap((t) => t[field][round] ?? []);
  return {
    seen,
    timed,
    /** `side` 'join', 'leave' or 'probe' (the plain broadcasts); join and leave when left out. */
    latency: (round, side) =>
      seen.reduce((h, s) => {
        for (const field of side ? [side] : ['join', 'leave']) h.merge(new Histogram(s.latency[round]?.[field] ?? []));
        return h;
      }, new Histogram()),
    track: (round) => timings('track', round),
    count: (round) => timings('count', round),
  };
}

const histogramOf = (xs) => xs.reduce((h, x) => (h.add(x), h), new Histogram());
const sumCalls = (calls) => [...calls.values()].reduce((a, b) => a + b, 0);

function roundLine(r, f) {
  const h = f.latency(r.round);
  const joins = f.track(r.round).length;
  return (
    `  ${(r.round <= 0 ? 'warm-up' : String(r.round)).padEnd(7)} ${fmt(Math.round(joins / r.seconds)).padStart(8)}  ${`${ms(h.quantile(0.5))} / ${ms(h.quantile(0.99))}`.padStart(25)}` +
    `  ${ms(f.latency(r.round, 'probe').quantile(0.99)).padStart(12)}` +
    `  ${ms(histogramOf(f.track(r.round)).quantile(0.99)).padStart(12)}  ${ms(histogramOf(f.count(r.round)).quantile(0.99)).padStart(12)}  ${(r.nodeCpuUs / joins).toFixed(0).padStart(16)}` +
    `  ${(sumCalls(r.redis.calls) / joins).toFixed(1).padStart(15)}  ${(r.redis.cpuUs / joins).toFixed(1).padStart(17)}  ${r.foreignCores.toFixed(2).padStart(12)}${r.foreignCores > FOREIGN_LIMIT ? ' ! unusable' : ''}`
  );
}

function summarize({ rounds, seen, timed, churn, finalCounts, finalCountMs }) {
  const f = figures({ seen, timed });
  const lines = [HEADER, ...rounds.map((r) => roundLine(r, f))];
  const counted = rounds.filter((r) => r.round > 0);
  const flagged = counted.filter((r) => r.foreignCores > FOREIGN_LIMIT);
  const usedAll = counted.length - flagged.length === 0;
  const used = usedAll ? counted : counted.filter((r) => r.foreignCores <= FOREIGN_LIMIT);
  const latency = used.reduce((h, r) => h.merge(f.latency(r.round)), new Histogram());
  const track = histogramOf(used.flatMap((r) => f.track(r.round)));
  const count = histogramOf(used.flatMap((r) => f.count(r.round)));
  const joins = track.count;
  const seconds = used.reduce((n, r) => n + r.seconds, 0);
  const calls = new Map();
  for (const r of used) for (const [name, n] of r.redis.calls) calls.set(name, (calls.get(name) ?? 0) + n);
  const nodeCpuUs = used.reduce((n, r) => n + r.nodeCpuUs, 0);
  const redisCpuUs = used.reduce((n, r) => n + r.redis.cpuUs, 0);
  const verdict = (value, target) => `target ≤ ${target} ms: ${value <= target ? 'met' : 'NOT met'}`;
  const latP99 = latency.quantile(0.99);
  const trackP99 = track.quantile(0.99);
  const countP99 = count.quantile(0.99);
  const perJoin = [...calls].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${(n / joins).toFixed(2)}`);

  const missing = seen.reduce((n, s) => n + s.missing, 0);
  const cancelled = seen.reduce((n, s) => n + s.cancelled, 0);
  const repeated = seen.reduce((n, s) => n + s.repeated, 0);
  const totals = churn.reduce((t, c) => ({ opened: t.opened + c.opened, skipped: t.skipped + c.skipped, failed: t.failed + c.failed, cut: t.cut + c.cut }), { opened: 0, skipped: 0, failed: 0, cut: 0 });
  const frames = seen.reduce((t, s) => ({ frames: t.frames + s.frames, entries: t.entries + s.entries, bytes: t.bytes + s.bytes }), { frames: 0, entries: 0, bytes: 0 });
  const churnSeconds = (WARMUP + ROUNDS) * ROUND_MS / 1000;
  lines.push(
    `  over ${used.length} rounds (${fmt(joins)} joins, ${fmt(Math.round(joins / seconds))}/s; ${fmt(latency.count)} timed diff arrivals):`,
    `  presence_diff latency (change → arrival at a timed watcher): p50 ${ms(latency.quantile(0.5))} ms, p99 ${ms(latP99)} ms, max ${ms(latency.quantile(1))} ms; ${verdict(latP99, TARGETS.latencyP99Ms)}`,
    ...['join', 'leave'].map((side) => {
      const h = used.reduce((all, r) => all.merge(f.latency(r.round, side)), new Histogram());
      const from = side === 'join' ? 'the TCP connect: connect, upgrade, track, window, fan-out' : 'the close frame: close handshake, untrack, window, fan-out';
      return `    ${side}s alone (from ${from}): p50 ${ms(h.quantile(0.5))} ms, p99 ${ms(h.quantile(0.99))} ms (${fmt(h.count)} arrivals)`;
    }),
    ...[
      ['idle, before the churn', f.latency(IDLE_ROUND, 'probe')],
      ['during the churn, in these rounds', used.reduce((all, r) => all.merge(f.latency(r.round, 'probe')), new Histogram())],
    ].map(
      ([when, h]) =>
        `  fan-out floor (a plain broadcast to the same watchers, relayed the same way, no presence), ${when}: p50 ${ms(h.quantile(0.5))} ms, p99 ${ms(h.quantile(0.99))} ms (${fmt(h.count)} arrivals)`,
    ),
    `  track() in the gateway: p50 ${ms(track.quantile(0.5))} ms, p99 ${ms(trackP99)} ms; ${verdict(trackP99, TARGETS.trackP99Ms)}`,
    `  count() on node A in a loop (${fmt(count.count)} calls answered in these rounds${timed[0].countErrorCount ? `, ${timed[0].countErrorCount} failed: ${timed[0].countErrors.join('; ')}` : ''}): p99 ${ms(countP99)} ms; ${verdict(countP99, TARGETS.countP99Ms)}`,
    `  node CPU per join (user + sys of the 3 nodes, everything they did: upgrades, tracks, closes, diffs to every watcher, count loop): ${(nodeCpuUs / joins).toFixed(0)} µs`,
    `    (${((nodeCpuUs / 1e6 / seconds) * 100).toFixed(0)}% of one core on average, the 3 nodes together)`,
    `  Redis per join (INFO of the whole server: script-internal commands included, and other sessions' if any, such as commands this run never sends): ${(sumCalls(calls) / joins).toFixed(1)} commands, ${(redisCpuUs / joins).toFixed(1)} µs CPU;`,
    `    by command: ${perJoin.join(', ')}`,
    `    (count() loop: ${(count.count / joins).toFixed(2)} hlen per join of those are the loop's)`,
    `  churn: ${fmt(totals.opened)} churners opened in ${churnSeconds} s (${fmt(Math.round(totals.opened / churnSeconds))}/s of ${fmt(RATE)} asked), ${fmt(totals.skipped)} joins skipped (over ${MAX_CONNECTING} connecting per client), ${fmt(totals.failed)} failed${totals.failed ? ` (first: ${churn.find((c) => c.firstError)?.firstError})` : ''}, ${fmt(totals.cut)} cut when the churn stopped (not yet 'tracked' ${STOP_GRACE_MS / 1000} s after)`,
    `  diffs at a timed watcher: ${(frames.frames / SAMPLE / CLIENTS / churnSeconds).toFixed(1)} frames/s, ${(frames.entries / Math.max(1, frames.frames)).toFixed(1)} changes and ${fmt(Math.round(frames.bytes / Math.max(1, frames.frames)))} bytes per frame (on average):` +
      ` ${((frames.bytes / SAMPLE / CLIENTS / churnSeconds) * SUBSCRIBERS / 1e6).toFixed(0)} MB/s of diffs to the ${fmt(SUBSCRIBERS)} watchers, every change reaching every watcher`,
    cutLine(seen),
    `  every timed watcher saw each change of its client once: ${missing === 0 && repeated === 0 ? 'yes' : anyCut(seen) && repeated === 0 ? `no, ${fmt(missing)} missing: watchers were closed (above), so not a failure` : `FAILED: ${fmt(missing)} missing, ${fmt(repeated)} repeated`}` +
      ` (${fmt(cancelled)} join-and-leave pairs met in one merge window and were shown to nobody, as documented)`,
    `  count() once every churner had closed, on A / B / C: ${finalCounts.join(' / ')}` +
      (finalCounts.every((c) => c === 0) ? ` (no phantom entries; 0 within ${(DRAIN_MS + finalCountMs).toFixed(0)} ms)` : ` FAILED: phantom entries ${((DRAIN_MS + finalCountMs) / 1000).toFixed(0)} s after`),
    `  ${foreignLoadLine(FOREIGN_LIMIT, flagged, counted.length, usedAll && flagged.length > 0)}`,
  );
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Nodes

async function server(prefix, name) {
  process.on('SIGTERM', () => process.exit(0));
  if (!prefix || !NODES.includes(name)) {
    console.error('usage: node bench/presence.mjs server <prefix> A|B|C');
    process.exit(2);
  }
  const { bootstrap, redisPubSub } = await import('vela');
  const { PresenceModule, timings } = await benchApp('presence.vela');
  const app = await bootstrap(PresenceModule, { port: 0, host: '127.0.0.1', pubsub: redisPubSub({ url: REDIS_URL, keyPrefix: prefix }), sessions: false });
  let round = 0;
  const track = {}; // round → ms of each track()
  const count = {}; // round → ms of each count()
  const keep = (table, value) => {
    const list = (table[round] ??= []);
    if (list.length < MAX_TIMINGS) list.push(value);
  };
  timings.onTrack = (value) => keep(track, value);
  let counting = false;
  const countErrors = [];
  let cpu0 = process.cpuUsage();

  const countLoop = async (pauseMs, maxMs) => {
    const until = performance.now() + maxMs;
    while (counting && performance.now() < until) {
      const t0 = performance.now();
      try {
        await app.presence.count(CHANNEL);
        keep(count, performance.now() - t0);
      } catch (error) {
        countErrors.push(error.message);
      }
      await sleep(pauseMs);
    }
    counting = false;
  };

  serveParent({
    members: () => ({ members: app.pubsub.localMembers(CHANNEL).length }),
    round: (msg) => ((round = msg.round), {}),
    mark: () => ((cpu0 = process.cpuUsage()), {}),
    cpu: () => ({ cpu: process.cpuUsage(cpu0) }),
    countLoop: ({ pauseMs, maxMs }) => {
      counting = true;
      void countLoop(pauseMs, maxMs);
      return {};
    },
    stopCount: () => ((counting = false), {}),
    probe: async () => {
      await app.pubsub.broadcast(CHANNEL, 'probe', { t: Number(process.hrtime.bigint()) });
      return {};
    },
    count: async () => ({ count: await app.presence.count(CHANNEL) }),
    report: () => ({ track, count, countErrors: countErrors.slice(0, 3), countErrorCount: countErrors.length }),
  });
  process.stdout.write(`port=${app.server.address().port}\n`);
}

// ---------------------------------------------------------------------------------------------
// Clients

async function client(index) {
  const { WebSocket } = await import('ws');
  const mine = `c${index}-`; // this client's churners' keys
  let round = 0;
  const latency = {}; // round → { join: Histogram, leave: Histogram }
  const stamps = new Map(); // key → { join, leave, joinsSeen, leavesSeen }
  let timedWatchers = [];
  let closing = false;
  const cut = {}; // close code → timed watchers the node closed before the end
  let drains = [];
  const seen = { frames: 0, entries: 0, bytes: 0, repeated: 0 };
  const churn = { opened: 0, skipped: 0, failed: 0, cut: 0, connecting: 0, open: new Map(), timer: undefined, stopped: undefined };

  const record = (field, ms) => (latency[round] ??= { join: new Histogram(), leave: new Histogram(), probe: new Histogram() })[field].add(ms);

  /** One timed watcher's frame: each change one of our churners made is timed against its stamp. */
  const onDiff = (data, now) => {
    const text = data.toString();
    const { event, data: diff } = JSON.parse(text);
    if (event === 'probe') return record('probe', (now - diff.t) / 1e6);
    if (event !== 'presence_diff') return;
    seen.frames += 1;
    seen.bytes += text.length;
    for (const [side, field] of [
      ['joins', 'join'],
      ['leaves', 'leave'],
    ]) {
      for (const key of Object.keys(diff[side])) {
        seen.entries += 1;
        if (!key.startsWith(mine)) continue;
        const stamp = stamps.get(key);
        if (stamp?.lost) continue;
        const counter = `${field}sSeen`;
        if (!stamp || stamp[field] === undefined || stamp[counter] >= timedWatchers.length) {
          seen.repeated += 1;
          continue;
        }
        stamp[counter] += 1;
        record(field, (now - stamp[field]) / 1e6);
        if (stamp.leavesSeen === timedWatchers.length) stamps.delete(key);
      }
    }
  };

  const openTimed = (port, localAddress) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/watch`, { perMessageDeflate: false, localAddress });
      ws.once('open', () => {
        ws.removeListener('error', reject);
        ws.on('error', () => {});
        // Closed by the node before the end (a slow consumer: 1008): it saw less from then on, by design.
        ws.once('close', (code) => closing || (cut[code] = (cut[code] ?? 0) + 1));
        ws.on('message', (data) => onDiff(data, Number(process.hrtime.bigint())));
        resolve(ws);
      });
      ws.once('error', reject);
    });

  /** A watcher that does the upgrade by hand and then only reads (and drops) what comes. */
  const openDrain = (port, localAddress) =>
    new Promise((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port, localAddress });
      let head = '';
      const onHead = (chunk) => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onHead);
        socket.removeListener('error', reject);
        socket.on('error', () => {});
        socket.on('data', () => socket.pause()); // resumed by the next drain read
        if (head.startsWith('HTTP/1.1 101')) resolve(socket);
        else reject(new Error(`upgrade refused: ${head.split('\r\n', 1)[0]}`));
      };
      socket.once('error', reject);
      socket.on('data', onHead);
      socket.once('connect', () =>
        socket.write(
          `GET /watch HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      );
    });

  /**
   * A churner, by hand over TCP like the drains (a `ws` client per churner cost the load generator
   * more CPU than the nodes spent on it): the upgrade, then 'tracked' (the node's first frame), then
   * after holdMs a close frame (masked, code 1000) and the node's close.
   */
  const openChurner = (port, n, holdMs) => {
    const key = `${mine}${n}`;
    const stamp = { join: Number(process.hrtime.bigint()), leave: undefined, joinsSeen: 0, leavesSeen: 0 };
    stamps.set(key, stamp);
    churn.connecting += 1;
    const socket = createConnection({ host: '127.0.0.1', port, localAddress: `127.${index + 1}.1.${1 + (n % CHURN_ADDRESSES)}` });
    churn.open.set(socket, stamp);
    let connecting = true;
    const settle = () => connecting && ((connecting = false), (churn.connecting -= 1));
    let upgraded = false;
    let received = Buffer.alloc(0);
    let leave;
    const onData = (chunk) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded ||= received.subarray(0, 12).toString('latin1') === 'HTTP/1.1 101';
      if (!upgraded) return socket.destroy(new Error(`upgrade refused: ${received.toString('latin1').split('\r\n', 1)[0]}`));
      if (received.length < end + 4 + TRACKED_FRAME_BYTES) return; // 'tracked' not here yet
      socket.off('data', onData);
      socket.on('data', () => {}); // the node's close frame
      settle();
      leave = setTimeout(() => {
        stamp.leave = Number(process.hrtime.bigint());
        socket.write(CLOSE_FRAME);
      }, holdMs);
    };
    socket.on('data', onData);
    socket.once('connect', () =>
      socket.write(
        `GET /churn?key=${key} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    socket.on('end', () => socket.end());
    socket.on('error', (error) => {
      churn.failed += 1;
      churn.firstError ??= error.message;
      // Upgraded: the node tracks it (or will) and sees it close, so its join and leave go out; else neither does.
      // Not upgraded as far as we know: the node may still have tracked it (its 101 lost in the reset), or
      // not. Such a key is left out of the timing and of the once-each check (and counted as failed).
      if (upgraded) stamp.leave ??= Number(process.hrtime.bigint());
      else stamp.lost = true;
    });
    socket.once('close', () => {
      settle();
      clearTimeout(leave);
      churn.open.delete(socket);
      if (churn.open.size === 0) churn.stopped?.();
    });
  };

  setInterval(() => {
    for (const socket of drains) if (socket.isPaused()) socket.resume();
  }, DRAIN_READ_MS).unref();

  serveParent({
    round: (msg) => ((round = msg.round), {}),
    async watch({ ports, count, sample, batch }) {
      for (let start = 0; start < count; start += batch) {
        const opening = [];
        for (let i = start; i < Math.min(start + batch, count); i++) {
          const port = ports[(i + index) % ports.length];
          const localAddress = `127.${index + 1}.0.${1 + (i % 4)}`;
          opening.push(i < sample ? openTimed(port, localAddress) : openDrain(port, localAddress));
        }
        const opened = await Promise.all(opening);
        timedWatchers.push(...opened.filter((s) => s instanceof WebSocket));
        drains.push(...opened.filter((s) => !(s instanceof WebSocket)));
      }
      return {};
    },
    churn({ ports, rate, holdMs, maxMs, first }) {
      const t0 = performance.now();
      let due = 0;
      churn.timer = setInterval(() => {
        const elapsed = performance.now() - t0;
        if (elapsed > maxMs) return clearInterval(churn.timer);
        for (const target = Math.floor((elapsed / 1000) * rate); due < target; due++) {
          if (churn.connecting >= MAX_CONNECTING) churn.skipped += 1;
          else openChurner(ports[(due + first) % ports.length], churn.opened++, holdMs);
        }
      }, CHURN_TICK_MS);
      return {};
    },
    async stopChurn({ holdMs }) {
      clearInterval(churn.timer);
      const allClosed = new Promise((resolve) => (churn.stopped = resolve));
      if (churn.open.size > 0) await Promise.race([allClosed, sleep(holdMs + STOP_GRACE_MS)]);
      // Still connecting, or not yet 'tracked', after all that: cut (their leave stamped now), and counted.
      for (const [socket, stamp] of churn.open) {
        stamp.leave ??= Number(process.hrtime.bigint());
        churn.cut += 1;
        socket.destroy();
      }
      if (churn.open.size > 0) await Promise.race([allClosed, sleep(STOP_GRACE_MS)]);
      return { opened: churn.opened, skipped: churn.skipped, failed: churn.failed, firstError: churn.firstError, cut: churn.cut };
    },
    report() {
      // A churner whose join and leave met in one merge window is in neither diff (by design: nobody
      // was shown it): counted as cancelled, a pair per watcher. Missing is a join without its leave
      // or a leave without its join: what a watcher's list would get wrong.
      let missing = 0;
      let cancelled = 0;
      for (const stamp of stamps.values()) {
        if (stamp.lost) continue;
        const unseen = 2 * timedWatchers.length - stamp.joinsSeen - stamp.leavesSeen;
        const unpaired = Math.abs(stamp.joinsSeen - stamp.leavesSeen);
        missing += unpaired;
        cancelled += (unseen - unpaired) / 2;
      }
      return { latency, missing, cancelled, cut, repeated: seen.repeated, frames: seen.frames, entries: seen.entries, bytes: seen.bytes };
    },
    async close() {
      closing = true;
      await closeAll(timedWatchers);
      for (const socket of drains) socket.destroy();
      timedWatchers = [];
      drains = [];
      return {};
    },
  });
}

// Last, once every const above is initialised.
if (process.argv[2] === 'server') await server(process.argv[3], process.argv[4]);
else if (process.argv[2] === 'client') await client(Number(process.argv[3]));
else await withDeadline(main(), HARD_LIMIT_MS, () => `presence: the run passed its ${HARD_LIMIT_MS / 1000} s limit`);
