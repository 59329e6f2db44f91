// One app on 1 and 2 cores: HTTP and WebSocket echo throughput of the same app (bench/workers-server.mjs)
// run three ways, each beside a peer without Vela run the same ways in the same rounds, and the server
// CPU each spends per request. Run with `npm run bench:workers`.
//
//   single          `node bench/workers-server.mjs`: one process, what an app runs as without workers
//   workers-1       `vela start bench/workers-server.mjs --workers 1`: the primary and one worker
//   workers-2       `vela start … --workers 2`: the primary and two workers sharing the port
//   workers-2 none  workers-2 with NODE_CLUSTER_SCHED_POLICY=none: each worker accepts for itself
//                   (the kernel picks which) instead of the primary accepting and handing over in turn
//   raw …           the peer, bench/workers-peer-server.mjs: Koa + @koa/router answering GET /hello
//                   and a ws echo on /ws, with nothing of Vela's; `raw single` is one process, `raw
//                   cluster-N` its own node:cluster primary and N workers (`raw cluster-2 none` as above)
// Every Vela way is the same app: bench/apps/workers.vela.ts (the HTTP bench's GET /hello and the echo
// gateway on /ws), sessions, request log and logger off; on workers with bootstrap's worker defaults
// (clusterPubSub: the primary relays, though nothing here broadcasts).
//
// Loads, each against every way in turn (the order flips every round):
//   http  wrk -t1 -c50 GET /hello for DURATION_S (bench/http-measure.mjs's wrk: 50 keep-alive connections,
//         which node:cluster's primary hands to the workers in turn when they connect)
//   echo  bench/ws-echo.mjs's load generator: 100 sockets, 10 64-byte text frames in flight each, 3 000
//         round trips per socket
// Server CPU is read from /proc for the server's whole process tree (primary and workers), so the
// primary's part (accepting and handing over connections, relaying) counts. The machine has two
// cores shared with the load generator: the scaling factor is what 2 workers gain there, not what
// they would gain on a machine of their own.
//   scaling    req/s of a way / req/s of its family's single process, paired within a round
//   CPU ratio  server CPU per request of a way / of its family's single process, paired within a round
//              (goal for Vela ≤ 1.05). The raw peer's ratio is what the machine and node:cluster cost
//              (two workers and wrk on two cores, the primary's accept and hand-over): Vela's own part
//              is Vela's ratio / the raw ratio, printed as "Vela's part".
// `--rounds=N` (default 5), `--duration=S` (default 3) and `--per-socket=N` (default 3000) shorten a run:
// `--rounds=1 --duration=1 --per-socket=300` is a smoke run.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { cpuSecondsOf, median, machine, pct, processTree, spawnChild, stopProcess, track, TICKS_PER_S } from './harness.mjs';
import { DURATION_S, ROUNDS, WARMUP_S, flagValue, preflight, wrk } from './http-measure.mjs';

const root = new URL('..', import.meta.url).pathname;
const SERVER = new URL('./workers-server.mjs', import.meta.url).pathname;
const PEER = new URL('./workers-peer-server.mjs', import.meta.url).pathname;
const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const ECHO_CLIENT = new URL('./ws-echo.mjs', import.meta.url).pathname;
/** Every way, by name: its family's single process is what its ratios are paired with. */
const WAYS = {
  single: { family: 'vela', args: [SERVER] },
  'workers-1': { family: 'vela', args: [CLI, 'start', SERVER, '--workers', '1'] },
  'workers-2': { family: 'vela', args: [CLI, 'start', SERVER, '--workers', '2'] },
  'workers-2 none': { family: 'vela', args: [CLI, 'start', SERVER, '--workers', '2'], sched: 'none' },
  'raw single': { family: 'raw', args: [PEER] },
  'raw cluster-1': { family: 'raw', args: [PEER, '1'] },
  'raw cluster-2': { family: 'raw', args: [PEER, '2'] },
  'raw cluster-2 none': { family: 'raw', args: [PEER, '2'], sched: 'none' },
};
const NAMES = Object.keys(WAYS);
const SINGLE = { vela: 'single', raw: 'raw single' };
const SOCKETS = 100;
const WINDOW = 10;
const PER_SOCKET = Number(flagValue('per-socket', '3000'));
const ECHO_DEADLINE_MS = 20_000;

