// What validating a request body costs: `POST /users` with a small JSON body and a 5-field schema
// (bench/apps/validation.vela.ts), through Vela five ways, side by side in the same run:
//   none      no validation: the handler uses ctx.request.body as it is
//   hand      the same five rules written by hand in the handler
//   zod, valibot, arktype   @Route('/users', { methods: ['post'], body: schema }) with that library
// Run with `npm run bench:validation` (builds first; refuses to run without NODE_ENV=production).
//
// Servers: each its own process (bench/validation-server.mjs KIND) on 127.0.0.1 port 0, bootstrapped
// as bench/http.mjs's "vela" is ({ sessions: false, requestLog: false, logger: quiet }); their CPU
// time is read over IPC (process.cpuUsage() inside the server), never through the port under test.
// Load: wrk -t1 -c50 keep-alive POSTing the same valid body (bench/http-measure.mjs, as bench:http).
//
// ROUNDS rounds (--rounds=N, default 5; --duration=S per measurement, default 3). A round starts every
// server as a new process, warms each up (not counted), measures each in turn (the order flips every
// round, so drift favours none), then asks each, over IPC, for two in-process figures:
//   check alone      CPU µs per call of the server's own check (the library's `validate`, or the
//                    hand-written function) on the bench's body parsed afresh, the parse taken off
//   in-process share CPU µs per call of Vela's route input reader (src/http/route-input.ts) on a fresh
//                    Koa context holding the parsed body, minus the library's `validate` alone on the
//                    same: Vela's own work around the library, without the noise of a whole request
// and stops them. Per round, paired: Δ = server CPU µs/req − none's; the framework's share of a
// library = its Δ − its check alone (the definition), reported as the median (min–max) over
// the rounds. Its target is ≤ 1 µs. A difference of ~1 µs between processes of ~30 µs per request is
// near what one process differs from another (bench/http.mjs says why), so the in-process share is
// printed beside it: the same quantity, measured without the request around it.
// A measurement during which other processes kept > 0.5 cores busy, or whose server was < 85% busy
// although wrk always had requests waiting, is marked disturbed; a round where none or a library is
// disturbed is left out of that library's paired figures while two undisturbed rounds remain.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchApp, machine, median, pct } from './harness.mjs';
import { CONNECTIONS, DURATION_S, ROUNDS, THREADS, WARMUP_S, measure, preflight, startServers } from './http-measure.mjs';

const root = new URL('..', import.meta.url).pathname;
const serverScript = new URL('validation-server.mjs', import.meta.url).pathname;
const KINDS = ['none', 'hand', 'zod', 'valibot', 'arktype'];
const LIBRARIES = ['zod', 'valibot', 'arktype'];
const CHECKED = ['hand', ...LIBRARIES];
const TARGET_US = 1;
const VALIDATE_CALLS = 200_000;
const SHARE_CALLS = 50_000;
const DISTURBED_OTHER = 0.5;
const DISTURBED_BUSY = 0.85;

const { BODY } = await benchApp('validation.vela');
const body = JSON.stringify(BODY);
const ROUTE = { name: 'users', path: '/users', title: 'POST /users', request: { method: 'POST', body } };

