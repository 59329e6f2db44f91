// HTTP request throughput: `GET /hello` (small JSON) and `GET /users/:id` (a Map lookup) through a
// Vela controller vs the same two routes on raw Koa + @koa/router, with node:http (the limit) and
// NestJS on Express (what many users run today) as peers. Run with `npm run bench:http` (builds first).
//
// Servers, each its own process (bench/http-server.mjs KIND, apps in bench/apps/users.*.ts), on 127.0.0.1
// port 0, printing `port=N`; the driver reads their CPU time over IPC only (process.cpuUsage() inside
// the server), never through the port under test:
//   vela           bootstrap(AppModule, { sessions: false, requestLog: false, logger: quiet }): Vela as a
//                  plain JSON API. UsersController (UserStore injected) with @Route('/hello') → json({ hello })
//                  and @Route('/users/:id') → json(user) or status(404, { body }).
//   vela-defaults  the same app with bootstrap's defaults, logger included: sessions on (memory store) and
//                  one request log line per request from the default logger (pino, JSON to stdout, a pipe
//                  to this driver, which reads and drops it), LOG_LEVEL=info. wrk sends no cookies: with
//                  lazy sessions a cookie-less request gets no session and no Set-Cookie. Target ≥ 0.90× koa.
//   koa            new Koa() + @koa/router: router.get(path, ctx => { ctx.body = object }), routes() and
//                  allowedMethods(), as Vela mounts them.
//   node           node:http, routed by hand, JSON.stringify + writeHead + end.
//   nest           NestJS on Express (@nestjs/platform-express), logger off, otherwise defaults (Express
//                  body parsers, ETag, X-Powered-By); UserStore injected; @Get('users/:id') show(@Param('id')).
// Every server serialises per request; /users/42 answers { id: 42, name: 'user 42' } from the same Map.
//
// Load generator: wrk (-t1 -c50, keep-alive) with a Lua done() hook that prints requests, errors,
// exact latency percentiles (µs) and wrk's own CPU time (/proc/self/stat). Nothing is pinned: the two
// cores are shared with wrk and with whatever else runs on the machine.
//
// ROUNDS rounds. A round starts every server as a new process, warms each up on both routes (printed,
// not counted), then measures every server on both routes, koa and vela side by side (the order flips
// every round, so drift does not favour either), and stops them. New processes every round, because
// one process is one draw of what a process's layout and JIT decisions make of the same code: two
// processes of the same server measured side by side here stayed several µs per request apart, round after
// round, as much as the overheads under test; a server kept for the whole run would carry its one
// draw into every round. Per measurement: server CPU via IPC, wrk for DURATION_S, server CPU
// again; plus /proc/stat around it, so the CPU that neither the server, wrk nor this driver used is
// shown as "other" (foreign load, steal included).
//   req/s            wrk's completed requests / its duration
//   CPU µs/req       server user+sys CPU over the run / completed requests
//   p99              wrk's 99th percentile latency (50 connections on a saturated server: mostly queueing)
// A measurement whose server CPU per request is > 1.5× the median of the same server and route, or during
// which other processes kept > 0.5 cores busy, or whose server was < 85% busy although wrk always had
// requests waiting (its CPU went elsewhere, e.g. to the host, which /proc/stat may not show), is marked
// disturbed (foreign load: preemption, caches, frequency); a round in which koa, vela or vela-defaults is disturbed
// on a route does not count for that route's ratios, and up to EXTRA_ROUNDS more rounds are run (time
// permitting) to make up for it. All ratios are paired: X/koa within the same round, then the median
// and min–max of those per-round ratios. Every loop is bounded in count and in time.
//
// `--cpu-prof[=DIR]` (e.g. `npm run bench:http -- --cpu-prof`) runs the profile mode instead (~2 min):
// where the time goes per request, Vela beside Koa (bench/http-profile.mjs).
// `--rounds=N` and `--duration=S` shorten or lengthen a run (defaults 5 and 3).
import { performance } from 'node:perf_hooks';
import { median, machine, pct } from './harness.mjs';
import { CONNECTIONS, DURATION_S, ROUNDS, ROUTES, THREADS, WARMUP_S, checkResponses, flag, measure, preflight, startServers, versions } from './http-measure.mjs';
import { profileMode } from './http-profile.mjs';

