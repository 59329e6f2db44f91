// What telemetry costs an app (issue 18): HTTP requests and broadcast deliveries through three builds
// of the same app, side by side in the same run, and in HTTP a raw-Koa peer pair beside them, to tell
// the SDK's share of the cost from Vela's. Run with `npm run bench:telemetry` (builds first).
//   none  "no telemetry code at all": Vela built from the last commit before telemetry entered main
//         (bench/telemetry-baseline.mjs: a detached git worktree in a temp dir, removed at the end;
//         `--baseline <commit>` picks another)
//   off   this checkout's Vela with no SDK registered: the default an app runs
//   sdk   this checkout's Vela with an OpenTelemetry SDK registered before bootstrap: a tracer
//         provider sampling 1 % of root traces through a BatchSpanProcessor, AsyncLocalStorage
//         contexts, the W3C propagator, and a global MeterProvider with a periodic reader
//         (bench/telemetry-variant.mjs; its exporters count and drop)
// and, in HTTP only, the peer pair: raw Koa + @koa/router serving the same route and answers
//   koa-none  bench/http-server.mjs koa: no SDK, no telemetry code
//   koa-sdk   bench/http-server.mjs koa-otel: the sdk variant's SDK, and one middleware first in the chain
//             doing per request what @opentelemetry/instrumentation-http does (bench/telemetry-koa.mjs:
//             a SERVER span with Vela's attributes, its context entered around the rest, the duration
//             histogram). The SDK's context manager (AsyncLocalStorage: on Node 20 a promise hook on
//             every promise once a context is entered) is paid by any server that does this.
// and, in broadcast only, the peer pair: a raw ws loop writing the same payloads to the same sockets
//   ws-none   bench/broadcast.mjs server raw: no SDK, no telemetry code
//   ws-sdk    bench/broadcast.mjs server raw-otel: the sdk variant's SDK, and per broadcast what Vela does
//             on the publishing node (bench/telemetry-ws.mjs: a PRODUCER span, its context entered around
//             the loop, the context injected into a carrier)
// Targets: |off/none − 1| ≤ 1 % and sdk/none ≥ 0.95, in req/s and in deliveries/s. Beside them, per
// round, Vela's share = (sdk/none) / (peer-sdk/peer-none), the peer being koa in HTTP and ws in
// broadcast: 1 when Vela loses to the SDK no more than the raw peer doing the same telemetry does;
// what it falls below 1 is Vela's own.
//
// Every server is its own process running one of the existing bench servers unchanged, made a
// variant by `node --import bench/telemetry-variant.mjs` (in none, its resolve hook points 'vela' at
// the baseline's dist/index.js; all three variants load the hook, so they run the same loader):
//   HTTP       bench/http-server.mjs vela: bench/apps/users.vela.ts with sessions, request log and
//              logger off (bench:http's plain "vela" app); wrk on GET /users/42 (bench/http-measure.mjs):
//              req/s, and server CPU µs per request over IPC (process.cpuUsage() in the server)
//   broadcast  bench/broadcast.mjs server vela: bench/apps/topic.vela.ts, a gateway whose sockets join
//              'live' and whose @OnInfo replies with the payload; --sockets N (default 1,000) per
//              server from 4 `bench/broadcast.mjs client` processes; a measurement is a burst of
//              BURST app.pubsub.broadcast calls: deliveries/s (N × BURST / time until the last
//              socket has the last message) and server CPU µs per delivery
// A round starts every process afresh (one process is one draw of what layout and JIT make of the
// same code, as bench/http.mjs explains), warms each variant up, then measures the variants in an
// order that changes every round (balancedOrders: broadcast's three variants run all six orders over
// six rounds, HTTP's five have each position once over five rounds, so none of them is always first
// or always next to the same neighbour). Ratios are paired: X/none (koa-sdk/koa-none) within a
// round, then the median (min–max) of those. A round during which other processes kept more than
// FOREIGN_LIMIT CPUs busy (harness loadMark: /proc/stat minus this bench's processes, wrk and kernel
// threads) is unusable: printed with !, left out of the medians, and replaced by an extra round
// while time allows.
// Each server writes at exit what it really ran (which Vela, whether @opentelemetry/api was loaded,
// which providers, spans and metric exports), and the summary checks every variant against its label.
//
// `--rounds N` (default 7), `--duration S` (one wrk run, default 3), `--sockets N`, `--baseline <commit>`.
// With the defaults the run takes about 4½ minutes (5½ when unusable rounds are replaced), never more
// than 6: HTTP rounds start only until HTTP_DEADLINE_MS, fewer than --rounds when they would not fit
// (the summary says so).
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { foreignLoadLine, loadMark, loadSince, machine, median, openFileLimit, sleep, spawnChild, srcDiffStat, trackArrivals } from './harness.mjs';
import { CONNECTIONS, DURATION_S, ROUTES, THREADS, WARMUP_S, boundedInt, checkResponses, flagValue, measure, packageVersion, preflight, startServers, wrkVersion } from './http-measure.mjs';
import { DEFAULT_BASELINE, prepareBaseline } from './telemetry-baseline.mjs';

