// HTTP request throughput: `GET /hello` (small JSON) and `GET /users/:id` (a Map lookup) through a
// Vela controller vs the same two routes on raw Koa + @koa/router, with node:http (the limit) and
// NestJS on Express (what many users run today) as peers. Run with `npm run bench:http` (builds first).
//
// Servers, each its own process (`http.mjs server KIND`), on 127.0.0.1 port 0, printing `port=N`;
// the driver reads their CPU time over IPC only (process.cpuUsage() inside the server), never
// through the port under test:
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
// One warm-up measurement per server and route (printed, not counted), then ROUNDS rounds. A round
// measures every server on both routes, koa and vela side by side (the order flips every round, so
// drift does not favour either). Per measurement: server CPU via IPC, wrk for DURATION_S, server CPU
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
//   1. without a profiler, 3 alternating rounds of koa, koa-als (raw Koa + one AsyncLocalStorage.run per
//      request), vela and vela-noals (Vela with AsyncLocalStorage.run patched to a pass-through in that
//      process, so Node never turns its promise hooks on): CPU µs/req, to size the request scope's cost;
//   2. vela, vela-defaults and koa each get a V8 CPU profile (the inspector's Profiler, started and
//      stopped over IPC around one wrk run per route) written to DIR (default: a new temp dir); the
//      driver prints, per request, where each server's CPU time goes (by package and by frame), Vela
//      beside Koa. Profiling slows the JS side, so those numbers are for where-not-how-much.
// `--rounds=N` and `--duration=S` shorten or lengthen a run (defaults 5 and 3).
import { performance } from 'node:perf_hooks';
import { spawn, execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnChild, serveParent, median, machine, track } from './ws-harness.mjs';

const self = new URL(import.meta.url).pathname;
const root = new URL('..', import.meta.url).pathname;

const flag = (name) => process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const flagValue = (name, fallback) => {
  const found = flag(name);
  return found?.includes('=') ? found.slice(found.indexOf('=') + 1) : fallback;
};

const ROUNDS = boundedInt(flagValue('rounds', '5'), 1, 20);
const EXTRA_ROUNDS = 2; // at most this many more, to replace rounds disturbed by foreign load
const DURATION_S = boundedInt(flagValue('duration', '3'), 1, 30); // one wrk run
const WARMUP_S = 2;
const CONNECTIONS = 50;
const THREADS = 1;
const DISTURBED = 1.5; // CPU per request above this × its median marks a measurement as disturbed
const DISTURBED_OTHER = 0.5; // …and so does more than this many cores busy with other processes' work
const DISTURBED_BUSY = 0.85; // …and a server below this share of one core: wrk keeps 50 requests waiting, so the CPU went elsewhere
const TIME_BUDGET_MS = 215_000; // no round starts that could not finish within this (whole run < ~4 min)
const ROUTES = [
  { name: 'hello', path: '/hello', title: 'GET /hello' },
  { name: 'users', path: '/users/42', title: 'GET /users/:id' },
];
const SERVERS = ['node', 'koa', 'vela', 'vela-defaults', 'nest'];
const PAIRED = ['koa', 'vela', 'vela-defaults']; // the servers with targets: a round where one is disturbed is not used
const LABELS = {
  node: 'node:http (the limit)',
  koa: 'koa + @koa/router',
  vela: 'vela (plain JSON API)',
  'vela-defaults': 'vela (defaults)',
  nest: 'nestjs (express)',
};
const USERS = new Map(Array.from({ length: 100 }, (_, i) => [String(i + 1), { id: i + 1, name: `user ${i + 1}` }]));

// ---------------------------------------------------------------------------------------------
// Servers

