// `npm run bench`: every benchmark in sequence, each in its own process with its own time limit,
// and each one's summary block collected into bench/results/<date>.txt (and bench/results/latest.txt).
// `npm run bench` builds dist/, bench/apps and the example first; run directly, this script expects them built.
//
//   node bench/run-all.mjs                 everything
//   node bench/run-all.mjs ws-echo memory  only the steps whose name contains one of the words
//
// A step that fails or passes its time limit is killed (its whole process group) and recorded as
// such; the others still run. No new step starts once TOTAL_BUDGET_MS has passed. cross-node and presence
// run only if Redis answers PING at REDIS_URL (default redis://127.0.0.1:6379); history runs its memory
// part regardless and its Redis part only then; interest starts a redis-server of its own, so it runs
// only where one is installed. workers runs 3 rounds instead of its 5 (~4 min instead of ~6);
// workers-connections (node:cluster's round-robin against the kernel's pick) takes ~1 min.
// Not part of it, run alone: the max-sockets climb (`npm run bench:max-sockets`) and the 100,000-socket
// hold on workers (`npm run bench:workers-sockets`, 7 workers and 6 clients at their open-file limits and
// ~1.3 GiB for about 2 min): capacity runs, not side-by-side comparisons, each wants the machine alone.
import { spawn, execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { cpus, totalmem, release } from 'node:os';
import { performance } from 'node:perf_hooks';

const MIN = 60_000;
// Past this no new step starts. 25 min until interest (~2 min), workers (~4 min) and
// workers-connections (~1 min) joined the steps.
const TOTAL_BUDGET_MS = 35 * MIN;
const bench = new URL('.', import.meta.url).pathname;
const root = new URL('..', import.meta.url).pathname;

const STEPS = [
  { name: 'http', args: ['http.mjs'], limitMs: 7 * MIN, when: () => (existsSync(`${bench}http.mjs`) ? true : 'bench/http.mjs is not there') },
  { name: 'ws-echo', args: ['ws-echo.mjs'], limitMs: 4 * MIN },
  { name: 'ws-echo event', args: ['ws-echo.mjs', '--mode', 'event'], limitMs: 4 * MIN },
  { name: 'requests', args: ['requests.mjs'], limitMs: 4 * MIN },
  { name: 'broadcast 1k', args: ['broadcast.mjs', '--sockets', '1000'], limitMs: 3 * MIN },
  { name: 'broadcast 10k', args: ['broadcast.mjs', '--sockets', '10000'], limitMs: 5 * MIN },
  { name: 'memory 10k', args: ['ws-memory.mjs', '--sockets', '10000'], limitMs: 3 * MIN },
  { name: 'memory heap snapshots', args: ['ws-heap.mjs'], limitMs: 2 * MIN },
  { name: 'cross-node', args: ['cross-node.mjs'], limitMs: 5.5 * MIN, when: redisAnswers },
  { name: 'history', args: ['history.mjs'], limitMs: 5 * MIN }, // its Redis part says why it skips without Redis
  { name: 'presence', args: ['presence.mjs'], limitMs: 5 * MIN, when: redisAnswers },
  { name: 'bootstrap', args: ['bootstrap.mjs'], limitMs: 2 * MIN },
  { name: 'session-store', args: ['session-store.mjs'], limitMs: 2 * MIN },
  { name: 'interest', args: ['interest.mjs'], limitMs: 5 * MIN, when: redisServerInstalled },
  { name: 'workers', args: ['workers.mjs', '--rounds=3'], limitMs: 8 * MIN },
  { name: 'workers-connections', args: ['workers-connections.mjs'], limitMs: 3 * MIN },
  {
    name: 'cold-start',
    args: ['cold-start.mjs'],
    limitMs: 2 * MIN,
    when: () => (existsSync(`${root}example/.build/blog/main.js`) ? true : 'example/.build is missing: run `node scripts/build.mjs example` (npm run bench does)'),
  },
];

/** True if `redis-server` is on the PATH (bench/interest.mjs starts its own), else why not. */
function redisServerInstalled() {
  return sh('sh -c "command -v redis-server"') !== 'unknown' ? true : 'redis-server is not installed (bench/interest.mjs starts one of its own)';
}

/** True if Redis answers PING within a second, else why not. */
function redisAnswers() {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  return new Promise((resolve) => {
    const socket = createConnection({ host: url.hostname, port: Number(url.port || 6379) });
    const done = (value) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(`Redis at ${url.host} did not answer PING within 1 s`), 1_000);
    socket.once('error', (error) => done(`Redis at ${url.host}: ${error.message}`));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG') ? true : `Redis at ${url.host} answered ${JSON.stringify(data.toString().trim())}`));
  });
}