const ROUNDS = boundedInt(flagValue('rounds', '7'), 1, 20, '--rounds');
const SOCKETS = boundedInt(flagValue('sockets', '1000'), 100, 10_000, '--sockets');
const BASELINE = flagValue('baseline', DEFAULT_BASELINE);
const VARIANTS = ['none', 'off', 'sdk']; // both workloads
const HTTP_VARIANTS = [...VARIANTS, 'koa-none', 'koa-sdk'];
const BROADCAST_VARIANTS = [...VARIANTS, 'ws-none', 'ws-sdk'];
/** The variant each one's ratios are taken against. */
const BASE = { none: 'none', off: 'none', sdk: 'none', 'koa-none': 'koa-none', 'koa-sdk': 'koa-none', 'ws-none': 'ws-none', 'ws-sdk': 'ws-none' };
/** The variants with the SDK registered (bench/telemetry-variant.mjs). */
const SDK = new Set(['sdk', 'koa-sdk', 'ws-sdk']);
/** The bench/broadcast.mjs server kind each broadcast variant runs. */
const BROADCAST_KIND = { none: 'vela', off: 'vela', sdk: 'vela', 'ws-none': 'raw', 'ws-sdk': 'raw-otel' };
/** The bench/http-server.mjs kind each HTTP variant runs. */
const HTTP_KIND = { none: 'vela', off: 'vela', sdk: 'vela', 'koa-none': 'koa', 'koa-sdk': 'koa-otel' };
const ROUTE = ROUTES.find((route) => route.name === 'users');
const EXTRA_ROUNDS = 2; // at most this many more per workload, to replace unusable rounds
const FOREIGN_LIMIT = 0.3; // CPUs busy with other processes' work that make a round unusable
const HTTP_DEADLINE_MS = 255_000; // no HTTP round starts that could end after this (from the start)
const DEADLINE_MS = 330_000; // nor any broadcast round: the whole run stays under 6 minutes
const CLIENTS = 4; // broadcast client processes, source addresses 127.0.0.1 … 127.0.0.4
const BURST = 100; // broadcasts per measurement
const WARMUP_BURSTS = 2; // per variant and round, not counted
const REPEATS = 4; // counted bursts per variant and round; the round keeps each variant's median
const SETTLE_MS = 100; // after the server's gc, before the burst
const BATCH = 250; // sockets a client opens concurrently
const DELIVERY_TIMEOUT_MS = 30_000;
const FD_HEADROOM = 256; // files a process needs besides its sockets

const bench = new URL('.', import.meta.url).pathname;
const preload = join(bench, 'telemetry-variant.mjs');
const broadcastScript = join(bench, 'broadcast.mjs');
const started = performance.now();

await main();

