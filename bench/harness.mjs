// Shared plumbing for every bench (HTTP and WebSocket alike): child processes that are always
// killed when the bench ends (normally, on an error, or on Ctrl-C), IPC request/reply, the compiled
// benchmark apps, payloads, listening servers, idle sockets, foreign load and statistics.
import { spawn, execSync, spawnSync } from 'node:child_process';
import { availableParallelism, totalmem, release } from 'node:os';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { WebSocket } from 'ws';
import { commit as measuredCommit, preflight } from './preflight.mjs';

// A bench's own process (not a server or client child, which has an IPC channel) refuses to measure
// the wrong build or mode before it starts anything.
if (!process.send) preflight();

const root = new URL('..', import.meta.url).pathname;
const children = new Set();

function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.on('uncaughtException', (error) => {
  console.error(error);
  killAll();
  process.exit(1);
});
process.on('unhandledRejection', (error) => {
  console.error(error);
  killAll();
  process.exit(1);
});

/** Adds a child spawned elsewhere (a load generator such as wrk) to those killed when this process ends; returns it. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Spawns `node [nodeArgs] script [args]` with an IPC channel. Resolves once the child printed
 * `port=N` (servers) or sent { ready: true } (other children). `request(msg)` sends msg with an id
 * and resolves with the child's reply carrying that id.
 */
export function spawnChild(script, args = [], { nodeArgs = [], waitFor = 'port', env = {}, timeoutMs = 15_000, fdLimit } = {}) {
  // fdLimit: run the child under `prlimit --nofile=N:N` (see fdLimitFor); prlimit execs node, so the
  // IPC channel and stdio are inherited unchanged.
  const [command, argv] = fdLimit
    ? ['prlimit', [`--nofile=${fdLimit}:${fdLimit}`, '--', process.execPath, ...nodeArgs, script, ...args]]
    : [process.execPath, [...nodeArgs, script, ...args]];
  const child = spawn(command, argv, {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let nextId = 0;
  const waiting = new Map();
  child.on('message', (msg) => {
    const pending = waiting.get(msg?.id);
    if (!pending) return;
    waiting.delete(msg.id);
    if (msg.error) pending.reject(new Error(`${script} ${args.join(' ')}: ${msg.error}`));
    else pending.resolve(msg);
  });
  child.once('exit', (code, signal) => {
    for (const { reject } of waiting.values()) reject(new Error(`${script} ${args.join(' ')} exited (${code ?? signal})`));
    waiting.clear();
  });
  const request = (msg, ms = 60_000) =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error(`${script} ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before ${msg.cmd}`));
      const id = ++nextId;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`${script} ${args.join(' ')}: no reply to ${msg.cmd} within ${ms} ms`));
      }, ms);
      waiting.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      child.send({ ...msg, id });
    });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} ${args.join(' ')} not ready within ${timeoutMs} ms`)), timeoutMs);
    const done = (value) => (clearTimeout(timer), resolve(value));
    child.once('exit', (code, signal) => reject(new Error(`${script} ${args.join(' ')} exited (${code ?? signal}) before it was ready`)));
    if (waitFor === 'port') {
      // Read to the end (a server that logs to stdout must never block on a full pipe), kept only until the port.
      let out = '';
      child.stdout.on('data', (chunk) => {
        if (out === undefined) return;
        out += chunk;
        const match = /port=(\d+)/.exec(out);
        if (match) {
          out = undefined;
          done(Number(match[1]));
        }
      });
    } else {
      // Copied chunk by chunk rather than piped: each pipe() adds its own 'drain', 'error', 'close',
      // 'finish' and 'unpipe' listeners to process.stdout, and a bench with 10 children (interest.mjs)
      // passes the emitter's limit (MaxListenersExceededWarning). Writes to a pipe or a file are
      // synchronous on Linux, so there is no backpressure for pipe() to carry.
      child.stdout.on('data', (chunk) => process.stdout.write(chunk));
      child.on('message', (msg) => msg?.ready && done(true));
    }
  });
  return { child, ready, request, stop: () => stopProcess(child, 3_000) };
}

/** SIGTERM, then SIGKILL if `child` has not exited after `graceMs`; resolves once it exited. */
export async function stopProcess(child, graceMs) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A process and its descendants, from /proc (a `vela start` primary's workers are its children). */
export function processTree(pid) {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      for (const child of readFileSync(`/proc/${pids[i]}/task/${pids[i]}/children`, 'utf8').trim().split(/\s+/)) if (child) pids.push(Number(child));
    } catch {}
  }
  return pids;
}

/** utime + stime of these processes (every thread), in seconds; a process gone counts 0. */
export function cpuSecondsOf(pids) {
  return pids.reduce((sum, pid) => sum + processTicks(pid), 0) / TICKS_PER_S;
}

/** The resident set of these processes together, in bytes, from /proc/PID/status. */
export function rssOf(pids) {
  let bytes = 0;
  for (const pid of pids) {
    try {
      bytes += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
    } catch {}
  }
  return bytes;
}

/** For a child script: answers `{ cmd, id, ... }` messages with handlers[cmd](msg). */
export function serveParent(handlers) {
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (msg) => {
    const handler = handlers[msg?.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${msg?.cmd}`);
      process.send({ id: msg.id, ...(await handler(msg)) });
    } catch (error) {
      process.send({ id: msg.id, error: error?.stack ?? String(error) });
    }
  });
  process.send({ ready: true });
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The soft limit on open files this process (and its children) runs with; never raised. */
export function openFileLimit() {
  try {
    const value = execSync('ulimit -n', { shell: '/bin/sh', encoding: 'utf8' }).trim();
    return value === 'unlimited' ? Infinity : Number(value);
  } catch {
    return NaN;
  }
}