async function main() {
  preflight();
  const started = performance.now();
  const { date, node, nproc, commit } = machine();
  const checked = await startServers(KINDS, [], serverScript);
  await checkResponses(checked);
  await Promise.all(Object.values(checked).map((s) => s.stop()));

  console.log(`validation: POST /users, ${Buffer.byteLength(body)}-byte JSON body, 5-field schema; wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION_S}s per measurement (warm-up ${WARMUP_S}s); node ${node}, nproc ${nproc}`);
  console.log('every server answers the body 201 { id, name }; a body breaking the rules 400, except none\n');
  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  const printRow = (label, kind, r) =>
    console.log(
      `${label.padEnd(8)} ${kind.padEnd(8)} ${fmt(r.rate).padStart(8)} req/s  ${r.usPerReq.toFixed(1).padStart(6)} µs/req (user ${r.userUsPerReq.toFixed(1).padStart(5)})  ` +
        `p99 ${fmt(r.p99).padStart(6)} µs  server ${pct(r.serverBusy)}  other ${r.other.toFixed(2)} cores` +
        (r.check === undefined ? '' : `  check alone ${r.check.toFixed(2)} µs`) +
        (r.share === undefined ? '' : `  in-process share ${r.share.toFixed(2)} µs`),
    );

  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? KINDS : [...KINDS].reverse();
    const servers = await startServers(KINDS, [], serverScript);
    for (const kind of order) printRow('warm-up', kind, await measure(servers[kind], ROUTE, WARMUP_S));
    const round = {};
    for (const kind of order) round[kind] = await measure(servers[kind], ROUTE, DURATION_S);
    // In-process, after the requests warmed the code up, and one server at a time (nothing else runs).
    for (const kind of CHECKED) round[kind].check = (await servers[kind].request({ cmd: 'validate', calls: VALIDATE_CALLS })).us;
    for (const kind of LIBRARIES) round[kind].share = (await servers[kind].request({ cmd: 'share', calls: SHARE_CALLS }, 120_000)).us;
    await Promise.all(Object.values(servers).map((s) => s.stop()));
    rounds.push(round);
    for (const kind of KINDS) printRow(String(i + 1), kind, round[kind]);
  }

  const disturbed = (round, kind) => round[kind].other > DISTURBED_OTHER || round[kind].serverBusy < DISTURBED_BUSY;
  const notes = [];
  rounds.forEach((round, i) => {
    for (const kind of KINDS) if (disturbed(round, kind)) notes.push(`round ${i + 1} ${kind}: other ${round[kind].other.toFixed(2)} cores, server ${pct(round[kind].serverBusy).trim()} busy`);
  });
  /** The rounds usable for `kind` against none: both undisturbed, while at least two are. */
  const usable = (kind) => {
    const clean = rounds.filter((round) => !disturbed(round, 'none') && !disturbed(round, kind));
    return clean.length >= 2 ? { used: clean, note: `${clean.length} of ${rounds.length} rounds` } : { used: rounds, note: `ALL ${rounds.length} rounds (fewer than 2 undisturbed: suspect)` };
  };
  const spread = (xs, digits = 2, sign = true) => {
    const f = (x) => (sign && x >= 0 ? '+' : '') + x.toFixed(digits);
    return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
  };

  const lines = [
    `  ${'server'.padEnd(9)} ${'req/s'.padStart(8)}  ${'CPU µs/req'.padStart(10)}  ${'Δ vs none µs/req'.padEnd(22)}  ${'Δ vs hand µs/req'.padEnd(22)}  ${'check alone µs'.padStart(14)}  ${'framework share µs'.padEnd(24)}  ${'in-process share µs'.padEnd(22)}  rounds`,
  ];
  const verdicts = [];
  for (const kind of KINDS) {
    const { used, note } = usable(kind);
    const rate = median(used.map((round) => round[kind].rate));
    const cpu = median(used.map((round) => round[kind].usPerReq));
    const dNone = used.map((round) => round[kind].usPerReq - round.none.usPerReq);
    const dHand = used.map((round) => round[kind].usPerReq - round.hand.usPerReq);
    const checks = used.map((round) => round[kind].check ?? 0);
    const library = LIBRARIES.includes(kind);
    const share = library ? used.map((round) => round[kind].usPerReq - round.none.usPerReq - round[kind].check) : [];
    const inProcess = library ? rounds.map((round) => round[kind].share) : [];
    lines.push(
      `  ${kind.padEnd(9)} ${fmt(rate).padStart(8)}  ${cpu.toFixed(1).padStart(10)}  ${(kind === 'none' ? '0' : spread(dNone, 1)).padEnd(22)}  ` +
        `${(kind === 'hand' ? '0' : spread(dHand, 1)).padEnd(22)}  ${(kind === 'none' ? '-' : median(checks).toFixed(2)).padStart(14)}  ` +
        `${(library ? spread(share) : '-').padEnd(24)}  ${(library ? spread(inProcess) : '-').padEnd(22)}  ${note}`,
    );
    if (library) {
      verdicts.push(`${kind}: ${median(share) <= TARGET_US ? 'PASS' : 'MISS'} end to end (${median(share).toFixed(2)}), ${median(inProcess) <= TARGET_US ? 'PASS' : 'MISS'} in process (${median(inProcess).toFixed(2)})`);
    }
  }

  const summary = [
    '---- validation summary ----',
    'command: npm run bench:validation',
    `date: ${date}   node: ${node}   nproc: ${nproc}   (shared, noisy machine: CPU µs per request, paired per round)`,
    `commit: ${commit}`,
    `versions: ${versions()}`,
    `setup: each server its own process on 127.0.0.1, new processes every round (${rounds.length} rounds, order flipped each round); wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION_S}s keep-alive,`,
    `       POST /users with the same ${Buffer.byteLength(body)}-byte JSON body (valid); server CPU = process.cpuUsage() in the server (user+sys) / requests;`,
    `       bootstrap(AppModule, { sessions: false, requestLog: false, logger: quiet }); schema: name 1–100 chars, email /^[^@\\s]+@[^@\\s]+$/,`,
    `       age integer 0–150, role 'user' | 'admin', newsletter boolean; medians (min–max) over the rounds`,
    `       check alone = the server's own check per call in its process (${VALIDATE_CALLS.toLocaleString('en-US')} calls, fresh JSON.parse per call, parse taken off)`,
    `       framework share = (Δ vs none) − check alone, per round; in-process share = Vela's route input reader − the library's validate,`,
    `       same body, fresh Koa context per call (${SHARE_CALLS.toLocaleString('en-US')} calls × 5 alternations per round, their median)`,
    ...lines,
    `target: framework share ≤ ${TARGET_US} µs per request: ${verdicts.join('; ')}`,
    notes.length ? `disturbed (other load > ${DISTURBED_OTHER} cores or server < ${pct(DISTURBED_BUSY).trim()} busy): ${notes.join('; ')}` : 'disturbed: none',
    `total run time: ${((performance.now() - started) / 1000).toFixed(0)} s`,
  ];
  console.log(`\n${summary.join('\n')}`);
}

/** Every server answers the valid body alike; every one that validates refuses a broken body with 400. */
async function checkResponses(servers) {
  const post = (srv, json) =>
    fetch(`${srv.url}${ROUTE.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json, signal: AbortSignal.timeout(5_000) });
  let reference;
  for (const [kind, srv] of Object.entries(servers)) {
    const res = await post(srv, body);
    const got = `${res.status} ${res.headers.get('content-type')} ${await res.text()}`;
    reference ??= got;
    if (got !== reference || res.status !== 201) throw new Error(`${kind} answered the valid body ${got}, none ${reference}`);
    if (kind === 'none') continue;
    const broken = await post(srv, JSON.stringify({ ...BODY, age: 1.5 }));
    await broken.body?.cancel();
    if (broken.status !== 400) throw new Error(`${kind} answered a body with age 1.5 ${broken.status}, expected 400: is it validating?`);
  }
}

function versions() {
  const version = (name) => {
    try {
      return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return '?';
    }
  };
  const vela = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  return `vela ${vela}, koa ${version('koa')}, zod ${version('zod')}, valibot ${version('valibot')}, arktype ${version('arktype')}`;
}

await main();
