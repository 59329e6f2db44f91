// Channel history: what it costs a broadcast, and how fast a returning client gets what it missed.
// Run with `npm run bench:history` (builds first). `--pubsub memory` or `--pubsub redis` runs one
// adapter (default: memory, then redis; redis needs Redis at 127.0.0.1:6379, REDIS_URL to change);
// `--rounds N` sets the counted rounds of each part (default 9; a short development run: `--rounds 2`);
// `--sockets N` the fan-out (default 10,000).
//
// Processes (all on 127.0.0.1, all killed when this one ends, normally or not):
//   driver    this script: opens no socket, commands the others over IPC, keeps the clock
//   nodes     `history.mjs server memory`: one Vela app (memoryPubSub, defaults) that publishes and holds
//             the sockets; `history.mjs server redis A|B <prefix>`: two apps on redisPubSub({ url, keyPrefix }),
//             sessions off, A publishes (app.pubsub.broadcast), B holds the sockets: what they get went
//             A → Redis → B. Both run bench/apps/history.vela.ts: /live joins 'plain' and 'hist' in
//             init, /feed joins 'feed', @OnInfo returns reply(msg.payload); 'hist' and 'feed' keep
//             history { size: 2,000, ttl: 10 min }.
//   clients   `history.mjs client I` × 4: SOCKETS/4 sockets each to /live?vela_client=<uuid> (as vela/client connects: only such connections get markers) from 127.0.0.(I+1); they check
//             every frame (a 'hist' payload must follow its `vela:at` marker, a 'plain' one must not) and
//             report, stamped with process.hrtime (CLOCK_MONOTONIC, the same clock in every process),
//             when every one of their sockets has message k.
//   replayer  `history.mjs replayer`: one socket on /feed that records each message's position (from
//             its marker), and the reconnecting clients whose replays are timed.
//
// Part 1, broadcast on a history channel vs a plain one: the same SOCKETS sockets, the same gateway
// and @OnInfo, one 100-byte message on 'plain' or on 'hist' (which also gets a position, is kept,
// and is preceded by its `vela:at` marker frame on every socket). Each measurement: gc on the nodes,
// a short settle, process.cpuUsage() marked on them, the driver stamps t0 and asks the publisher to
// broadcast message k (single) or k…k+19 in one loop (burst), and waits for every client. Server CPU
// per delivery = the sockets' node's user + sys CPU from the mark until every socket had every
// message / deliveries (the publisher's CPU per message is given apart on Redis); TCP segments per
// delivery = Δ OutSegs of /proc/net/snmp (the whole machine) / deliveries. A round is SINGLES
// single messages per channel, interleaved plain, hist, plain, hist…, each channel keeping its median,
// then one burst plain, one burst hist. The ratio hist/plain is taken within each round.
// Part 2, replay of MISSED messages: each round the publisher broadcasts MISSED messages on 'feed';
// then REPLAYS times, one after the other, a new socket connects to /feed (on B for Redis) with
// `?vela_client=<uuid>&vela_pos={"feed":"<position of the message before those MISSED>"}`, as
// vela/client reconnects; timed from new WebSocket() (TCP connect, then the upgrade request) to the
// arrival of the last replayed frame, after checking `vela:recover` (recovered, missed MISSED) and
// every message, in order, each preceded by its marker.
// WARMUP rounds of each part first (printed, not counted). A round during which other processes (not
// ours, not Redis) kept more than FOREIGN_LIMIT CPUs busy (bench/harness.mjs loadMark) is marked !
// unusable, left out of the medians, and replaced by an extra round (at most EXTRA_ROUNDS); past its
// share of SOFT_BUDGET_MS a part starts no round beyond MIN_ROUNDS (the summary says so). On this
// shared 2-core machine only ratios from the same round mean anything. The run's Redis keys are
// under its own prefix and deleted at the end (also on an error or Ctrl-C).
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { spawnChild, serveParent, median, machine, openFileLimit, sleep, loadMark, loadSince, foreignLoadLine, srcDiffStat, payloadFor as payloadForSeq, benchApp, closeAll, trackArrivals, cpuCommands, tcpOutSegs } from './harness.mjs';
import { REDIS_URL, openRedis, flushKeys, flushOnExit, redisServerPids } from './redis-keys.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const TARGET_SOCKETS = Number(arg('--sockets', '10000'));
if (!(Number.isInteger(TARGET_SOCKETS) && TARGET_SOCKETS >= 100)) throw new Error(`--sockets ${arg('--sockets')}: a whole number ≥ 100`);
const ROUNDS = Number(arg('--rounds', '9'));
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1)) throw new Error(`--rounds ${arg('--rounds')}: a whole number ≥ 1`);
const ADAPTERS = arg('--pubsub', 'memory,redis').split(',');
if (ADAPTERS.some((a) => a !== 'memory' && a !== 'redis')) throw new Error(`--pubsub ${arg('--pubsub')}: memory, redis or memory,redis`);
const CLIENTS = 4; // processes, source addresses 127.0.0.1 … 127.0.0.4
const PAYLOAD_BYTES = 100;
const BURST = 20;
const SINGLES = 3; // single messages per channel per round, interleaved; the round keeps each channel's median
const MISSED = 1_000; // messages a reconnecting client missed
const REPLAYS = 20; // timed replays per round
const HISTORY = { size: 2_000, ttl: 600_000 }; // room for MISSED and more, none expiring during a run
const WARMUP = 1; // rounds of each part, not counted
const EXTRA_ROUNDS = 2; // at most this many more rounds replace unusable ones, per part
const MIN_ROUNDS = 5; // counted rounds a part always gets
const SOFT_BUDGET_MS = 210_000; // shared by the adapters; past its share, a part starts no round beyond MIN_ROUNDS
const FOREIGN_LIMIT = 0.3; // CPUs busy with other processes' work during a round that make it unusable
const BATCH = 250; // sockets each client opens concurrently
const SETTLE_MS = 150; // after gc, before a measurement
const DELIVERY_TIMEOUT_MS = 30_000;
const FD_HEADROOM = 256;
const TARGETS = { memory: { cpu: 1.1, replayP99Ms: 50 }, redis: { cpu: 1.25, replayP99Ms: 150 } }; // issue 15
const CHANNEL = { plain: 'plain', hist: 'hist', feed: 'feed' }; // as bench/apps/history.vela.ts names them