async function main() {
  preflight();
  const { date, node, nproc, commit } = machine();
  const srcChanges = srcDiffStat();
  const limit = openFileLimit();
  if (SOCKETS + FD_HEADROOM > limit || BROADCAST_VARIANTS.length * Math.ceil(SOCKETS / CLIENTS) + FD_HEADROOM > limit) {
    throw new Error(`--sockets ${SOCKETS}: ulimit -n is ${limit}, too low (each client holds ${BROADCAST_VARIANTS.length} × ${Math.ceil(SOCKETS / CLIENTS)} sockets); raise it or ask for fewer sockets`);
  }
  const baseline = await prepareBaseline(BASELINE);
  const reports = serverReports();
  try {
    console.log(`telemetry: variants ${VARIANTS.join(', ')} (http also ${HTTP_VARIANTS.filter(isPeer).join(', ')}, broadcast also ${BROADCAST_VARIANTS.filter(isPeer).join(', ')}); node ${node}, nproc ${nproc}, commit ${commit}`);
    console.log(`none = ${baseline.commit.slice(0, 7)} "${baseline.subject}", built in ${baseline.buildS.toFixed(0)} s at ${baseline.dir}\n`);
    const http = await httpWorkload(baseline, reports);
    const broadcast = await broadcastWorkload(baseline, reports);
    const targets = [];
    const checks = reports.check(baseline);
    const summary = [
      '---- telemetry summary ----',
      `command: npm run bench:telemetry${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      `date: ${date}   node: ${node}   nproc: ${nproc}   (shared, noisy machine: ratios from the same round only)`,
      `commit: ${commit}${srcChanges ? ` (${srcChanges})` : ''}`,
      `baseline (none): ${baseline.commit} "${baseline.subject}": no src/telemetry, no @opentelemetry in src/; built with npx tsc -p tsconfig.build.json in a detached worktree (${baseline.buildS.toFixed(0)} s), removed at the end`,
      `versions: @opentelemetry/api ${packageVersion('@opentelemetry/api')}, sdk-trace-base ${packageVersion('@opentelemetry/sdk-trace-base')}, sdk-metrics ${packageVersion('@opentelemetry/sdk-metrics')}, koa ${packageVersion('koa')}, @koa/router ${packageVersion('@koa/router')}, wrk ${wrkVersion()}`,
      `setup: every server its own process, new ones every round, run as node --import bench/telemetry-variant.mjs (the resolve hook in every variant);`,
      `       none = Vela at the baseline; off = this commit, no SDK; sdk = this commit + BasicTracerProvider (ParentBased(TraceIdRatioBased(${checks.sampling ?? '?'}))),`,
      `       BatchSpanProcessor to a dropping exporter, AsyncLocalStorage contexts, W3C propagator, global MeterProvider with a`,
      `       PeriodicExportingMetricReader (every ${checks.exportIntervalMs === undefined ? '?' : checks.exportIntervalMs / 1000} s) to a dropping exporter; order of the variants changes every round`,
      `       (balanced orders: ${balancedOrders(HTTP_VARIANTS).length} for http, ${balancedOrders(BROADCAST_VARIANTS).length} for broadcast);`,
      `       http: bench/http-server.mjs vela (users.vela.ts; sessions, request log, logger off), GET ${ROUTE.path}, wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION_S}s after a ${WARMUP_S} s warm-up;`,
      `       peer pair (http only): koa-none = bench/http-server.mjs koa (raw Koa + @koa/router, the same answers), no SDK; koa-sdk = koa-otel: the`,
      `       sdk variant's SDK + bench/telemetry-koa.mjs first in the chain (per request: a SERVER span, its context entered around the rest, the histogram);`,
      `       broadcast: bench/broadcast.mjs server vela (topic.vela.ts, @OnInfo reply), ${SOCKETS.toLocaleString('en-US')} sockets per server from ${CLIENTS} client processes,`,
      `       ${WARMUP_BURSTS} warm-up + ${REPEATS} counted bursts of ${BURST} app.pubsub.broadcast per variant and round (a round keeps each variant's median);`,
      `       peer pair (broadcast only): ws-none = bench/broadcast.mjs server raw (Koa + ws, for (c of wss.clients) c.send(payload)), no SDK; ws-sdk = raw-otel:`,
      `       the sdk variant's SDK + bench/telemetry-ws.mjs per broadcast (a PRODUCER span, its context entered around the loop, the context injected)`,
      ...block(`HTTP GET ${ROUTE.path}`, http, { rate: 'req/s', per: 'CPU µs/req' }, targets),
      ...block(`broadcast, ${BURST} × ${SOCKETS.toLocaleString('en-US')} = ${(BURST * SOCKETS).toLocaleString('en-US')} deliveries per measurement`, broadcast, { rate: 'deliveries/s', per: 'CPU µs/delivery' }, targets),
      '',
      ...checks.lines,
      ...[http, broadcast].filter((w) => w.stoppedForTime).map((w) => `note: ${w.label} stopped at ${w.rounds.length} rounds to stay within the time budget`),
      targets.every((t) => t.ok) ? 'targets: all met' : `targets missed: ${targets.filter((t) => !t.ok).map((t) => `${t.label} ${t.name} (${t.value})`).join(', ')}`,
      `total run time: ${((performance.now() - started) / 1000).toFixed(0)} s`,
    ];
    console.log(`\n${summary.join('\n')}`);
    if (!checks.ok) process.exitCode = 1;
  } finally {
    reports.remove();
    baseline.remove();
  }
}

