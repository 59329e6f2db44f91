// The measuring side of bench/http.mjs (and of its profile mode, bench/http-profile.mjs): the run's
// settings, the servers started as child processes (bench/http-server.mjs), wrk as the load
// generator, and one measurement = server CPU over IPC and machine CPU from /proc/stat around one
// wrk run, so the CPU that neither the server, wrk nor the driver used shows as "other".
import { performance } from 'node:perf_hooks';
import { spawn, execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnChild, track, TICKS_PER_S } from './harness.mjs';

const root = new URL('..', import.meta.url).pathname;
const serverScript = new URL('http-server.mjs', import.meta.url).pathname;

export const flag = (name) => process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
/** The value of `--name=value` or `--name value` (a next argument that is not itself a flag); `fallback` without one. */
export const flagValue = (name, fallback) => {
  const found = flag(name);
  if (found?.includes('=')) return found.slice(found.indexOf('=') + 1);
  const next = found && process.argv[process.argv.indexOf(found) + 1];
  return next !== undefined && !next.startsWith('--') ? next : fallback;
};

export const ROUNDS = boundedInt(flagValue('rounds', '5'), 1, 20, '--rounds');
export const DURATION_S = boundedInt(flagValue('duration', '3'), 1, 30, '--duration'); // one wrk run
export const WARMUP_S = 2;
export const CONNECTIONS = 50;
export const THREADS = 1;
export const ROUTES = [
  { name: 'hello', path: '/hello', title: 'GET /hello' },
  { name: 'users', path: '/users/42', title: 'GET /users/:id' },
];

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

let luaDir;
const luaFiles = new Map();
/**
 * The Lua script for a route: the done() hook, after the request wrk sends when the route has one
 * (`route.request = { method, body }`, a JSON body: bench/validation.mjs's POST).
 */
function wrkScript(request) {
  if (!luaDir) {
    luaDir = mkdtempSync(join(tmpdir(), 'vela-bench-http-'));
    process.on('exit', () => rmSync(luaDir, { recursive: true, force: true }));
  }
  const setup = request
    ? `wrk.method = "${request.method}"\nwrk.body = [==[${request.body}]==]\nwrk.headers["Content-Type"] = "application/json"\n`
    : '';
  if (!luaFiles.has(setup)) {
    const file = join(luaDir, `script-${luaFiles.size}.lua`);
    writeFileSync(file, setup + WRK_LUA);
    luaFiles.set(setup, file);
  }
  return luaFiles.get(setup);
}

/** Runs wrk against url for seconds (with `request`'s method and body, if given); resolves with its numbers. Killed if it overruns by 15 s. */
export function wrk(url, seconds, request) {
  return new Promise((resolve, reject) => {
    const args = [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '5s', '-s', wrkScript(request), url];
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
        cpuS: r.utime >= 0 ? (r.utime + r.stime) / TICKS_PER_S : NaN,
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
  return { busy: (user + nice + system) / TICKS_PER_S, steal: steal / TICKS_PER_S };
}

/** One measurement: server CPU and machine CPU around one wrk run. */
export async function measure(srv, route, seconds) {
  srv.served ??= 0;
  const m0 = machineCpu();
  const d0 = process.cpuUsage();
  const before = await srv.request({ cmd: 'cpu' });
  const t0 = performance.now();
  const w = await wrk(`${srv.url}${route.path}`, seconds, route.request);
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
    wrkCpuS: w.cpuS,
    servedBefore,
  };
}

/**
 * Starts a server of each kind (`script KIND`, by default bench/http-server.mjs), each its own process.
 * `spawnFor(kind)` may give a kind other arguments, node options or environment ({ args, nodeArgs, env }):
 * bench/telemetry.mjs runs one server script as several variants.
 */
export async function startServers(kinds, nodeArgs = [], script = serverScript, spawnFor = () => ({})) {
  const servers = {};
  await Promise.all(
    kinds.map(async (kind) => {
      // vela-defaults logs every request at info, as an app run with its defaults does.
      const own = { args: [kind], nodeArgs, env: kind === 'vela-defaults' ? { LOG_LEVEL: 'info' } : {}, ...spawnFor(kind) };
      const srv = spawnChild(script, own.args, { nodeArgs: own.nodeArgs, env: own.env, timeoutMs: 30_000 });
      const port = await srv.ready;
      servers[kind] = { ...srv, kind, url: `http://127.0.0.1:${port}` };
    }),
  );
  return servers;
}

/** Every server answers every route with the same status and JSON body; returns header notes. */
export async function checkResponses(servers) {
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

/**
 * The installed version of package `name`, '?' if none: through require first; a package whose
 * exports hide package.json is read where it is installed, Vela's own node_modules (koa,
 * @koa/router, OpenTelemetry) or bench's (the peers).
 */
export function packageVersion(name) {
  const require = createRequire(import.meta.url);
  for (const file of [() => require.resolve(`${name}/package.json`), () => join(root, 'node_modules', name, 'package.json'), () => join(root, 'bench/node_modules', name, 'package.json')]) {
    try {
      return JSON.parse(readFileSync(file(), 'utf8')).version;
    } catch {}
  }
  return '?';
}

/** `wrk -v`'s version, '?' if it says none. */
export function wrkVersion() {
  try {
    return /wrk (\S+)/.exec(execSync('wrk -v 2>&1 || true', { encoding: 'utf8', shell: '/bin/sh' }))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

export function versions() {
  const v = packageVersion;
  const vela = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  return `vela ${vela}, koa ${v('koa')}, @koa/router ${v('@koa/router')}, @nestjs/core ${v('@nestjs/core')}, @nestjs/platform-express ${v('@nestjs/platform-express')}, express ${v('express')}, wrk ${wrkVersion()}`;
}

export function preflight() {
  // NODE_ENV and dist/ were checked when harness.mjs loaded (bench/preflight.mjs); wrk is what is left.
  try {
    execSync('command -v wrk', { shell: '/bin/sh', stdio: 'ignore' });
  } catch {
    throw new Error('wrk is not installed (apt-get install wrk)');
  }
}

/** `text` as a whole number from min to max; throws naming the flag (`what`) and the range otherwise. */
export function boundedInt(text, min, max, what = 'a value') {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${what}: expected a whole number ${min}–${max}, got ${text}`);
  return n;
}