async function server(kind) {
  // The parent owns this process: when it goes (even by SIGKILL) the IPC channel closes and so do we.
  process.on('SIGTERM', () => process.exit(0));
  let httpServer;
  if (kind === 'vela-noals') {
    // Diagnostic (profile mode): Vela as a plain JSON API with AsyncLocalStorage.run made a
    // pass-through before Vela loads, so its per-request log scope opens nothing and Node never
    // turns on its promise hooks. Log fields (correlation ids) do not work in this process.
    const { AsyncLocalStorage } = await import('node:async_hooks');
    AsyncLocalStorage.prototype.run = function run(_store, fn, ...args) {
      return fn(...args);
    };
  }
  if (kind === 'vela' || kind === 'vela-defaults' || kind === 'vela-noals') {
    const { bootstrap, Module, Controller, Route, Injectable, json, status } = await import('../dist/index.js');
    // Plain-JS spelling of:
    //   @Injectable() class UserStore { get(id) { return USERS.get(id); } }
    //   @Controller() class UsersController {
    //     constructor(private readonly users: UserStore) {}
    //     @Route('/hello') hello() { return json({ hello: 'world' }); }
    //     @Route('/users/:id') show(ctx: Context) { … }
    //   }
    //   @Module({ controllers: [UsersController], providers: [UserStore] }) class AppModule {}
    class UserStore {
      get(id) {
        return USERS.get(id);
      }
    }
    Injectable()(UserStore);
    class UsersController {
      constructor(users) {
        this.users = users;
      }
      hello() {
        return json({ hello: 'world' });
      }
      show(ctx) {
        const user = this.users.get(ctx.params.id);
        return user ? json(user) : status(404, { body: { error: 'not found' } });
      }
    }
    Reflect.defineMetadata('design:paramtypes', [UserStore], UsersController); // what emitDecoratorMetadata writes
    for (const [name, path] of [
      ['hello', '/hello'],
      ['show', '/users/:id'],
    ]) {
      Route(path, { methods: ['get'] })(UsersController.prototype, name, Object.getOwnPropertyDescriptor(UsersController.prototype, name));
    }
    Controller()(UsersController);
    class AppModule {}
    Module({ controllers: [UsersController], providers: [UserStore] })(AppModule);
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    const options = kind === 'vela-defaults' ? {} : { sessions: false, requestLog: false, logger: quiet };
    const app = await bootstrap(AppModule, { port: 0, host: '127.0.0.1', ...options });
    httpServer = app.server;
  } else if (kind === 'koa' || kind === 'koa-als') {
    const { default: Koa } = await import('koa');
    const { Router } = await import('@koa/router');
    const koa = new Koa();
    if (kind === 'koa-als') {
      // Diagnostic (profile mode): raw Koa plus the one thing Vela does on every request even with
      // requestLog: false, a fresh AsyncLocalStorage scope (src/http/request-log.ts, log-context.ts).
      const { AsyncLocalStorage } = await import('node:async_hooks');
      const scopes = new AsyncLocalStorage();
      koa.use((ctx, next) => scopes.run({}, next));
    }
    const router = new Router();
    router.get('/hello', (ctx) => {
      ctx.body = { hello: 'world' };
    });
    router.get('/users/:id', (ctx) => {
      const user = USERS.get(ctx.params.id);
      if (user) {
        ctx.body = user;
      } else {
        ctx.status = 404;
        ctx.body = { error: 'not found' };
      }
    });
    koa.use(router.routes());
    koa.use(router.allowedMethods());
    httpServer = await listen((await import('node:http')).createServer(koa.callback()));
  } else if (kind === 'node') {
    const { createServer } = await import('node:http');
    const send = (res, code, value) => {
      const body = JSON.stringify(value);
      res.writeHead(code, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    httpServer = await listen(
      createServer((req, res) => {
        const q = req.url.indexOf('?');
        const path = q === -1 ? req.url : req.url.slice(0, q);
        if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
        if (path === '/hello') return send(res, 200, { hello: 'world' });
        if (path.startsWith('/users/') && path.indexOf('/', 7) === -1) {
          let id;
          try {
            id = decodeURIComponent(path.slice(7));
          } catch {
            return send(res, 400, { error: 'bad request' });
          }
          const user = USERS.get(id);
          return user ? send(res, 200, user) : send(res, 404, { error: 'not found' });
        }
        send(res, 404, { error: 'not found' });
      }),
    );
  } else if (kind === 'nest') {
    await import('reflect-metadata');
    const { NestFactory } = await import('@nestjs/core');
    const { Module, Controller, Get, Param, Injectable, HttpException } = await import('@nestjs/common');
    // Plain-JS spelling of:
    //   @Injectable() class UserStore { … }
    //   @Controller() class UsersController {
    //     constructor(private readonly users: UserStore) {}
    //     @Get('hello') hello() { return { hello: 'world' }; }
    //     @Get('users/:id') show(@Param('id') id: string) { … }
    //   }
    //   @Module({ controllers: [UsersController], providers: [UserStore] }) class AppModule {}
    class UserStore {
      get(id) {
        return USERS.get(id);
      }
    }
    Injectable()(UserStore);
    class UsersController {
      constructor(users) {
        this.users = users;
      }
      hello() {
        return { hello: 'world' };
      }
      show(id) {
        const user = this.users.get(id);
        if (!user) throw new HttpException({ error: 'not found' }, 404);
        return user;
      }
    }
    const proto = UsersController.prototype;
    Param('id')(proto, 'show', 0);
    Get('hello')(proto, 'hello', Object.getOwnPropertyDescriptor(proto, 'hello'));
    Get('users/:id')(proto, 'show', Object.getOwnPropertyDescriptor(proto, 'show'));
    Reflect.defineMetadata('design:paramtypes', [UserStore], UsersController);
    Reflect.defineMetadata('design:paramtypes', [String], proto, 'show');
    Controller()(UsersController);
    class AppModule {}
    Module({ controllers: [UsersController], providers: [UserStore] })(AppModule);
    const app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    httpServer = app.getHttpServer();
  } else {
    console.error(`usage: node bench/http.mjs server ${SERVERS.join('|')}`);
    process.exit(2);
  }

  let profiler;
  serveParent({
    cpu: () => ({ cpu: process.cpuUsage() }),
    async 'profile-start'({ intervalUs }) {
      const { Session } = await import('node:inspector/promises');
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: intervalUs });
      await profiler.post('Profiler.start');
      return { cpu: process.cpuUsage() };
    },
    async 'profile-stop'({ file }) {
      const cpu = process.cpuUsage();
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      profiler = undefined;
      writeFileSync(file, JSON.stringify(profile));
      return { cpu };
    },
  });
  process.stdout.write(`port=${httpServer.address().port}\n`);
}