/** Starts one way of running the app; resolves with its url, the pids of its process tree, and stop(). */
async function startServer(way) {
  const { args, sched } = WAYS[way];
  // node:cluster reads NODE_CLUSTER_SCHED_POLICY when it loads; unset, Linux's default is round-robin ('rr').
  const env = { ...process.env, PORT: '0', ...(sched ? { NODE_CLUSTER_SCHED_POLICY: sched } : {}) };
  const child = track(spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] }));
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${way} not listening within 30 s:\n${out}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      if (out === undefined) return;
      out += chunk;
      const match = /port=(\d+)|workers? listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        out = undefined;
        resolve(Number(match[1] ?? match[2]));
      }
    });
    child.once('exit', (code) => reject(new Error(`${way} exited (${code}) before it listened:\n${out}`)));
  });
  return { way, port, url: `http://127.0.0.1:${port}`, pids: () => processTree(child.pid), stop: () => stopProcess(child, 20_000) };
}

/** Machine-wide busy CPU seconds (user + nice + system + steal) from /proc/stat. */
function machineBusy() {
  const [user, nice, system, , , , , steal = 0] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + steal) / TICKS_PER_S;
}

/** Server CPU and machine CPU around one load; `load()` resolves with { requests, seconds, loaderCpuS }. */
async function around(server, load) {
  const pids = server.pids();
  // The first pid is the process started: a primary, when there are workers.
  const [c0, p0, m0, d0] = [cpuSecondsOf(pids), cpuSecondsOf(pids.slice(0, 1)), machineBusy(), process.cpuUsage()];
  const run = await load();
  const [c1, p1, m1, d1] = [cpuSecondsOf(pids), cpuSecondsOf(pids.slice(0, 1)), machineBusy(), process.cpuUsage(d0)];
  const serverS = c1 - c0;
  const primaryShare = pids.length > 1 && serverS > 0 ? (p1 - p0) / serverS : undefined;
  const other = Math.max(0, m1 - m0 - serverS - run.loaderCpuS - (d1.user + d1.system) / 1e6);
  return { rate: run.requests / run.seconds, usPerReq: (serverS * 1e6) / run.requests, serverBusy: serverS / run.seconds, other: other / run.seconds, processes: pids.length, primaryShare };
}

function httpLoad(server, seconds) {
  return around(server, async () => {
    const w = await wrk(`${server.url}/hello`, seconds);
    if (w.errors > 0 || w.non2xx > 0) throw new Error(`${server.way}: ${w.errors} socket errors, ${w.non2xx} non-2xx responses`);
    return { requests: w.requests, seconds: w.seconds, loaderCpuS: Number.isNaN(w.cpuS) ? 0 : w.cpuS };
  });
}

async function echoLoad(server, client, perSocket) {
  await client.request({ cmd: 'connect', port: server.port, sockets: SOCKETS });
  try {
    return await around(server, async () => {
      const run = await client.request({ cmd: 'run', perSocket, window: WINDOW, deadlineMs: ECHO_DEADLINE_MS }, ECHO_DEADLINE_MS + 10_000);
      if (run.bad > 0 || run.truncated) throw new Error(`${server.way}: echo ${run.truncated ? 'hit its deadline' : `${run.bad} bad replies`}`);
      return { requests: run.msgs, seconds: run.ms / 1000, loaderCpuS: run.clientCpuUs / 1e6 };
    });
  } finally {
    await client.request({ cmd: 'close' });
  }
}