/** The hard limit on open files (what the soft limit can be raised to without privileges). */
export function hardFileLimit() {
  try {
    const value = execSync('ulimit -Hn', { shell: '/bin/sh', encoding: 'utf8' }).trim();
    return value === 'unlimited' ? Infinity : Number(value);
  } catch {
    return NaN;
  }
}

/**
 * The largest open-file limit, up to `want`, a child can be given with `prlimit --nofile=N:N`:
 * `want` itself if prlimit may raise the hard limit (CAP_SYS_RESOURCE), else the current hard
 * limit. Returns { limit, note } where note says what was tried and what stopped it.
 */
export function fdLimitFor(want) {
  const hard = hardFileLimit();
  const tryLimit = (n) => spawnSync('prlimit', [`--nofile=${n}:${n}`, '--', 'true'], { encoding: 'utf8' });
  const attempt = tryLimit(want);
  if (attempt.status === 0) return { limit: want, note: `prlimit --nofile=${want}:${want} allowed (hard limit was ${hard})` };
  const why = (attempt.error?.message ?? attempt.stderr ?? '').trim().replace(/^prlimit: /, '') || `exit ${attempt.status}`;
  let nrOpen = 'unknown';
  try {
    nrOpen = readFileSync('/proc/sys/fs/nr_open', 'utf8').trim();
  } catch {}
  const limit = Number.isFinite(hard) ? hard : openFileLimit();
  return {
    limit,
    note: `raising the open-file limit to ${want} was refused (${why}; hard limit ${hard}, fs.nr_open ${nrOpen}): children run with ${limit}`,
  };
}

/**
 * Foreign load: CPU time the machine spent outside the processes of this benchmark, from
 * /proc/stat (user + nice + system + steal of all CPUs) minus utime + stime of `pids`
 * (/proc/PID/stat, every thread) and of the kernel's own threads. irq and softirq are left out,
 * and so are kernel threads (ksoftirqd, kworker…): the loopback TCP work of our own sockets is
 * accounted there, not to our processes. Steal (the hypervisor gave the CPU to another VM) counts
 * as foreign. Linux only; elsewhere null.
 *
 * const mark = loadMark(pids); …; const { foreignCores } = loadSince(mark)
 * foreignCores: average number of CPUs busy with someone else's work over the interval.
 */
export const TICKS_PER_S = (() => {
  try {
    return Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function machineBusyTicks() {
  const [, user, nice, system, , , , , steal] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).map(Number);
  return user + nice + system + steal;
}

function processTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the line)
  } catch {
    return 0; // gone: its ticks since the mark are lost, which can only overstate foreign load
  }
}

const PF_KTHREAD = 0x00200000;

/** utime + stime of every kernel thread alive now, by pid. */
function kernelThreadTicks() {
  const ticks = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[6]) & PF_KTHREAD) ticks.set(name, Number(fields[11]) + Number(fields[12]));
    } catch {}
  }
  return ticks;
}

export function loadMark(pids) {
  try {
    const list = [...new Set([process.pid, ...pids])];
    return { t: performance.now(), busy: machineBusyTicks(), ours: list.reduce((n, pid) => n + processTicks(pid), 0), kernel: kernelThreadTicks(), pids: list };
  } catch {
    return null;
  }
}