function listen(httpServer) {
  return new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, '127.0.0.1', () => resolve(httpServer));
  });
}

// ---------------------------------------------------------------------------------------------
// Load generator: wrk

// Printed by wrk once the run is over (its threads joined): exact percentiles and wrk's own CPU.
const WRK_LUA = `
done = function(summary, latency, requests)
  local ut, st = -1, -1
  local f = io.open("/proc/self/stat", "r")
  if f then
    local line = f:read("*l")
    f:close()
    local rest = line:match("%) (.*)$")
    local fields = {}
    for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
    ut = tonumber(fields[12]) or -1
    st = tonumber(fields[13]) or -1
  end
  local e = summary.errors
  io.write(string.format('WRK_RESULT {"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"utime":%d,"stime":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, ut, st))
end
`;

let luaFile;
function wrkScript() {
  if (!luaFile) {
    const dir = mkdtempSync(join(tmpdir(), 'vela-bench-http-'));
    luaFile = join(dir, 'done.lua');
    writeFileSync(luaFile, WRK_LUA);
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return luaFile;
}

const CLK_TCK = (() => {
  try {
    return Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Runs wrk against url for seconds; resolves with its numbers. Killed if it overruns by 15 s. */
function wrk(url, seconds) {
  return new Promise((resolve, reject) => {
    const args = [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '5s', '-s', wrkScript(), url];
    const child = track(spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 15) * 1000);
    child.once('error', (error) => (clearTimeout(timer), reject(error)));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const match = /WRK_RESULT (\{.*\})/.exec(out);
      if (code !== 0 || !match) return reject(new Error(`wrk ${args.join(' ')} failed (${code ?? signal}):\n${out}${err}`));
      const r = JSON.parse(match[1]);
      const errors = r.connect + r.read + r.write + r.timeout;
      resolve({
        requests: r.requests,
        seconds: r.durationUs / 1e6,
        rate: r.requests / (r.durationUs / 1e6),
        p50: r.p50,
        p90: r.p90,
        p99: r.p99,
        max: r.max,
        errors,
        non2xx: r.status,
        bytesPerResponse: r.requests ? r.bytes / r.requests : 0,
        cpuS: r.utime >= 0 ? (r.utime + r.stime) / CLK_TCK : NaN,
      });
    });
  });
}

/**
 * Machine-wide CPU seconds from /proc/stat's first line: busy (user + nice + system) and steal (the
 * hypervisor ran another VM). irq and softirq are left out: the kernel accounts part of our own
 * loopback TCP work there, not to our processes.
 */
function machineCpu() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , , , steal = 0] = fields;
  return { busy: (user + nice + system) / CLK_TCK, steal: steal / CLK_TCK };
}