/** Whether `variant` is one of the raw peer pairs (Koa in HTTP, ws in broadcast). */
function isPeer(variant) {
  return variant.startsWith('koa-') || variant.startsWith('ws-');
}

/** The raw peer's SDK variant among `variants`, if the workload has one. */
function peerSdk(variants) {
  return variants.find((variant) => isPeer(variant) && SDK.has(variant));
}

/** The environment that makes a server process `variant`, reporting to `reportFile` at exit. */
function variantEnv(variant, baseline, reportFile) {
  return { VELA_BENCH_VARIANT: variant, VELA_BENCH_REPORT: reportFile, ...(variant === 'none' ? { VELA_BENCH_VELA: baseline.dist } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Workloads: each round returns { byVariant: { none: { rate, per }, … }, foreignCores }.

async function httpWorkload(baseline, reports) {
  const spawnFor = (round) => (variant) => ({ args: [HTTP_KIND[variant]], nodeArgs: ['--import', preload], env: variantEnv(variant, baseline, reports.file(`http-${round}-${variant}`)) });
  // Checked once, on processes of their own: every variant answers alike.
  const checked = await startServers(HTTP_VARIANTS, [], undefined, spawnFor('check'));
  const notes = await checkResponses(checked);
  await Promise.all(Object.values(checked).map((s) => s.stop()));
  for (const variant of HTTP_VARIANTS) reports.served(`http-check-${variant}`, 0);
  console.log(`http: every variant answers /hello, /users/42 and /users/9999 with the same status, type and JSON body${notes.length ? `; ${notes.join('; ')}` : ''}`);
  return runRounds('http', HTTP_DEADLINE_MS, { rate: 'req/s', per: 'µs/req' }, HTTP_VARIANTS, async (round, order) => {
    const servers = await startServers(HTTP_VARIANTS, [], undefined, spawnFor(round));
    for (const variant of order) await measure(servers[variant], ROUTE, WARMUP_S);
    const mark = loadMark(Object.values(servers).map((s) => s.child.pid));
    const byVariant = {};
    let wrkS = 0; // wrk is not among the pids marked: its CPU time is taken off the foreign load
    for (const variant of order) {
      const r = await measure(servers[variant], ROUTE, DURATION_S);
      byVariant[variant] = { rate: r.rate, per: r.usPerReq };
      wrkS += Number.isNaN(r.wrkCpuS) ? 0 : r.wrkCpuS;
    }
    const load = loadSince(mark);
    await Promise.all(Object.values(servers).map((s) => s.stop()));
    for (const variant of HTTP_VARIANTS) reports.served(`http-${round}-${variant}`, servers[variant].served);
    return { byVariant, foreignCores: Math.max(0, load.foreignCores - wrkS / load.seconds) };
  });
}

async function broadcastWorkload(baseline, reports) {
  const share = (i) => Math.floor(SOCKETS / CLIENTS) + (i < SOCKETS % CLIENTS ? 1 : 0);
  return runRounds('broadcast', DEADLINE_MS, { rate: 'deliveries/s', per: 'µs/delivery' }, BROADCAST_VARIANTS, async (round, order) => {
    const servers = Object.fromEntries(
      BROADCAST_VARIANTS.map((variant) => {
        const env = variantEnv(variant, baseline, reports.file(`broadcast-${round}-${variant}`));
        return [variant, spawnChild(broadcastScript, ['server', BROADCAST_KIND[variant]], { nodeArgs: ['--expose-gc', '--import', preload], env, timeoutMs: 30_000 })];
      }),
    );
    const clients = Array.from({ length: CLIENTS }, (_, i) => spawnChild(broadcastScript, ['client', String(i)], { waitFor: 'ready' }));
    try {
      await Promise.all(clients.map((c) => c.ready));
      for (const variant of BROADCAST_VARIANTS) {
        const port = await servers[variant].ready;
        await Promise.all(clients.map((c, i) => c.request({ cmd: 'connect', tag: variant, port, count: share(i), batch: BATCH }, 120_000)));
        const { members } = await servers[variant].request({ cmd: 'members' });
        if (members !== SOCKETS) throw new Error(`broadcast ${variant}: ${members} sockets in the broadcast set, expected ${SOCKETS}`);
      }
      const arrivals = trackArrivals(clients, DELIVERY_TIMEOUT_MS);
      let nextK = 1;
      const burst = async (srv) => {
        await srv.request({ cmd: 'gc' });
        await sleep(SETTLE_MS);
        const k0 = nextK;
        nextK += BURST;
        const arrived = arrivals.expect(k0, BURST);
        const t0 = Number(process.hrtime.bigint());
        await srv.request({ cmd: 'broadcast', k0, count: BURST });
        const tLast = await arrived;
        const { cpu } = await srv.request({ cmd: 'settle' });
        const deliveries = SOCKETS * BURST;
        return { rate: deliveries / ((tLast - t0) / 1e9), per: (cpu.user + cpu.system) / deliveries };
      };
      for (let i = 0; i < WARMUP_BURSTS; i++) for (const variant of order) await burst(servers[variant]);
      const mark = loadMark([...Object.values(servers), ...clients].map((c) => c.child.pid));
      const runs = Object.fromEntries(BROADCAST_VARIANTS.map((variant) => [variant, []]));
      for (let i = 0; i < REPEATS; i++) for (const variant of order) runs[variant].push(await burst(servers[variant]));
      const { foreignCores } = loadSince(mark);
      arrivals.stop();
      const byVariant = Object.fromEntries(BROADCAST_VARIANTS.map((v) => [v, { rate: median(runs[v].map((r) => r.rate)), per: median(runs[v].map((r) => r.per)) }]));
      for (const variant of BROADCAST_VARIANTS) reports.served(`broadcast-${round}-${variant}`, (WARMUP_BURSTS + REPEATS) * BURST);
      return { byVariant, foreignCores };
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
      await Promise.all(Object.values(servers).map((s) => s.stop()));
    }
  });
}

/**
 * Runs `run(round, order)` ROUNDS times, and up to EXTRA_ROUNDS more while rounds are unusable,
 * starting none that could end after `deadlineMs` from the bench's start. `order` runs through
 * balancedOrders(variants). Prints each round.
 */
async function runRounds(label, deadlineMs, units, variants, run) {
  const orders = balancedOrders(variants);
  const rounds = [];
  let longest = 0;
  let stoppedForTime = false;
  const usable = () => rounds.filter((r) => !r.unusable).length;
  for (let i = 0; i < ROUNDS + EXTRA_ROUNDS; i++) {
    if (i >= ROUNDS && usable() >= ROUNDS) break;
    if (performance.now() - started + longest * 1.1 > deadlineMs) {
      stoppedForTime = true;
      break;
    }
    const t0 = performance.now();
    const order = orders[i % orders.length];
    const round = { ...(await run(i + 1, order)), number: i + 1, order };
    round.unusable = round.foreignCores > FOREIGN_LIMIT;
    rounds.push(round);
    const took = performance.now() - t0;
    longest = Math.max(longest, took);
    const cells = order.map((v) => {
      const { rate, per } = round.byVariant[v];
      const base = round.byVariant[BASE[v]];
      return `${v} ${Math.round(rate).toLocaleString('en-US')} ${units.rate} ${per.toFixed(2)} ${units.per}${v === BASE[v] ? '' : ` (${(rate / base.rate).toFixed(3)}× ${BASE[v]})`}`;
    });
    const peer = peerSdk(variants);
    const share = peer ? `   Vela's share ${velaShare(round.byVariant, 'rate', peer).toFixed(3)}` : '';
    console.log(`${label} round ${i + 1}: ${cells.join(' | ')}${share}   foreign ${round.foreignCores.toFixed(2)} CPUs${round.unusable ? ' ! unusable' : ''}   ${(took / 1000).toFixed(0)} s`);
  }
  return { label, variants, rounds, stoppedForTime };
}

/**
 * The orders of `variants` the rounds run through, a Williams design: over all of them each variant
 * is in each position equally often and follows each other one equally often (2n orders for an odd
 * n: all six for three variants, ten for five). The n rotations come first, so each variant has had
 * each position once after n rounds.
 */
function balancedOrders(variants) {
  const n = variants.length;
  // 0, 1, n−1, 2, n−2, …: every difference between neighbours once; the rotations shift it.
  const first = Array.from({ length: n }, (_, j) => (j % 2 ? (j + 1) / 2 : (n - j / 2) % n));
  const rotations = Array.from({ length: n }, (_, i) => first.map((x) => variants[(x + i) % n]));
  return n % 2 ? [...rotations, ...rotations.map((order) => [...order].reverse())] : rotations;
}

/**
 * Vela's share of what the SDK costs, in one round's `key` (rate or per): (sdk/none) / (peer/peer's none),
 * `peer` being koa-sdk or ws-sdk. 1 when Vela keeps the same fraction of its throughput as the raw
 * peer doing the same telemetry.
 */
function velaShare(byVariant, key, peer) {
  const ratio = (variant) => byVariant[variant][key] / byVariant[BASE[variant]][key];
  return ratio('sdk') / ratio(peer);
}

// ---------------------------------------------------------------------------------------------
// Summary

/**
 * One workload's lines: per-variant medians, paired ratios vs none (koa-sdk vs koa-none), targets
 * (pushed to `targets`), and with the peer pair, Vela's share and the CPU the SDK adds to each server.
 */
function block(title, { label, variants, rounds }, units, targets) {
  const flagged = rounds.filter((r) => r.unusable).map((r) => ({ round: r.number, foreignCores: r.foreignCores }));
  let used = rounds.filter((r) => !r.unusable);
  const usedAll = used.length < Math.min(3, rounds.length);
  if (usedAll) used = rounds;
  const spread = (xs, d = 3) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
  const ratios = (variant, key) => used.map((r) => r.byVariant[variant][key] / r.byVariant[BASE[variant]][key]);
  const peer = peerSdk(variants);
  const peerNone = peer && BASE[peer];
  const lines = [
    '',
    `${title} — medians over ${used.length} of ${rounds.length} rounds; ratios per round vs none${peer ? ` (${peer} vs ${peerNone})` : ''}: median (min–max)`,
    `  ${'variant'.padEnd(8)} ${units.rate.padStart(13)}  ${`${units.rate} vs none`.padEnd(26)} ${units.per.padStart(16)}  CPU vs none`,
  ];
  for (const variant of variants) {
    const rate = median(used.map((r) => r.byVariant[variant].rate));
    const per = median(used.map((r) => r.byVariant[variant].per));
    const isNone = variant === BASE[variant];
    lines.push(
      `  ${variant.padEnd(8)} ${Math.round(rate).toLocaleString('en-US').padStart(13)}  ${(isNone ? '1' : spread(ratios(variant, 'rate'))).padEnd(26)} ${per.toFixed(3).padStart(16)}  ${isNone ? '1' : spread(ratios(variant, 'per'))}`,
    );
  }
  const off = median(ratios('off', 'rate'));
  const sdk = median(ratios('sdk', 'rate'));
  const t = [
    { label, name: `off ${units.rate} within 1 % of none`, value: off.toFixed(3), ok: Math.abs(off - 1) <= 0.01 },
    { label, name: `sdk ${units.rate} ≥ 0.95× none`, value: sdk.toFixed(3), ok: sdk >= 0.95 },
  ];
  targets.push(...t);
  lines.push(`  targets: ${t.map((x) => `${x.name}: ${x.value} ${x.ok ? 'PASS' : 'MISS'}`).join(';  ')}`);
  if (peer) {
    const share = (key) => used.map((r) => velaShare(r.byVariant, key, peer));
    const added = (variant) => used.map((r) => r.byVariant[variant].per - r.byVariant[BASE[variant]].per);
    lines.push(
      `  Vela's share = (sdk/none) / (${peer}/${peerNone}), per round: ${units.rate} ${spread(share('rate'))}; CPU ${spread(share('per'))}`,
      `    (1: Vela loses to the SDK what the raw peer doing the same telemetry loses; below 1 in ${units.rate}, above 1 in CPU, the rest is Vela's own)`,
      `  added ${units.per}, per round: Vela (sdk − none) ${spread(added('sdk'), 2)}; peer (${peer} − ${peerNone}) ${spread(added(peer), 2)}`,
    );
  }
  lines.push(`  ${label} ${foreignLoadLine(FOREIGN_LIMIT, flagged, rounds.length, usedAll)}`);
  return lines;
}

/**
 * The reports the servers write at exit (bench/telemetry-variant.mjs), in a temp dir of their own:
 * `file(name)` is where server `name` writes, `served(name, n)` what it served (requests or
 * broadcasts), and `check(baseline)` holds every report against its variant's label.
 */
function serverReports() {
  const dir = mkdtempSync(join(tmpdir(), 'vela-bench-telemetry-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', remove); // also on an error or Ctrl-C (harness.mjs exits then)
  const work = new Map();
  const real = (url) => {
    try {
      return realpathSync(fileURLToPath(url));
    } catch {
      return url;
    }
  };
  return {
    file: (name) => join(dir, `${name}.json`),
    served: (name, n) => work.set(name, n),
    remove,
    check(baseline) {
      const current = realpathSync(new URL('../dist/index.js', import.meta.url));
      const all = [...work].map(([name, n]) => ({ name, n, workload: name.split('-')[0], ...JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) }));
      const wrong = [];
      for (const r of all) {
        const vela = real(r.vela);
        const want = r.variant === 'none' ? real(baseline.dist) : current;
        // The peers import no Vela ('vela' still resolves there, to this checkout).
        if (!isPeer(r.variant) && vela !== want) wrong.push(`${r.name} ran ${vela}, not ${want}`);
        if (!SDK.has(r.variant) && (r.apiLoaded || r.tracing || r.metrics)) wrong.push(`${r.name} loaded @opentelemetry/api or registered a provider`);
        if (SDK.has(r.variant) && !(r.tracing && r.metrics)) wrong.push(`${r.name} had no tracer or meter provider registered`);
        // ~1 % of its requests sampled, exported every 5 s: none at all means no span was started.
        if (SDK.has(r.variant) && r.workload === 'http' && r.n > 0 && r.spans === 0) wrong.push(`${r.name} served ${r.n} requests and exported no span`);
      }
      const sdk = all.filter((r) => SDK.has(r.variant));
      const perThousand = (variant, workload) => {
        const mine = sdk.filter((r) => r.variant === variant && r.workload === workload);
        const n = mine.reduce((sum, r) => sum + r.n, 0);
        return n ? ((1000 * mine.reduce((sum, r) => sum + r.spans, 0)) / n).toFixed(1) : '?';
      };
      const line = (variant) => {
        const mine = all.filter((r) => r.variant === variant);
        const ran = isPeer(variant)
          ? variant.startsWith('koa-')
            ? `raw Koa (bench/http-server.mjs ${HTTP_KIND[variant]})`
            : `raw ws (bench/broadcast.mjs server ${BROADCAST_KIND[variant]})`
          : [...new Set(mine.map((r) => real(r.vela)))].join(', ');
        const api = mine.filter((r) => r.apiLoaded).length;
        const providers = mine.filter((r) => r.tracing && r.metrics).length;
        return `  ${variant.padEnd(8)} ${mine.length} processes ran ${ran}; @opentelemetry/api loaded in ${api}, tracer and meter provider registered in ${providers}`;
      };
      return {
        ok: wrong.length === 0,
        sampling: sdk[0]?.sampling,
        exportIntervalMs: sdk[0]?.exportIntervalMs,
        lines: [
          'checks (what each server process reported at exit):',
          ...[...HTTP_VARIANTS, ...BROADCAST_VARIANTS.filter(isPeer)].map(line),
          `  sdk exported ${perThousand('sdk', 'http')} spans per 1,000 requests and ${perThousand('sdk', 'broadcast')} per 1,000 broadcasts, koa-sdk ${perThousand('koa-sdk', 'http')} per 1,000 requests,`,
          `      ws-sdk ${perThousand('ws-sdk', 'broadcast')} per 1,000 broadcasts`,
          `      (batched: spans still queued at exit are not counted);`,
          `      metric collections exported: ${sdk.reduce((sum, r) => sum + r.metricExports, 0)}`,
          wrong.length ? `CHECKS FAILED: ${wrong.join('; ')}` : 'checks: every variant is what its label says',
        ],
      };
    },
  };
}