let current; // the running step's child, killed with us
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (current) killGroup(current, 'SIGTERM');
    process.exit(130);
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {}
}

/** Runs one step: output passes through and is kept; resolves with { code, timedOut, out, ms }. */
function runStep(step) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    // detached: its own process group, so a timeout kills the bench and every child it started.
    const child = spawn(process.execPath, step.args.map((a, i) => (i === 0 ? `${bench}${a}` : a)), {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    current = child;
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
      process.stderr.write(chunk);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGTERM');
      setTimeout(() => killGroup(child, 'SIGKILL'), 5_000).unref();
    }, step.limitMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      // Whatever the bench left behind in its group (it should leave nothing).
      killGroup(child, 'SIGKILL');
      resolve({ code: code ?? signal, timedOut, out, err, ms: performance.now() - t0 });
    });
  });
}

/** The last `---- … ----` block of a bench's output, to its end. */
function summaryOf(out) {
  const lines = out.split('\n');
  let start = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/^---- .* ----$/.test(lines[i])) {
      start = i;
      break;
    }
  }
  return start < 0 ? undefined : lines.slice(start).join('\n').trimEnd();
}

function sh(command) {
  try {
    return execSync(command, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const filters = process.argv.slice(2);
const steps = filters.length ? STEPS.filter((s) => filters.some((f) => s.name.includes(f))) : STEPS;
if (!existsSync(`${root}dist/index.js`)) throw new Error('dist/ is missing: run `npm run build` first (npm run bench does)');

const started = performance.now();
const date = new Date().toISOString();
let commit = sh('git rev-parse --short HEAD');
if (sh('git status --porcelain -- src') !== '') commit += ' + uncommitted changes in src/';
const header = [
  `Vela benchmarks — ${date}`,
  `command: npm run bench${filters.length ? ` (node bench/run-all.mjs ${filters.join(' ')})` : ''}`,
  `machine: ${cpus()[0]?.model ?? 'unknown CPU'}, nproc ${sh('nproc')}, RAM ${(totalmem() / 2 ** 30).toFixed(1)} GiB, kernel ${release()}, ` +
    `node ${process.version}, ulimit -n ${sh('sh -c "ulimit -n"')} (hard ${sh('sh -c "ulimit -Hn"')})`,
  `commit: ${commit}`,
  `load average at the start: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
];
const blocks = [];
const status = [];
for (const step of steps) {
  const elapsed = performance.now() - started;
  if (elapsed > TOTAL_BUDGET_MS) {
    status.push(`${step.name}: SKIPPED (the run passed its ${TOTAL_BUDGET_MS / MIN} min budget)`);
    continue;
  }
  const when = step.when ? await step.when() : true;
  if (when !== true) {
    status.push(`${step.name}: SKIPPED (${when})`);
    blocks.push(`---- ${step.name}: skipped ----\n${when}`);
    continue;
  }
  console.log(`\n======== ${step.name}: node bench/${step.args.join(' ')} (limit ${step.limitMs / MIN} min) ========\n`);
  const result = await runStep(step);
  const summary = summaryOf(result.out);
  const took = `${(result.ms / 1000).toFixed(0)} s`;
  if (result.timedOut) status.push(`${step.name}: TIMED OUT after ${took} (limit ${step.limitMs / MIN} min), killed`);
  else if (result.code !== 0) status.push(`${step.name}: FAILED (exit ${result.code}) after ${took}`);
  else status.push(`${step.name}: ok, ${took}`);
  if (summary && result.code === 0 && !result.timedOut) blocks.push(summary);
  else {
    const tail = `${result.out}\n${result.err}`.trim().split('\n').slice(-15).join('\n');
    blocks.push(`---- ${step.name}: ${result.timedOut ? 'timed out' : `failed (exit ${result.code})`} ----\nlast lines of its output:\n${tail}`);
  }
}
const total = `total: ${((performance.now() - started) / 1000 / 60).toFixed(1)} min`;
const text = [...header, '', ...status, total, '', ...blocks.flatMap((b) => [b, ''])].join('\n');
const dir = `${bench}results`;
mkdirSync(dir, { recursive: true });
const file = `${dir}/${date.replace(/[:.]/g, '-')}.txt`;
writeFileSync(file, text);
copyFileSync(file, `${dir}/latest.txt`);
console.log(`\n======== summary ========\n${status.join('\n')}\n${total}\nresults: ${file} (and bench/results/latest.txt)`);
if (status.some((s) => !/: ok|SKIPPED/.test(s))) process.exitCode = 1;