const self = new URL(import.meta.url).pathname;

if (process.argv[2] === 'server') await server(process.argv[3], process.argv[4], process.argv[5]);
else if (process.argv[2] === 'client') await client(Number(process.argv[3]));
else if (process.argv[2] === 'replayer') await replayer();
else await main();

/** `00000042|vela-hist-…`: PAYLOAD_BYTES ASCII bytes carrying their sequence number and channel. */
function payloadFor(k, channel) {
  return payloadForSeq(k, channel, PAYLOAD_BYTES);
}

/** Message k's sequence number, from its first 8 ASCII digits (a Buffer or a string). */
function seqOf(data) {
  let k = 0;
  for (let i = 0; i < 8; i++) k = k * 10 + ((typeof data === 'string' ? data.charCodeAt(i) : data[i]) - 48);
  return k;
}

const isMarker = (text) => text.startsWith('vela:at ');

// ---------------------------------------------------------------------------------------------
// Driver

async function main() {
  const started = performance.now();
  const limit = openFileLimit();
  const sockets = Math.min(TARGET_SOCKETS, limit - FD_HEADROOM, (limit - FD_HEADROOM) * CLIENTS);
  if (sockets < 100) throw new Error(`ulimit -n is ${limit}: too low for this bench (it never raises limits)`);
  const fdNote = sockets < TARGET_SOCKETS ? `ulimit -n ${limit} is too low for ${TARGET_SOCKETS} sockets: FELL BACK to ${sockets}` : `ulimit -n ${limit}`;

  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const prefix = `vela-bench-history-${runId}`;
  let flushed = !ADAPTERS.includes('redis');
  flushOnExit('history', () => [prefix], () => flushed);

  const clients = Array.from({ length: CLIENTS }, (_, i) => spawnChild(self, ['client', String(i)], { waitFor: 'ready' }));
  const replay = spawnChild(self, ['replayer'], { waitFor: 'ready' });
  await Promise.all([...clients.map((c) => c.ready), replay.ready]);

  const { date, node, nproc, commit } = machine();
  const srcChanges = srcDiffStat();
  console.log(`history: ${sockets.toLocaleString('en-US')} sockets × one ${PAYLOAD_BYTES}-byte message on 'plain' or 'hist' (single, burst ${BURST}); replay of ${MISSED.toLocaleString('en-US')} missed messages`);
  console.log(`node ${node}, nproc ${nproc}, commit ${commit}; ${fdNote}; adapters: ${ADAPTERS.join(', ')}`);

  const summaries = [];
  for (const adapter of ADAPTERS) {
    let redis;
    if (adapter === 'redis') {
      try {
        redis = await openRedis();
      } catch (error) {
        summaries.push(`redis: SKIPPED, cannot reach Redis at ${REDIS_URL} (${error.message}): start it, or set REDIS_URL`);
        console.log(`\n${summaries.at(-1)}`);
        flushed = true;
        continue;
      }
    }
    summaries.push(...(await runAdapter(adapter, { sockets, clients, replay, prefix })));
    if (redis) {
      const { deleted, left } = await flushKeys(redis, [prefix]);
      flushed = left === 0;
      summaries.push(`  Redis keys of the run deleted at the end: ${deleted} (${left} left)`);
      redis.disconnect();
    }
  }
  await Promise.all([...clients.map((c) => c.stop()), replay.stop()]);

  const totalS = (performance.now() - started) / 1000;
  const summary = [
    '---- history summary ----',
    `command: npm run bench:history${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    `date: ${date}   node: ${node}   nproc: ${nproc}   (shared, noisy machine: ratios from the same round only)`,
    `commit: ${commit}${srcChanges ? ` (${srcChanges})` : ''}`,
    `setup: bench/apps/history.vela.ts, @WebSocket('/live', { heartbeat: 0 }) joins 'plain' and 'hist' in init, @OnInfo returns reply(msg.payload);`,
    `       'hist' and 'feed' keep history { size: ${HISTORY.size}, ttl: ${HISTORY.ttl / 60_000} min }; ${sockets.toLocaleString('en-US')} sockets on /live (${CLIENTS} client processes),`,
    `       each message ${PAYLOAD_BYTES} ASCII bytes; memory: one node publishes and delivers; redis: node A publishes, node B delivers (cross-node);`,
    `       replay: ${REPLAYS} reconnects per round to /feed with vela_client and vela_pos, each missing the round's ${MISSED.toLocaleString('en-US')} messages;`,
    `       ${WARMUP} warm-up round + ${ROUNDS} rounds per part (more replace unusable ones, at most ${EXTRA_ROUNDS})`,
    ...summaries,
    `total run time: ${totalS.toFixed(0)} s`,
  ];
  console.log(`\n${summary.join('\n')}`);
}