/** One measurement: server CPU and machine CPU around one wrk run. */
async function measure(srv, route, seconds) {
  srv.served ??= 0;
  const m0 = machineCpu();
  const d0 = process.cpuUsage();
  const before = await srv.request({ cmd: 'cpu' });
  const t0 = performance.now();
  const w = await wrk(`${srv.url}${route.path}`, seconds);
  const wallS = (performance.now() - t0) / 1000;
  const after = await srv.request({ cmd: 'cpu' });
  const d1 = process.cpuUsage(d0);
  const m1 = machineCpu();
  const userS = (after.cpu.user - before.cpu.user) / 1e6;
  const serverS = userS + (after.cpu.system - before.cpu.system) / 1e6;
  const ours = serverS + (Number.isNaN(w.cpuS) ? 0 : w.cpuS) + (d1.user + d1.system) / 1e6;
  const other = Math.max(0, m1.busy - m0.busy - ours) + (m1.steal - m0.steal);
  if (w.errors > 0 || w.non2xx > 0 || w.requests === 0) {
    throw new Error(`${srv.kind} ${route.path}: ${w.requests} requests, ${w.errors} socket errors, ${w.non2xx} non-2xx responses`);
  }
  const servedBefore = srv.served;
  srv.served += w.requests;
  return {
    rate: w.rate,
    requests: w.requests,
    usPerReq: (serverS * 1e6) / w.requests,
    userUsPerReq: (userS * 1e6) / w.requests,
    p99: w.p99,
    p50: w.p50,
    serverBusy: serverS / wallS,
    wrkBusy: w.cpuS / wallS,
    other: other / wallS,
    bytes: w.bytesPerResponse,
    servedBefore,
  };
}

async function startServers(kinds, nodeArgs = []) {
  const servers = {};
  await Promise.all(
    kinds.map(async (kind) => {
      // vela-defaults logs every request at info, as an app run with its defaults does.
      const env = kind === 'vela-defaults' ? { LOG_LEVEL: 'info' } : {};
      const srv = spawnChild(self, ['server', kind], { nodeArgs, env, timeoutMs: 30_000 });
      const port = await srv.ready;
      servers[kind] = { ...srv, kind, url: `http://127.0.0.1:${port}` };
    }),
  );
  return servers;
}

/** Every server answers every route with the same status and JSON body; returns header notes. */
async function checkResponses(servers) {
  const notes = [];
  for (const route of [...ROUTES, { path: '/users/9999' }]) {
    let reference;
    for (const [kind, srv] of Object.entries(servers)) {
      const res = await fetch(`${srv.url}${route.path}`, { signal: AbortSignal.timeout(5_000) });
      const got = `${res.status} ${res.headers.get('content-type')} ${await res.text()}`;
      reference ??= got;
      if (got !== reference) throw new Error(`${kind} ${route.path} answered ${got}, ${Object.keys(servers)[0]} ${reference}`);
      if (route === ROUTES[0]) {
        const extra = [...res.headers.keys()].filter((h) => !['content-type', 'content-length', 'date', 'connection', 'keep-alive'].includes(h));
        if (extra.length) notes.push(`${kind} adds ${extra.join(', ')}`);
      }
    }
  }
  return notes;
}

