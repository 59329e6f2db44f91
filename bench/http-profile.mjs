// `npm run bench:http -- --cpu-prof[=DIR]`: where a request's CPU time goes, Vela beside Koa (~2 min).
//   1. without a profiler, 3 alternating rounds of koa, koa-als, vela and vela-noals (bench/http-server.mjs):
//      CPU µs/req, to size what Vela's per-request AsyncLocalStorage scope costs;
//   2. vela, vela-defaults and koa each get a V8 CPU profile (the inspector's Profiler, started and
//      stopped over IPC around one wrk run per route) written to DIR (default: a new temp dir), and the
//      time per request is printed by package and by frame. Profiling slows the JS side, so those
//      numbers are for where-not-how-much.
import { performance } from 'node:perf_hooks';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, machine } from './harness.mjs';
import { CONNECTIONS, DURATION_S, ROUTES, THREADS, WARMUP_S, checkResponses, flagValue, measure, preflight, startServers, wrk } from './http-measure.mjs';

const root = new URL('..', import.meta.url).pathname;

export async function profileMode() {
  preflight();
  const started = performance.now();
  const dirFlag = flagValue('cpu-prof', '');
  const dir = dirFlag || mkdtempSync(join(tmpdir(), 'vela-http-prof-'));
  mkdirSync(dir, { recursive: true });
  const kinds = ['vela', 'vela-defaults', 'koa']; // profiled
  // Not profiled, measured side by side: what Vela's per-request AsyncLocalStorage scope costs.
  //   koa-als     raw Koa plus one AsyncLocalStorage.run per request (what Vela's request scope adds)
  //   vela-noals  Vela (plain JSON API) with AsyncLocalStorage.run a pass-through (no promise hooks)
  const ablation = ['koa', 'koa-als', 'vela', 'vela-noals'];
  const ABLATION_REPS = 3;
  const seconds = Math.max(DURATION_S, 4);
  const INTERVAL_US = 200;
  const servers = await startServers([...new Set([...kinds, ...ablation])]);
  await checkResponses(servers);
  const { date, node, nproc, commit } = machine();
  console.log(`http profile: ${kinds.join(', ')}; wrk -t${THREADS} -c${CONNECTIONS} -d${seconds}s per route after a ${WARMUP_S}s warm-up; sampling every ${INTERVAL_US} µs`);
  console.log(`node ${node}, nproc ${nproc}, commit ${commit}, ${date}; profiles in ${dir}\n`);

  // Ablation first, without any profiler attached.
  console.log(`-- without a profiler: ${ablation.join(', ')}, ${ABLATION_REPS} rounds of wrk -d${DURATION_S}s, medians --`);
  const abl = {};
  for (const route of ROUTES) {
    for (const kind of ablation) await measure(servers[kind], route, WARMUP_S);
    for (let i = 0; i < ABLATION_REPS; i++) {
      for (const kind of i % 2 ? [...ablation].reverse() : ablation) (abl[`${kind}/${route.name}`] ??= []).push(await measure(servers[kind], route, DURATION_S));
    }
    const koaRuns = abl[`koa/${route.name}`];
    for (const kind of ablation) {
      const runs = abl[`${kind}/${route.name}`];
      const cpu = median(runs.map((r) => r.usPerReq));
      const user = median(runs.map((r) => r.userUsPerReq));
      const ratio = median(runs.map((r, i) => r.rate / koaRuns[i].rate));
      const other = Math.max(...runs.map((r) => r.other));
      console.log(
        `  ${route.name.padEnd(6)} ${kind.padEnd(11)} CPU ${cpu.toFixed(1).padStart(5)} µs/req (user ${user.toFixed(1).padStart(5)}, sys ${(cpu - user).toFixed(1).padStart(4)})  ` +
          `Δ vs koa ${signed(cpu - median(koaRuns.map((r) => r.usPerReq)))} µs  req/s vs koa ${ratio.toFixed(3)}  (other load ≤ ${other.toFixed(2)} cores)`,
      );
    }
  }
  console.log('');

  console.log(
    'Sampled time is wall time of the non-idle samples: it includes time the process was descheduled (most of it inside\n' +
      "writev, the loopback TCP send, where waking wrk can preempt the server), so it can exceed the process's CPU time.\n",
  );
  const results = {};
  for (const route of ROUTES) {
    for (const kind of kinds) await measure(servers[kind], route, WARMUP_S);
    for (const kind of kinds) {
      const srv = servers[kind];
      const file = join(dir, `${kind}-${route.name}.cpuprofile`);
      const start = await srv.request({ cmd: 'profile-start', intervalUs: INTERVAL_US });
      const w = await wrk(`${srv.url}${route.path}`, seconds);
      const stop = await srv.request({ cmd: 'profile-stop', file }, 120_000);
      const userUs = stop.cpu.user - start.cpu.user;
      const cpuUs = userUs + stop.cpu.system - start.cpu.system;
      results[`${kind}/${route.name}`] = { ...analyse(JSON.parse(readFileSync(file, 'utf8'))), requests: w.requests, rate: w.rate, cpuUs, userUs, file };
    }
  }
  await Promise.all(Object.values(servers).map((s) => s.stop()));

  for (const route of ROUTES) {
    console.log(`==== ${route.title} ====`);
    for (const kind of kinds) {
      const r = results[`${kind}/${route.name}`];
      console.log(
        `${kind.padEnd(14)} ${Math.round(r.rate).toLocaleString('en-US').padStart(7)} req/s under the profiler; process CPU ${(r.cpuUs / r.requests).toFixed(1)} µs/req ` +
          `(user ${(r.userUs / r.requests).toFixed(1)}, sys ${((r.cpuUs - r.userUs) / r.requests).toFixed(1)}); ` +
          `sampled ${(r.busyUs / r.requests).toFixed(1)} µs/req (GC ${(r.gcUs / r.requests).toFixed(1)}), idle ${(r.idleUs / r.requests).toFixed(1)}`,
      );
    }
    for (const other of ['vela', 'vela-defaults']) {
      const v = results[`${other}/${route.name}`];
      const k = results[`koa/${route.name}`];
      const per = (x, res) => (x ?? 0) / res.requests;
      console.log(`\n-- ${other} vs koa, self time by package (µs/req) --`);
      const groups = [...new Set([...v.byGroup.keys(), ...k.byGroup.keys()])]
        .map((g) => ({ g, v: per(v.byGroup.get(g), v), k: per(k.byGroup.get(g), k) }))
        .filter((x) => x.g !== '(idle)' && (x.v >= 0.05 || x.k >= 0.05))
        .sort((a, b) => b.v - b.k - (a.v - a.k));
      console.log(`  ${'package'.padEnd(44)} ${other.slice(0, 6).padStart(6)}  ${'koa'.padStart(6)}  ${'Δ'.padStart(7)}`);
      for (const x of groups) console.log(`  ${x.g.padEnd(44)} ${x.v.toFixed(2).padStart(6)}  ${x.k.toFixed(2).padStart(6)}  ${signed(x.v - x.k)}`);
      const total = (res) => res.busyUs / res.requests;
      console.log(`  ${'total sampled (idle excluded)'.padEnd(44)} ${total(v).toFixed(2).padStart(6)}  ${total(k).toFixed(2).padStart(6)}  ${signed(total(v) - total(k))}`);
      console.log(`\n-- ${other}: top frames by self time (µs/req; koa's same frame beside it) --`);
      const frames = [...v.bySelf.entries()]
        .filter(([key]) => key !== '(idle)')
        .sort((a, b) => b[1] - a[1])
        .slice(0, 25);
      for (const [key, us] of frames) console.log(`  ${per(us, v).toFixed(2).padStart(6)}  ${per(k.bySelf.get(key), k).toFixed(2).padStart(6)}  ${key}`);
      console.log(`\n-- ${other}: frames koa does not run, by total (inclusive) time, µs/req --`);
      const extra = [...v.byTotal.entries()]
        .filter(([key]) => !k.byTotal.has(key) && !key.startsWith('('))
        .sort((a, b) => b[1] - a[1])
        .slice(0, 25);
      for (const [key, us] of extra) console.log(`  ${per(us, v).toFixed(2).padStart(6)}  ${key}`);
      console.log('');
    }
  }
  console.log(`profile run time: ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

function signed(x) {
  return `${x >= 0 ? '+' : ''}${x.toFixed(2)}`.padStart(7);
}

/** Self and inclusive time per frame (function, file, line) and self time per package, in µs. */
function analyse(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = new Map(profile.nodes.map((n) => [n.id, frameKey(n.callFrame)]));
  const bySelf = new Map();
  const byTotal = new Map();
  const byGroup = new Map();
  const add = (map, key, us) => map.set(key, (map.get(key) ?? 0) + us);
  let busyUs = 0;
  let idleUs = 0;
  let gcUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; the time a sample stands for is the next delta.
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (us <= 0) continue;
    const id = profile.samples[i];
    const node = byId.get(id);
    const key = keyOf.get(id);
    add(bySelf, key, us);
    add(byGroup, groupOf(node.callFrame), us);
    if (key === '(idle)') idleUs += us;
    else busyUs += us;
    if (key === '(garbage collector)') gcUs += us;
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const k = keyOf.get(at);
      if (!seen.has(k)) {
        seen.add(k);
        add(byTotal, k, us);
      }
    }
  }
  return { bySelf, byTotal, byGroup, busyUs, idleUs, gcUs };
}

function shortUrl(url) {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(root)) u = u.slice(root.length);
  const nm = u.lastIndexOf('node_modules/');
  return nm >= 0 ? u.slice(nm + 'node_modules/'.length) : u;
}

function frameKey({ functionName, url, lineNumber }) {
  if (!url && functionName.startsWith('(')) return functionName;
  return `${functionName || '(anonymous)'} ${shortUrl(url) || '[native]'}${url ? `:${lineNumber + 1}` : ''}`;
}

function groupOf({ functionName, url }) {
  if (!url) return functionName.startsWith('(') ? functionName : '[native / V8 builtins]';
  const u = shortUrl(url);
  if (u.startsWith('node:')) {
    const m = /^node:(internal\/)?([\w]+)/.exec(u);
    return `node:${m ? (m[1] ?? '') + m[2] : u}`;
  }
  if (u.startsWith('dist/')) return `vela ${u.split('/').slice(0, -1).join('/') || 'dist'}`;
  if (u.startsWith('bench/')) return 'bench (the app code)';
  const parts = u.split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}