const EXTRA_ROUNDS = 2; // at most this many more, to replace rounds disturbed by foreign load
const DISTURBED = 1.5; // CPU per request above this × its median marks a measurement as disturbed
const DISTURBED_OTHER = 0.5; // …and so does more than this many cores busy with other processes' work
const DISTURBED_BUSY = 0.85; // …and a server below this share of one core: wrk keeps 50 requests waiting, so the CPU went elsewhere
const TIME_BUDGET_MS = 290_000; // no round starts that could not finish within this (whole run < ~5 min)
const SERVERS = ['node', 'koa', 'vela', 'vela-defaults', 'nest'];
const PAIRED = ['koa', 'vela', 'vela-defaults']; // the servers with targets: a round where one is disturbed is not used
const LABELS = {
  node: 'node:http (the limit)',
  koa: 'koa + @koa/router',
  vela: 'vela (plain JSON API)',
  'vela-defaults': 'vela (defaults)',
  nest: 'nestjs (express)',
};

async function main() {
  preflight();
  const started = performance.now();
  const { date, node, nproc, commit } = machine();
  // Checked once, on processes of their own: every round then starts its servers afresh.
  const checked = await startServers(SERVERS);
  const headerNotes = await checkResponses(checked);
  await Promise.all(Object.values(checked).map((s) => s.stop()));

  console.log(`http: wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION_S}s per measurement (warm-up ${WARMUP_S}s); node ${node}, nproc ${nproc}`);
  console.log(`servers on 127.0.0.1, new processes every round: ${SERVERS.join(', ')}`);
  console.log(`all servers answer /hello, /users/42 and /users/9999 with the same status, type and JSON body${headerNotes.length ? `; ${headerNotes.join('; ')}` : ''}\n`);

  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  const printRow = (label, route, kind, r) =>
    console.log(
      `${label.padEnd(8)} ${route.name.padEnd(6)} ${kind.padEnd(14)} ${fmt(r.rate).padStart(8)} req/s  ${r.usPerReq.toFixed(1).padStart(6)} µs/req (user ${r.userUsPerReq.toFixed(1).padStart(5)})  ` +
        `p99 ${fmt(r.p99).padStart(6)} µs  server ${pct(r.serverBusy)}  wrk ${pct(r.wrkBusy)}  other ${r.other.toFixed(2)} cores`,
    );
  console.log('round    route  server            throughput   server CPU (user+sys, user)    latency        busy (100% = one core)');

  // rounds[i][route][kind] = measurement
  const rounds = [];
  let roundMs = 0;
  const maxRounds = ROUNDS + EXTRA_ROUNDS;
  const disturbedIn = (round, route) => PAIRED.filter((k) => isDisturbed(rounds, route, k, rounds.indexOf(round)));
  const usable = (route) => rounds.filter((round) => disturbedIn(round, route).length === 0);
  let stoppedForTime = false;
  for (let i = 0; i < maxRounds; i++) {
    if (i >= ROUNDS && ROUTES.every((route) => usable(route).length >= ROUNDS)) break;
    if (performance.now() - started + roundMs * 1.1 > TIME_BUDGET_MS) {
      stoppedForTime = i < ROUNDS || ROUTES.some((route) => usable(route).length < ROUNDS);
      break;
    }
    const t0 = performance.now();
    const order = i % 2 === 0 ? SERVERS : [...SERVERS].reverse();
    const servers = await startServers(SERVERS);
    // Warm-up: every server, every route, once (printed, not counted).
    for (const route of ROUTES) {
      for (const kind of order) printRow('warm-up', route, kind, await measure(servers[kind], route, WARMUP_S));
    }
    const round = {};
    for (const route of ROUTES) {
      round[route.name] = {};
      for (const kind of order) round[route.name][kind] = await measure(servers[kind], route, DURATION_S);
    }
    await Promise.all(Object.values(servers).map((s) => s.stop()));
    rounds.push(round);
    roundMs = Math.max(roundMs, performance.now() - t0);
    for (const route of ROUTES) {
      for (const kind of SERVERS) printRow(String(i + 1), route, kind, round[route.name][kind]);
    }
  }
  // wrk sends no cookie: does a cookie-less request still get a session (checkResponses saw its headers)?
  const sessionsNote = headerNotes.some((note) => note.startsWith('vela-defaults adds') && note.includes('set-cookie'))
    ? 'every cookie-less request got a session and a Set-Cookie'
    : 'cookie-less requests got no session and no Set-Cookie (lazy sessions)';

  // Disturbed marks are decided against the medians of all rounds, so decide them now.
  const disturbedNotes = [];
  const unusable = new Map(ROUTES.map((route) => [route.name, []]));
  for (const [i, round] of rounds.entries()) {
    for (const route of ROUTES) {
      for (const kind of SERVERS) {
        const why = isDisturbed(rounds, route, kind, i);
        if (!why) continue;
        const pair = PAIRED.includes(kind);
        disturbedNotes.push(`round ${i + 1} ${route.name} ${kind}: ${why}${pair ? ` → round ${i + 1} not used for ${route.name}` : ''}`);
        if (pair) unusable.get(route.name).push({ round: i + 1, kind, short: shortWhy(rounds, route, kind, i) });
      }
    }
  }
  if (disturbedNotes.length) console.log(`\ndisturbed by foreign load:\n  ${disturbedNotes.join('\n  ')}`);

  const totalS = (performance.now() - started) / 1000;
  const lines = [];
  const targets = [];
  for (const route of ROUTES) {
    // Disturbed rounds pull the ratios towards 1 (both servers starved alike), so they stay out while
    // at least two undisturbed rounds are left; fewer than three is said to be too few.
    let used = usable(route);
    let usedNote = `${used.length} of ${rounds.length} rounds usable`;
    if (used.length < 2) {
      usedNote = `only ${used.length} of ${rounds.length} rounds undisturbed: ALL rounds used, numbers are suspect`;
      used = rounds;
    } else if (used.length < 3) {
      usedNote = `only ${used.length} of ${rounds.length} rounds undisturbed, too few: numbers are uncertain`;
    }
    const rows = (kind) => used.map((round) => round[route.name][kind]);
    const paired = (kind, f) => used.map((round) => f(round[route.name][kind], round[route.name].koa));
    lines.push('');
    lines.push(`${route.title}${route.title.endsWith(route.path) ? '' : ` (${route.path})`} — medians over ${usedNote}; ratios are per round vs koa: median (min–max)`);
    lines.push(
      `  ${'server'.padEnd(22)} ${'req/s'.padStart(8)}  ${'req/s vs koa'.padEnd(21)}  ${'CPU µs/req'.padStart(10)} ${'(user)'.padStart(6)}  ${'Δ µs vs koa'.padEnd(20)}  ${'p99 µs'.padStart(7)}  p99 vs koa`,
    );
    for (const kind of SERVERS) {
      const rate = median(rows(kind).map((r) => r.rate));
      const cpu = median(rows(kind).map((r) => r.usPerReq));
      const user = median(rows(kind).map((r) => r.userUsPerReq));
      const p99 = median(rows(kind).map((r) => r.p99));
      const rateRatios = paired(kind, (a, b) => a.rate / b.rate);
      const cpuDiffs = paired(kind, (a, b) => a.usPerReq - b.usPerReq);
      const p99Ratios = paired(kind, (a, b) => a.p99 / b.p99);
      const spread = (xs, d, sign = false) => {
        const f = (x) => (sign && x >= 0 ? '+' : '') + x.toFixed(d);
        return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
      };
      const isKoa = kind === 'koa';
      lines.push(
        `  ${LABELS[kind].padEnd(22)} ${fmt(rate).padStart(8)}  ${(isKoa ? '1' : spread(rateRatios, 3)).padEnd(21)}  ${cpu.toFixed(1).padStart(10)} ${user.toFixed(1).padStart(6)}  ` +
          `${(isKoa ? '0' : spread(cpuDiffs, 1, true)).padEnd(20)}  ${fmt(p99).padStart(7)}  ${isKoa ? '1' : spread(p99Ratios, 2)}`,
      );
      if (kind === 'vela') {
        const rr = median(rateRatios);
        const cd = median(cpuDiffs);
        const pr = median(p99Ratios);
        const verdict = (ok) => (ok ? 'PASS' : 'MISS');
        const t = [
          { name: 'req/s ≥ 0.95× koa', value: rr.toFixed(3), ok: rr >= 0.95 },
          { name: 'CPU ≤ +2 µs/req', value: `${cd >= 0 ? '+' : ''}${cd.toFixed(1)} µs`, ok: cd <= 2 },
          { name: 'p99 ≤ 1.1× koa', value: pr.toFixed(2), ok: pr <= 1.1 },
        ];
        targets.push(...t.map((x) => ({ ...x, route })));
        lines.push(`  targets, vela vs koa: ${t.map((x) => `${x.name}: ${x.value} ${verdict(x.ok)}`).join(';  ')}`);
      }
      if (kind === 'vela-defaults') {
        const rr = median(rateRatios);
        const t = { name: 'defaults req/s ≥ 0.90× koa', value: rr.toFixed(3), ok: rr >= 0.9 };
        targets.push({ ...t, route });
        lines.push(`  target, vela (defaults) vs koa: ${t.name}: ${t.value} ${t.ok ? 'PASS' : 'MISS'}`);
      }
    }
    const others = median(used.flatMap((round) => SERVERS.map((k) => round[route.name][k].other)));
    const wrkBusy = median(used.flatMap((round) => SERVERS.map((k) => round[route.name][k].wrkBusy)));
    lines.push(`  other load (not server, wrk or driver) median ${others.toFixed(2)} cores; wrk busy median ${pct(wrkBusy)} of a core`);
  }

  const missed = targets.filter((t) => !t.ok);
  const summary = [
    '---- http summary ----',
    'command: npm run bench:http',
    `date: ${date}   node: ${node}   nproc: ${nproc}   (shared, noisy machine: ratios from the same run and CPU µs per request only)`,
    `commit: ${commit}`,
    `versions: ${versions()}`,
    `setup: each server its own process on 127.0.0.1, new processes every round; wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION_S}s keep-alive, nothing pinned;`,
    `       ${rounds.length} rounds, each: start every server, warm-up ${WARMUP_S}s per server and route, measure (koa and vela adjacent, order flipped`,
    `       each round); server CPU = process.cpuUsage() in the server (user+sys) / requests`,
    `       vela = bootstrap(AppModule, { sessions: false, requestLog: false, logger: quiet }); vela (defaults) = bootstrap(AppModule): sessions on`,
    `       (memory store) and the default logger (pino, JSON lines to stdout, a pipe the driver drains; LOG_LEVEL=info: one line per request);`,
    `       wrk sends no cookie: ${sessionsNote};`,
    `       nestjs = NestFactory.create(AppModule, { logger: false }) on @nestjs/platform-express (Express defaults: ETag, X-Powered-By)`,
    ...lines,
    '',
    `foreign load: a measurement is disturbed if its server CPU/req > ${DISTURBED}× its median, other processes kept > ${DISTURBED_OTHER} cores busy,`,
    `  or the server was < ${pct(DISTURBED_BUSY).trim()} busy although wrk always had requests waiting;`,
    `  a round where koa, vela or vela-defaults was disturbed is unusable for that route (left out of its medians). Unusable rounds:`,
    ...ROUTES.map((route) => {
      const list = unusable.get(route.name);
      const byRound = [...new Set(list.map((u) => u.round))].map(
        (n) => `${n} (${list.filter((u) => u.round === n).map((u) => `${u.kind} ${u.short}`).join(', ')})`,
      );
      return `    ${route.name}: ${byRound.length ? `${byRound.length} of ${rounds.length}: round ${byRound.join(', ')}` : 'none'}`;
    }),
    ...(disturbedNotes.length > [...unusable.values()].flat().length
      ? [`  and ${disturbedNotes.length - [...unusable.values()].flat().length} peer measurements disturbed (listed above the summary)`]
      : []),
    ...(stoppedForTime ? [`note: stopped at ${rounds.length} rounds to stay within the ${TIME_BUDGET_MS / 1000} s budget`] : []),
    missed.length
      ? `targets missed: ${missed.map((t) => `${t.route.name} ${t.name} (${t.value})`).join(', ')} — profile with: npm run bench:http -- --cpu-prof`
      : 'targets: all met',
    `total run time: ${totalS.toFixed(0)} s`,
  ];
  console.log(`\n${summary.join('\n')}`);
}

