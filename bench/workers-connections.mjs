// What node:cluster's two ways of sharing a port cost and give, for `vela start --workers 2` and for
// the raw peer (bench/workers-peer-server.mjs: Koa + ws on a node:cluster of its own), side by side.
// Run with `npm run bench:workers-connections`.
//
//   rr    round-robin (SCHED_RR, Node's default except on Windows): the primary accepts every
//         connection and hands it to the next worker over IPC
//   none  NODE_CLUSTER_SCHED_POLICY=none: every worker accepts on the shared socket, the kernel picks
//
// For each server and policy, every round (the order flips each round):
//   spread       SOCKETS WebSockets opened one after another: how many each worker got (counted as
//                socket descriptors each worker gained, from /proc/PID/fd)
//   connections  CONNECTIONS requests to GET /hello, each on a new connection (CONCURRENCY at a time):
//                the primary's CPU per connection, and the whole server's (primary and workers)
// Medians over the rounds. `--rounds=N` (default 3) and `--connections=N` (default 3000) shorten a run.
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { cpuSecondsOf, machine, median, processTree, stopProcess, track } from './harness.mjs';
import { flagValue } from './http-measure.mjs';

const root = new URL('..', import.meta.url).pathname;
const WebSocket = createRequire(`${root}package.json`)('ws');
const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const SERVERS = {
  vela: [CLI, 'start', new URL('./workers-server.mjs', import.meta.url).pathname, '--workers', '2'],
  raw: [new URL('./workers-peer-server.mjs', import.meta.url).pathname, '2'],
};
const POLICIES = ['rr', 'none'];
const ROUNDS = Number(flagValue('rounds', '3'));
const CONNECTIONS = Number(flagValue('connections', '3000'));
const CONCURRENCY = 10;
const SOCKETS = 100;

async function start(server, policy) {
  const env = { ...process.env, PORT: '0', NODE_CLUSTER_SCHED_POLICY: policy };
  const child = track(spawn(process.execPath, SERVERS[server], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] }));
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      if (out === undefined) return;
      out += chunk;
      const match = /workers? listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (match) {
        out = undefined;
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`${server} (${policy}) exited (${code}) before it listened:\n${out}`)));
  });
  const workers = processTree(child.pid).slice(1);
  if (workers.length !== 2) throw new Error(`${server} (${policy}): expected 2 workers, found ${workers.length}`);
  return { child, port, workers, stop: () => stopProcess(child, 20_000) };
}

/** Socket descriptors a process holds now. */
function sockets(pid) {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // closed while listed
    }
  }).length;
}

/** SOCKETS WebSockets opened one after another; resolves with how many each worker got, fewest first. */
async function spread({ port, workers }) {
  const before = workers.map(sockets);
  const open = [];
  try {
    for (let i = 0; i < SOCKETS; i++) {
      open.push(
        await new Promise((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
      );
    }
    // Every echo answered: each socket is held by its worker (its descriptor counted) by then.
    await Promise.all(open.map((ws) => new Promise((resolve) => (ws.once('message', resolve), ws.send('x')))));
    return workers.map((pid, i) => sockets(pid) - before[i]).sort((a, b) => a - b);
  } finally {
    for (const ws of open) ws.terminate();
  }
}

function getOnNewConnection(port) {
  return new Promise((resolve, reject) => {
    request(`http://127.0.0.1:${port}/hello`, { agent: false }, (res) => {
      res.resume();
      res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`GET /hello answered ${res.statusCode}`))));
    })
      .once('error', reject)
      .end();
  });
}

/** CONNECTIONS requests on a connection each: CPU µs per connection of the primary and of the whole server. */
async function connections({ child, port, workers }) {
  for (let i = 0; i < 200; i += CONCURRENCY) await Promise.all(Array.from({ length: CONCURRENCY }, () => getOnNewConnection(port))); // warm-up
  const all = [child.pid, ...workers];
  const [p0, s0] = [cpuSecondsOf([child.pid]), cpuSecondsOf(all)];
  for (let i = 0; i < CONNECTIONS; i += CONCURRENCY) await Promise.all(Array.from({ length: CONCURRENCY }, () => getOnNewConnection(port)));
  const [p1, s1] = [cpuSecondsOf([child.pid]), cpuSecondsOf(all)];
  return { primaryUs: ((p1 - p0) * 1e6) / CONNECTIONS, serverUs: ((s1 - s0) * 1e6) / CONNECTIONS };
}

async function main() {
  const started = performance.now();
  const { date, node, nproc, commit } = machine();
  const ways = Object.keys(SERVERS).flatMap((server) => POLICIES.map((policy) => ({ server, policy, name: `${server} ${policy}` })));
  const results = Object.fromEntries(ways.map((way) => [way.name, []]));
  console.log(`workers-connections: vela start and raw node:cluster, 2 workers, rr vs none; ${SOCKETS} sockets spread, ${CONNECTIONS} new connections; node ${node}, nproc ${nproc}\n`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const way of round % 2 === 0 ? ways : [...ways].reverse()) {
      const server = await start(way.server, way.policy);
      try {
        const result = { spread: await spread(server), ...(await connections(server)) };
        results[way.name].push(result);
        console.log(`${String(round + 1).padEnd(3)} ${way.name.padEnd(10)} spread ${result.spread.join('/')}  primary ${result.primaryUs.toFixed(0)} µs/connection  server ${result.serverUs.toFixed(0)} µs/connection`);
      } finally {
        await server.stop();
      }
    }
  }
  const summary = ['---- workers-connections summary ----', `command: npm run bench:workers-connections${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`];
  summary.push(`date: ${date}   node: ${node}   nproc: ${nproc}   commit: ${commit}   (the clients share the ${nproc} cores)`);
  for (const { name } of ways) {
    const runs = results[name];
    const fewest = runs.map((r) => r.spread[0]);
    summary.push(
      `${name.padEnd(10)} ${SOCKETS} sockets over 2 workers: the emptier got ${median(fewest)} (min ${Math.min(...fewest)}); ` +
        `per new connection: primary ${median(runs.map((r) => r.primaryUs)).toFixed(0)} µs, whole server ${median(runs.map((r) => r.serverUs)).toFixed(0)} µs CPU`,
    );
  }
  summary.push(`over ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}; total run time: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log(`\n${summary.join('\n')}`);
}

await main();