/** Both parts on one adapter; returns its lines of the summary. */
async function runAdapter(adapter, { sockets, clients, replay, prefix }) {
  // This adapter's share of the time budget: about three quarters for the broadcasts, the rest for replays.
  const adapterStart = performance.now();
  const share = SOFT_BUDGET_MS / ADAPTERS.length;
  const late = (part, counted) => counted >= MIN_ROUNDS && performance.now() - adapterStart > (part === 'broadcast' ? 0.75 : 1) * share;
  const serverArgs = { nodeArgs: ['--expose-gc'] };
  const nodes =
    adapter === 'memory'
      ? [spawnChild(self, ['server', 'memory'], serverArgs)]
      : [spawnChild(self, ['server', 'redis', 'A', prefix], serverArgs), spawnChild(self, ['server', 'redis', 'B', prefix], serverArgs)];
  const ports = await Promise.all(nodes.map((n) => n.ready));
  const publisher = nodes[0];
  const deliverer = nodes.at(-1);
  const port = ports.at(-1);
  const ourPids = [...nodes, ...clients, replay].map((c) => c.child.pid).concat(adapter === 'redis' ? redisServerPids() : []);
  console.log(`\n==== ${adapter}: ${nodes.length === 1 ? `one node, port ${port}` : `publisher A port ${ports[0]}, sockets on B port ${port}`} ====`);

  const arrivals = trackArrivals(clients, DELIVERY_TIMEOUT_MS);
  const shareOf = (i) => Math.floor(sockets / CLIENTS) + (i < sockets % CLIENTS ? 1 : 0);
  const t = performance.now();
  await Promise.all(clients.map((c, i) => c.request({ cmd: 'connect', port, count: shareOf(i), batch: BATCH }, 120_000)));
  const connectS = (performance.now() - t) / 1000;
  const { members } = await deliverer.request({ cmd: 'members' });
  if (members.plain !== sockets || members.hist !== sockets) throw new Error(`${adapter}: ${JSON.stringify(members)} members, expected ${sockets} on each channel`);
  console.log(`connected ${sockets.toLocaleString('en-US')} sockets in ${connectS.toFixed(1)} s; every one is a member of 'plain' and 'hist'`);

  let nextK = 1;
  const measure = async (channel, count) => {
    await Promise.all(nodes.map((n) => n.request({ cmd: 'gc' })));
    await sleep(SETTLE_MS);
    const k0 = nextK;
    nextK += count;
    const arrived = arrivals.expect(k0, count);
    await Promise.all(nodes.map((n) => n.request({ cmd: 'mark' })));
    const segs0 = tcpOutSegs();
    const t0 = Number(process.hrtime.bigint());
    await publisher.request({ cmd: 'broadcast', channel, k0, count });
    const tLast = await arrived;
    const segs = tcpOutSegs() - segs0;
    const cpu = await Promise.all(nodes.map((n) => n.request({ cmd: 'cpu' })));
    const us = ({ cpu: c }) => c.user + c.system;
    return { cpuUsPerDelivery: us(cpu.at(-1)) / (sockets * count), publisherUsPerMessage: us(cpu[0]) / count, ttaMs: (tLast - t0) / 1e6, segsPerDelivery: segs / (sockets * count) };
  };

  // Part 1: broadcast.
  const modes = [
    { key: 'single', count: 1, repeats: SINGLES },
    { key: 'burst', count: BURST, repeats: 1 },
  ];
  const bcast = [];
  const bcastFlagged = [];
  console.log('round    mode       server CPU µs/delivery plain / hist  (h/p)   time-to-all ms plain / hist  (h/p)' + (nodes.length > 1 ? '   publisher CPU µs/msg plain / hist' : ''));
  for (let round = 1 - WARMUP, usable = 0; round <= ROUNDS + EXTRA_ROUNDS; round++) {
    if ((round > ROUNDS && usable >= ROUNDS) || late('broadcast', round - 1)) break;
    const mark = loadMark(ourPids);
    const rows = [];
    const results = {};
    for (const { key, count, repeats } of modes) {
      const ps = [];
      const hs = [];
      for (let i = 0; i < repeats; i++) {
        ps.push(await measure(CHANNEL.plain, count));
        hs.push(await measure(CHANNEL.hist, count));
      }
      const med = (runs) => ({
        cpuUsPerDelivery: median(runs.map((r) => r.cpuUsPerDelivery)),
        publisherUsPerMessage: median(runs.map((r) => r.publisherUsPerMessage)),
        ttaMs: median(runs.map((r) => r.ttaMs)),
        segsPerDelivery: median(runs.map((r) => r.segsPerDelivery)),
      });
      const p = med(ps);
      const h = med(hs);
      results[key] = { p, h };
      rows.push(
        `${(round <= 0 ? 'warm-up' : String(round)).padEnd(8)} ${(key === 'burst' ? `burst ${BURST}` : key).padEnd(9)}  ` +
          `${`${p.cpuUsPerDelivery.toFixed(2)} / ${h.cpuUsPerDelivery.toFixed(2)}`.padStart(24)}  (${(h.cpuUsPerDelivery / p.cpuUsPerDelivery).toFixed(2)})` +
          `   ${`${p.ttaMs.toFixed(1)} / ${h.ttaMs.toFixed(1)}`.padStart(22)}  (${(h.ttaMs / p.ttaMs).toFixed(2)})` +
          (nodes.length > 1 ? `   ${`${p.publisherUsPerMessage.toFixed(0)} / ${h.publisherUsPerMessage.toFixed(0)}`.padStart(24)}` : ''),
      );
    }
    const { foreignCores } = loadSince(mark);
    const bad = foreignCores > FOREIGN_LIMIT;
    for (const row of rows) console.log(`${row}   foreign ${foreignCores.toFixed(2)} CPUs${bad ? ' ! unusable' : ''}`);
    if (round <= 0) continue;
    bcast.push({ round, results, foreignCores });
    if (bad) bcastFlagged.push({ round, foreignCores });
    else usable += 1;
  }

  // Part 2: replay. The position of the message before each round's MISSED is where its replays start.
  await replay.request({ cmd: 'track', port });
  let feedK = 1;
  await publisher.request({ cmd: 'broadcast', channel: CHANNEL.feed, k0: feedK, count: 1 });
  let { position } = await replay.request({ cmd: 'waitFor', k: feedK });
  feedK += 1;
  const replays = [];
  const replayFlagged = [];
  console.log(`\nround    replay of ${MISSED} missed: p50 ms   p99 ms   max ms   (${REPLAYS} reconnects)`);
  for (let round = 1 - WARMUP, usable = 0; round <= ROUNDS + EXTRA_ROUNDS; round++) {
    if ((round > ROUNDS && usable >= ROUNDS) || late('replay', round - 1)) break;
    const k0 = feedK;
    feedK += MISSED;
    await publisher.request({ cmd: 'broadcast', channel: CHANNEL.feed, k0, count: MISSED });
    const next = await replay.request({ cmd: 'waitFor', k: k0 + MISSED - 1 }, 30_000);
    const mark = loadMark(ourPids);
    const { latencies } = await replay.request({ cmd: 'replay', port, position, k0, count: MISSED, replays: REPLAYS }, 120_000);
    const { foreignCores } = loadSince(mark);
    position = next.position;
    const bad = foreignCores > FOREIGN_LIMIT;
    const q = quantiles(latencies);
    console.log(
      `${(round <= 0 ? 'warm-up' : String(round)).padEnd(8)} ${q.p50.toFixed(1).padStart(28)} ${q.p99.toFixed(1).padStart(8)} ${q.max.toFixed(1).padStart(8)}` +
        `   foreign ${foreignCores.toFixed(2)} CPUs${bad ? ' ! unusable' : ''}`,
    );
    if (round <= 0) continue;
    replays.push({ round, latencies, foreignCores });
    if (bad) replayFlagged.push({ round, foreignCores });
    else usable += 1;
  }

  const status = await Promise.all(clients.map((c) => c.request({ cmd: 'close' })));
  await replay.request({ cmd: 'untrack' });
  arrivals.stop();
  await Promise.all(nodes.map((n) => n.stop()));
  const badFrames = status.reduce((n, s) => n + s.bad, 0);
  if (badFrames > 0) throw new Error(`${adapter}: ${badFrames} frames were not the payload broadcast or its marker, in that order (first: ${status.find((s) => s.firstBad)?.firstBad})`);

  return adapterSummary(adapter, { sockets, nodes, bcast, bcastFlagged, replays, replayFlagged, connectS });
}