/**
 * Why a measurement is disturbed by foreign load, or '' if it is not: its server CPU per request is
 * > DISTURBED × that server and route's median over the rounds so far (needs 3), or more than
 * DISTURBED_OTHER cores were busy with other processes' work while it ran.
 */
function isDisturbed(rounds, route, kind, index) {
  if (index < 0) return '';
  const r = rounds[index][route.name][kind];
  const m = rounds.length >= 3 ? median(rounds.map((x) => x[route.name][kind].usPerReq)) : Infinity;
  if (r.usPerReq > DISTURBED * m) return `${r.usPerReq.toFixed(1)} µs/req = ${(r.usPerReq / m).toFixed(2)}× its median (other load ${r.other.toFixed(2)} cores)`;
  if (r.other > DISTURBED_OTHER) return `other processes kept ${r.other.toFixed(2)} cores busy (> ${DISTURBED_OTHER})`;
  if (r.serverBusy < DISTURBED_BUSY) {
    return `the server was only ${(r.serverBusy * 100).toFixed(1)}% busy with requests always waiting (< ${DISTURBED_BUSY * 100}%: its CPU went elsewhere, e.g. the host)`;
  }
  return '';
}

/** isDisturbed's reason, short: `other 0.66 cores` or `CPU/req 1.7× median`. */
function shortWhy(rounds, route, kind, index) {
  const r = rounds[index][route.name][kind];
  const m = median(rounds.map((x) => x[route.name][kind].usPerReq));
  if (r.usPerReq > DISTURBED * m) return `CPU/req ${(r.usPerReq / m).toFixed(1)}× median`;
  return r.other > DISTURBED_OTHER ? `other ${r.other.toFixed(2)} cores` : `server ${(r.serverBusy * 100).toFixed(1)}% busy`;
}

if (flag('cpu-prof')) await profileMode();
else await main();