export function loadSince(mark) {
  if (!mark) return { foreignCores: NaN, oursCores: NaN };
  const now = loadMark(mark.pids);
  const seconds = (now.t - mark.t) / 1000;
  const busy = (now.busy - mark.busy) / TICKS_PER_S;
  const ours = (now.ours - mark.ours) / TICKS_PER_S;
  let kernelTicks = 0;
  for (const [pid, ticks] of now.kernel) if (mark.kernel.has(pid)) kernelTicks += ticks - mark.kernel.get(pid);
  const kernel = kernelTicks / TICKS_PER_S;
  return { foreignCores: Math.max(0, busy - ours - kernel) / seconds, oursCores: ours / seconds, kernelCores: kernel / seconds, seconds };
}

/** Segments sent by TCP on this machine so far (Linux); NaN elsewhere. */
export function tcpOutSegs() {
  try {
    const [names, values] = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Tcp:'));
    return Number(values.split(/\s+/)[names.split(/\s+/).indexOf('OutSegs')]);
  } catch {
    return NaN;
  }
}

/** One line on the foreign-load rule of a bench, and which rounds it set aside. */
export function foreignLoadLine(threshold, flagged, total, usedAll) {
  const which = flagged.length ? `rounds ${flagged.map((f) => `${f.round} (${f.foreignCores.toFixed(2)} CPUs)`).join(', ')}` : 'none';
  return (
    `foreign load (CPU time of other processes: /proc/stat minus this bench's processes and kernel threads): a round with more than ${threshold} of ${availableParallelism()} CPUs busy elsewhere is unusable; ` +
    `unusable: ${which} of ${total}` +
    (flagged.length ? (usedAll ? ' — too few usable rounds left, so the medians are over ALL rounds' : '; medians are over the usable rounds') : '')
  );
}

export function machine() {
  let nproc;
  try {
    nproc = execSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    nproc = String(availableParallelism());
  }
  // What was measured: the commit, "dirty" when the tree differs from it (preflight refused a stale dist/).
  const commit = measuredCommit();
  return { date: new Date().toISOString(), node: process.version, nproc, commit, ramGiB: (totalmem() / 2 ** 30).toFixed(1), kernel: release() };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection with `why()` if it has not settled within `ms`. */
export function withDeadline(promise, ms, why) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(why())), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * The arrival reports of a fan-out bench's client processes: `{ all: k, t }` once every socket of
 * that client has message k (t from process.hrtime, the same clock in every process), `{ closed }`
 * when one of its sockets closed. `expect(k0, count)` resolves with the latest t once every client
 * reported each of k0…k0+count-1, and rejects after `ms` or on a closed socket; `stop()` unlistens.
 */
export function trackArrivals(clients, ms) {
  let pending;
  let failure;
  const listeners = clients.map((c, i) => {
    const listener = (msg) => {
      if (msg?.closed !== undefined) {
        failure = new Error(`client ${i}: a socket closed (code ${msg.closed}) during the run`);
        pending?.reject(failure);
      }
      if (msg?.all === undefined || !pending || msg.all < pending.k0 || msg.all > pending.kLast) return;
      pending.tLast = Math.max(pending.tLast, msg.t);
      if (--pending.remaining === 0) pending.resolve(pending.tLast);
    };
    c.child.on('message', listener);
    return listener;
  });
  return {
    expect(k0, count) {
      if (failure) return Promise.reject(failure);
      const arrived = new Promise((resolve, reject) => {
        pending = { k0, kLast: k0 + count - 1, remaining: clients.length * count, tLast: 0, resolve, reject };
      });
      return withDeadline(arrived, ms, () => `messages ${k0}…${k0 + count - 1} did not reach every socket within ${ms} ms`).finally(() => (pending = undefined));
    },
    stop: () => clients.forEach((c, i) => c.child.off('message', listeners[i])),
  };
}

/**
 * The IPC commands of a server whose CPU a fan-out bench reads around a measurement: gc (a full
 * collection twice, a turn apart; run the server with --expose-gc), mark (the CPU count starts
 * now) and cpu (process.cpuUsage() since the mark).
 */
export function cpuCommands() {
  let cpu0 = process.cpuUsage();
  return {
    gc: async () => {
      global.gc();
      await new Promise((resolve) => setImmediate(resolve));
      global.gc();
      return {};
    },
    mark: () => {
      cpu0 = process.cpuUsage();
      return {};
    },
    cpu: () => ({ cpu: process.cpuUsage(cpu0) }),
  };
}

/** A share of one core as a padded percentage (`' 87%'`); `'  ?%'` when unknown. */
export function pct(x) {
  return Number.isNaN(x) ? '  ?%' : `${(x * 100).toFixed(0)}%`.padStart(4);
}