async function main() {
  preflight();
  const started = performance.now();
  const { date, node, nproc, commit } = machine();
  const client = spawnChild(ECHO_CLIENT, ['client', 'text'], { waitFor: 'ready' });
  await client.ready;
  console.log(`workers: the same app as one process and on vela start --workers 1 and 2, beside raw Koa + ws on node:cluster; node ${node}, nproc ${nproc}`);
  console.log(`http: wrk -t1 -c50 GET /hello, ${DURATION_S} s per measurement; echo: ${SOCKETS} sockets × ${WINDOW} in flight × ${PER_SOCKET} round trips of 64 bytes\n`);
  const row = (label, load, way, r) =>
    console.log(
      `${label.padEnd(8)} ${load.padEnd(5)} ${way.padEnd(18)} ${Math.round(r.rate).toLocaleString('en-US').padStart(8)} /s  ` +
        `${r.usPerReq.toFixed(1).padStart(6)} µs CPU/req  server ${pct(r.serverBusy)} (${r.processes} processes${r.primaryShare === undefined ? '' : `, primary ${pct(r.primaryShare)} of it`})  other ${r.other.toFixed(2)} cores`,
    );

  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? NAMES : [...NAMES].reverse();
    const round = { http: {}, echo: {} };
    for (const way of order) {
      const server = await startServer(way);
      try {
        row('warm-up', 'http', way, await httpLoad(server, WARMUP_S));
        round.http[way] = await httpLoad(server, DURATION_S);
        row(String(i + 1), 'http', way, round.http[way]);
        row('warm-up', 'echo', way, await echoLoad(server, client, Math.ceil(PER_SOCKET / 3)));
        round.echo[way] = await echoLoad(server, client, PER_SOCKET);
        row(String(i + 1), 'echo', way, round.echo[way]);
      } finally {
        await server.stop();
      }
    }
    rounds.push(round);
  }
  await client.stop();

  const summary = ['---- workers summary ----', `command: npm run bench:workers${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`];
  summary.push(`date: ${date}   node: ${node}   nproc: ${nproc}   commit: ${commit}   (the load generator shares the ${nproc} cores)`);
  for (const load of ['http', 'echo']) {
    const m = (way, key) => median(rounds.map((r) => r[load][way][key]));
    summary.push(`${load}: ${NAMES.map((way) => `${way} ${Math.round(m(way, 'rate')).toLocaleString('en-US')}/s at ${m(way, 'usPerReq').toFixed(1)} µs CPU/req`).join('; ')}`);
    /** Per round: `key` of `way` / `key` of its family's single process. */
    const ratios = (way, key) => rounds.map((r) => r[load][way][key] / r[load][SINGLE[WAYS[way].family]][key]);
    const spread = (values, digits) => `${median(values).toFixed(digits)}× (min ${Math.min(...values).toFixed(digits)} – max ${Math.max(...values).toFixed(digits)})`;
    for (const way of NAMES.filter((name) => !Object.values(SINGLE).includes(name))) {
      const primary = `the primary ${pct(median(rounds.map((r) => r[load][way].primaryShare)))} of it`;
      const line = `  ${`${way} / ${SINGLE[WAYS[way].family]}:`.padEnd(33)} scaling ${spread(ratios(way, 'rate'), 2)}, CPU per request ${spread(ratios(way, 'usPerReq'), 3)} (${primary})`;
      if (WAYS[way].family === 'raw') {
        summary.push(line);
        continue;
      }
      // Vela's part: its ratio over the raw peer's run the same way, paired within each round.
      const peer = `raw ${way.replace('workers', 'cluster')}`;
      const own = ratios(way, 'usPerReq').map((ratio, i) => ratio / ratios(peer, 'usPerReq')[i]);
      summary.push(`${line}; goal ≤ 1.05; Vela's part (/ ${peer}'s) ${spread(own, 3)}`);
    }
  }
  summary.push(`over ${rounds.length} round${rounds.length === 1 ? '' : 's'}`);
  summary.push(`total run time: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log(`\n${summary.join('\n')}`);
}

await main();