function quantiles(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: at(0.5), p99: at(0.99), max: s.at(-1) };
}

function adapterSummary(adapter, { sockets, nodes, bcast, bcastFlagged, replays, replayFlagged, connectS }) {
  const target = TARGETS[adapter];
  const usableOnly = (all, flagged) => {
    const usable = all.filter(({ round }) => !flagged.some((f) => f.round === round));
    const usedAll = usable.length < Math.min(5, ROUNDS);
    return { rounds: usedAll ? all : usable, usedAll };
  };
  const b = usableOnly(bcast, bcastFlagged);
  const r = usableOnly(replays, replayFlagged);
  const spread = (xs) => `median ${median(xs).toFixed(3)} (min ${Math.min(...xs).toFixed(3)} – max ${Math.max(...xs).toFixed(3)})`;
  const block = (key, label) => {
    const m = (f) => median(b.rounds.map(({ results }) => f(results[key])));
    const ratio = (f) => b.rounds.map(({ results }) => f(results[key].h) / f(results[key].p));
    const cpu = ratio((x) => x.cpuUsPerDelivery);
    const lines = [
      `  ${label}: server CPU per delivery (user+sys, t0 → all arrived) plain ${m((x) => x.p.cpuUsPerDelivery).toFixed(2)} µs, hist ${m((x) => x.h.cpuUsPerDelivery).toFixed(2)} µs;`,
      `    per-round hist/plain ${spread(cpu)}: target ≤ ${target.cpu}: ${median(cpu) <= target.cpu ? 'met' : 'NOT met'}`,
      `    time-to-all plain ${m((x) => x.p.ttaMs).toFixed(1)} ms, hist ${m((x) => x.h.ttaMs).toFixed(1)} ms; per-round hist/plain ${spread(ratio((x) => x.ttaMs))}`,
      `    TCP segments sent per delivery (OutSegs of /proc/net/snmp, the whole machine, ACKs and Redis included; rough): ` +
        `plain ${m((x) => x.p.segsPerDelivery).toFixed(2)}, hist ${m((x) => x.h.segsPerDelivery).toFixed(2)}`,
    ];
    if (nodes.length > 1) {
      lines.push(`    publisher (node A) CPU per message: plain ${m((x) => x.p.publisherUsPerMessage).toFixed(0)} µs, hist ${m((x) => x.h.publisherUsPerMessage).toFixed(0)} µs`);
    }
    return lines;
  };
  const all = r.rounds.flatMap(({ latencies }) => latencies);
  const q = quantiles(all);
  return [
    `${adapter}${adapter === 'redis' ? ' (cross-node: A publishes, B delivers)' : ''}: ${sockets.toLocaleString('en-US')} sockets (connected in ${connectS.toFixed(1)} s, not measured)`,
    `  broadcast, ${b.rounds.length} rounds${bcast.length < ROUNDS ? ` (the time budget stopped it after ${bcast.length})` : ''} (each: a channel's median of ${SINGLES} singles, then one burst each):`,
    ...block('single', 'single message'),
    ...block('burst', `burst of ${BURST}`),
    `  ${foreignLoadLine(FOREIGN_LIMIT, bcastFlagged, bcast.length, b.usedAll)}`,
    `  replay of ${MISSED.toLocaleString('en-US')} missed messages, new WebSocket() → last replayed frame, ${all.length} reconnects over ${r.rounds.length} rounds${replays.length < ROUNDS ? ` (the time budget stopped it after ${replays.length})` : ''}:`,
    `    p50 ${q.p50.toFixed(1)} ms, p99 ${q.p99.toFixed(1)} ms, max ${q.max.toFixed(1)} ms; per-round p99 ${r.rounds.map(({ latencies }) => quantiles(latencies).p99.toFixed(1)).join(', ')}`,
    `    target p99 ≤ ${target.replayP99Ms} ms: ${q.p99 <= target.replayP99Ms ? 'met' : 'NOT met'}`,
    `  ${foreignLoadLine(FOREIGN_LIMIT, replayFlagged, replays.length, r.usedAll)}`,
  ];
}