/** Which files of src/ differ from the commit (dist/ is built from the working tree); '' when none. */
export function srcDiffStat() {
  try {
    const files = execSync('git status --porcelain -- src', { cwd: root, encoding: 'utf8' }).trim();
    return files ? `working tree differs in: ${files.split('\n').map((l) => l.slice(3)).join(', ')}` : '';
  } catch {
    return '';
  }
}

/** `00000042|vela-LABEL-…`: `bytes` ASCII bytes that carry their sequence number k in the first 8. */
export function payloadFor(k, label, bytes = 100) {
  const fill = `vela-${label}-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ`;
  return (`${String(k).padStart(8, '0')}|` + fill.repeat(2)).slice(0, bytes);
}

// ---------------------------------------------------------------------------------------------
// Servers: the benchmark apps (bench/apps/*.ts) and the raw peers.

/**
 * The module compiled from bench/apps/NAME.ts into bench/.build/apps (`tsc -p bench`, which every
 * bench npm script runs before the bench), e.g. `const { AppModule } = await benchApp('users.vela')`.
 */
export async function benchApp(name) {
  const file = new URL(`.build/apps/${name}.js`, import.meta.url);
  if (!existsSync(file)) {
    throw new Error(`bench/.build/apps/${name}.js is missing: run the bench through its npm script (npm run bench:http…), which compiles bench/apps, or run \`npx tsc -p bench\``);
  }
  return import(file.href);
}

/**
 * A package as Vela itself resolves it, from the repository's node_modules. The raw peers take ws
 * from here: bench/node_modules holds its own copy for socket.io, and the raw side of a comparison
 * must run the very ws (and koa) that Vela runs on.
 */
export const velaDependency = createRequire(`${root}package.json`);

/** ws's perMessageDeflate as src/ws/compression.ts makes it of `compression: true`: raw peers compress exactly alike. */
export const VELA_DEFLATE = Object.freeze({
  threshold: 1024,
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
  zlibDeflateOptions: Object.freeze({ level: 6, memLevel: 8 }),
});

/** Listens on 127.0.0.1, port 0; resolves with the server once it is listening. */
export function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// ---------------------------------------------------------------------------------------------
// Idle sockets (memory benches): opened in batches from several source addresses, closed together.

/**
 * Opens socket number `i` to ws://127.0.0.1:port/ws from 127.0.0.(1 + i % addresses), so that no
 * address pair runs out of ephemeral ports. `onPing` counts the server's pings (Vela's heartbeat).
 */
export function openIdle(port, i, { addresses = 4, onPing } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false, localAddress: `127.0.0.${1 + (i % addresses)}` });
    if (onPing) ws.on('ping', onPing);
    ws.once('open', () => {
      ws.removeListener('error', reject);
      ws.on('error', () => {}); // the server is killed at the end of a run
      resolve(ws);
    });
    ws.once('error', reject);
  });
}

/**
 * Opens `count` sockets to `url` at once, socket i from `localAddressOf(i)`, handing each that opened
 * to `opened`; resolves with how many opened and the errors of the others, by code or message.
 */
export async function openCounted(url, count, localAddressOf, opened) {
  const errors = {};
  const results = await Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise((resolve) => {
          const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: localAddressOf(i) });
          const timer = setTimeout(() => {
            ws.terminate();
            fail(new Error('no open within 30 s'));
          }, 30_000);
          const fail = (error) => {
            clearTimeout(timer);
            const key = error.code ?? error.message;
            errors[key] = (errors[key] ?? 0) + 1;
            resolve(false);
          };
          ws.once('error', fail);
          ws.once('open', () => {
            clearTimeout(timer);
            ws.removeListener('error', fail);
            ws.on('error', () => {});
            opened(ws);
            resolve(true);
          });
        }),
    ),
  );
  return { ok: results.filter(Boolean).length, errors };
}

/** Opens `count` idle sockets, `batch` at a time. */
export async function openManyIdle(port, count, { batch = 250, ...options } = {}) {
  const sockets = [];
  for (let start = 0; start < count; start += batch) {
    const opening = [];
    for (let i = start; i < Math.min(start + batch, count); i++) opening.push(openIdle(port, i, options));
    sockets.push(...(await Promise.all(opening)));
  }
  return sockets;
}

/** Closes every socket (or cuts it, with `terminate`), cutting any that has not closed after 2 s. */
export function closeAll(sockets, { terminate = false } = {}) {
  return Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => ws.terminate(), 2_000);
          ws.once('close', () => (clearTimeout(timer), resolve()));
          if (terminate) ws.terminate();
          else ws.close(1000);
        }),
    ),
  );
}