function versions() {
  const require = createRequire(import.meta.url);
  const v = (name) => {
    try {
      return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
    } catch {
      try {
        return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
      } catch {
        return '?';
      }
    }
  };
  let wrkVersion = '?';
  try {
    wrkVersion = /wrk (\S+)/.exec(execSync('wrk -v 2>&1 || true', { encoding: 'utf8', shell: '/bin/sh' }))?.[1] ?? '?';
  } catch {}
  const vela = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  return `vela ${vela}, koa ${v('koa')}, @koa/router ${v('@koa/router')}, @nestjs/core ${v('@nestjs/core')}, @nestjs/platform-express ${v('@nestjs/platform-express')}, express ${v('express')}, wrk ${wrkVersion}`;
}

function preflight() {
  // NODE_ENV and dist/ were checked when ws-harness.mjs loaded (bench/preflight.mjs).
  try {
    execSync('command -v wrk', { shell: '/bin/sh', stdio: 'ignore' });
  } catch {
    throw new Error('wrk is not installed (apt-get install wrk)');
  }
}

// ---------------------------------------------------------------------------------------------
// The benchmark

async function main() {
  preflight();
  const started = performance.now();
  const { date, node, nproc, commit } = machine();
  const servers = await startServers(SERVERS);
  const headerNotes = await checkResponses(servers);

  console.log(`http: wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION_S}s per measurement (warm-up ${WARMUP_S}s); node ${node}, nproc ${nproc}`);
  console.log(`servers on 127.0.0.1: ${SERVERS.map((k) => `${k} ${servers[k].url.split(':').pop()}`).join(', ')}`);
  console.log(`all servers answer /hello, /users/42 and /users/9999 with the same status, type and JSON body${headerNotes.length ? `; ${headerNotes.join('; ')}` : ''}\n`);

  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  const printRow = (label, route, kind, r) =>
    console.log(
      `${label.padEnd(8)} ${route.name.padEnd(6)} ${kind.padEnd(14)} ${fmt(r.rate).padStart(8)} req/s  ${r.usPerReq.toFixed(1).padStart(6)} µs/req (user ${r.userUsPerReq.toFixed(1).padStart(5)})  ` +
        `p99 ${fmt(r.p99).padStart(6)} µs  server ${pct(r.serverBusy)}  wrk ${pct(r.wrkBusy)}  other ${r.other.toFixed(2)} cores`,
    );
  console.log('round    route  server            throughput   server CPU (user+sys, user)    latency        busy (100% = one core)');

  // Warm-up: every server, every route, once.
  for (const route of ROUTES) {
    for (const kind of SERVERS) printRow('warm-up', route, kind, await measure(servers[kind], route, WARMUP_S));
  }

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
    const round = {};
    for (const route of ROUTES) {
      round[route.name] = {};
      for (const kind of order) round[route.name][kind] = await measure(servers[kind], route, DURATION_S);
    }
    rounds.push(round);
    roundMs = Math.max(roundMs, performance.now() - t0);
    for (const route of ROUTES) {
      for (const kind of SERVERS) printRow(String(i + 1), route, kind, round[route.name][kind]);
    }
  }
  await Promise.all(Object.values(servers).map((s) => s.stop()));
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
    `setup: each server its own process on 127.0.0.1; wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION_S}s keep-alive, nothing pinned; warm-up ${WARMUP_S}s per server and route,`,
    `       then ${rounds.length} rounds (koa and vela adjacent, order flipped each round); server CPU = process.cpuUsage() in the server (user+sys) / requests`,
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

function pct(x) {
  return Number.isNaN(x) ? '  ?%' : `${(x * 100).toFixed(0)}%`.padStart(4);
}

function boundedInt(text, min, max) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`expected a whole number ${min}–${max}, got ${text}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Profile mode: where the time goes per request, Vela beside Koa.

async function profileMode() {
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

// Last, so every constant above is initialised before any mode runs.
if (process.argv[2] === 'server') await server(process.argv[3]);
else if (flag('cpu-prof')) await profileMode();
else await main();