// ---------------------------------------------------------------------------------------------
// Nodes

async function server(kind, nodeName, prefix) {
  process.on('SIGTERM', () => process.exit(0));
  const { bootstrap, redisPubSub } = await import('vela');
  const { historyModule } = await benchApp('history.vela');
  const options =
    kind === 'memory'
      ? { port: 0, host: '127.0.0.1' }
      : kind === 'redis'
        ? { port: 0, host: '127.0.0.1', pubsub: redisPubSub({ url: REDIS_URL, keyPrefix: prefix }), sessions: false }
        : undefined;
  if (!options || (kind === 'redis' && !['A', 'B'].includes(nodeName))) {
    console.error('usage: node bench/history.mjs server memory | server redis A|B <prefix>');
    process.exit(2);
  }
  const app = await bootstrap(historyModule(HISTORY), options);
  const pubsub = app.pubsub;
  serveParent({
    ...cpuCommands(),
    members: () => ({ members: { plain: pubsub.localMembers(CHANNEL.plain).length, hist: pubsub.localMembers(CHANNEL.hist).length } }),
    // One synchronous loop (a history broadcast on Redis completes later: its append is a script).
    broadcast: ({ channel, k0, count }) => {
      const payloads = Array.from({ length: count }, (_, i) => payloadFor(k0 + i, channel));
      for (const payload of payloads) void pubsub.broadcast(channel, 't', payload);
      return {};
    },
  });
  process.stdout.write(`port=${app.server.address().port}\n`);
}

// ---------------------------------------------------------------------------------------------
// Clients

async function client(index) {
  const { WebSocket } = await import('ws');
  const localAddress = `127.0.0.${1 + index}`;
  let sockets = [];
  const counts = new Map(); // k → sockets that have it
  const expected = new Map(); // k → Buffer
  let bad = 0;
  let firstBad;
  const wrong = (what) => {
    bad += 1;
    firstBad ??= what;
  };

  const open = (port) =>
    new Promise((resolve, reject) => {
      // Named as vela/client names itself: only such a connection gets the history's markers.
      const ws = new WebSocket(`ws://127.0.0.1:${port}/live?vela_client=${randomUUID()}`, { perMessageDeflate: false, localAddress });
      let marked = false; // the last frame was a 'hist' marker: the next must be its payload
      ws.once('open', () => {
        ws.removeListener('error', reject);
        ws.on('error', () => {});
        ws.on('message', (data) => {
          if (data[0] === 0x76 /* v */) {
            const text = data.toString();
            if (marked || !isMarker(text) || !text.includes(`"channel":"${CHANNEL.hist}"`) || !text.endsWith('"frames":1}')) wrong(text);
            marked = true;
            return;
          }
          const k = seqOf(data);
          const channel = data[14] === 0x68 /* h */ ? CHANNEL.hist : CHANNEL.plain;
          let want = expected.get(k);
          if (!want) expected.set(k, (want = Buffer.from(payloadFor(k, channel))));
          if (!want.equals(data) || marked !== (channel === CHANNEL.hist)) wrong(data.toString());
          marked = false;
          const n = (counts.get(k) ?? 0) + 1;
          if (n < sockets.length) return void counts.set(k, n);
          counts.delete(k);
          expected.delete(k);
          process.send({ all: k, t: Number(process.hrtime.bigint()) });
        });
        ws.once('close', (code) => sockets.length > 0 && process.connected && process.send({ closed: code }));
        resolve(ws);
      });
      ws.once('error', reject);
    });

  serveParent({
    async connect({ port, count, batch }) {
      const opened = [];
      for (let start = 0; start < count; start += batch) {
        opened.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - start) }, () => open(port)))));
      }
      sockets = opened;
      return {};
    },
    async close() {
      const closing = sockets;
      sockets = [];
      await closeAll(closing);
      const result = { bad, firstBad };
      bad = 0;
      firstBad = undefined;
      counts.clear();
      return result;
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Replayer

async function replayer() {
  const { WebSocket } = await import('ws');
  let tracker;
  const positions = new Map(); // k → position of feed message k
  const waiting = new Map(); // k → resolve

  const connect = (url) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });

  /** One reconnect that missed messages k0…k0+count-1: ms from new WebSocket() to the last of them. */
  const replayOnce = (url, k0, count) =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const ws = new WebSocket(url, { perMessageDeflate: false });
      let next = -1; // -1: the recover report is due; then the index of the message due
      let marked = false;
      const fail = (why) => {
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(`replay: ${why}`));
      };
      const timer = setTimeout(() => fail(`${next < 0 ? 'no vela:recover' : `${next} of ${count} messages`} after 10 s`), 10_000);
      ws.once('error', (error) => fail(error.message));
      ws.on('message', (data) => {
        const text = data.toString();
        if (next < 0) {
          const want = `vela:recover ${JSON.stringify({ channel: CHANNEL.feed, recovered: true, missed: count })}`;
          if (text !== want) return fail(`expected ${want}, got ${text.slice(0, 200)}`);
          next = 0;
        } else if (isMarker(text)) {
          if (marked || !text.includes(`"channel":"${CHANNEL.feed}"`)) return fail(`unexpected marker ${text}`);
          marked = true;
        } else {
          if (!marked || text !== payloadFor(k0 + next, CHANNEL.feed)) return fail(`message ${next} of ${count}: ${marked ? '' : 'no marker before '}${text.slice(0, 40)}`);
          marked = false;
          if (++next < count) return;
          const ms = performance.now() - t0;
          clearTimeout(timer);
          ws.removeAllListeners('error');
          ws.on('error', () => {});
          ws.once('close', () => resolve(ms));
          ws.close(1000);
        }
      });
    });

  serveParent({
    async track({ port }) {
      tracker = await connect(`ws://127.0.0.1:${port}/feed?vela_client=${randomUUID()}`);
      let position;
      tracker.on('message', (data) => {
        const text = data.toString();
        if (isMarker(text)) return void (position = JSON.parse(text.slice('vela:at '.length)).position);
        const k = seqOf(text);
        positions.set(k, position);
        waiting.get(k)?.();
      });
      return {};
    },
    async waitFor({ k }) {
      if (!positions.has(k)) await new Promise((resolve) => waiting.set(k, resolve));
      waiting.delete(k);
      const position = positions.get(k);
      positions.clear();
      return { position };
    },
    async replay({ port, position, k0, count, replays }) {
      const latencies = [];
      for (let i = 0; i < replays; i++) {
        const query = new URLSearchParams({ vela_client: randomUUID(), vela_pos: JSON.stringify({ [CHANNEL.feed]: position }) });
        latencies.push(await replayOnce(`ws://127.0.0.1:${port}/feed?${query}`, k0, count));
      }
      return { latencies };
    },
    async untrack() {
      await closeAll([tracker]);
      positions.clear();
      return {};
    },
  });
}
