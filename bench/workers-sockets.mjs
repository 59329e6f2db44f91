// 100,000 idle WebSocket connections held by one app on this machine, on `vela start` workers, every
// one answering a broadcast. Run with `npm run bench:workers-sockets` (`-- --sockets N`, default 100 000).
//
// One process cannot hold them: the machine's hard open-file limit is 20,000 per process (one socket
// is one fd), so the app runs on W workers (`vela start bench/workers-sockets-server.mjs --workers W`,
// W chosen so each holds at most 80% of its limit; node:cluster's primary hands the connections to
// the workers in turn), and the clients are several processes, each holding at most its own limit's
// worth, from source addresses 127.0.0.1–127.0.0.20 (no address runs out of ephemeral ports).
// Every process runs under `prlimit --nofile=L:L` with L as high as the machine lets.
//
// The app is bench/apps/fanout.vela.ts: every socket on /live joins `all`; POST /broadcast sends one
// text to it from whichever worker takes the request, and the primary relays it to the others.
// Sockets are opened in batches; at each checkpoint (10k, 50k, 100k) the bench reads:
//   RSS        of the whole server (primary + workers, /proc/PID/status), minus its RSS before any socket;
//              per socket (goal ≤ 10 KiB)
//   broadcast  BROADCASTS broadcasts, one at a time: from the POST to the moment the last of the N sockets
//              got it (every client process reports when all of its sockets did, on the same clock);
//              every socket must get every one
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { fdLimitFor, machine, median, openCounted, processTree, rssOf, serveParent, sleep, spawnChild, stopProcess, track } from './harness.mjs';

const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const TARGET = Number(arg('sockets') ?? 100_000);
const CHECKPOINTS = [10_000, 50_000, 100_000].filter((c) => c < TARGET).concat(TARGET);
const ADDRESSES = 20;
const BATCH = 500;
const FD_HEADROOM = 512;
const BROADCASTS = 5;
const BROADCAST_TIMEOUT_MS = 60_000;

const self = new URL(import.meta.url).pathname;
const root = new URL('..', import.meta.url).pathname;
const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const SERVER = new URL('./workers-sockets-server.mjs', import.meta.url).pathname;
const n = (x) => Math.round(x).toLocaleString('en-US');
const mib = (x) => (x / 2 ** 20).toFixed(1);

if (process.argv[2] === 'client') await client();
else await main();

async function main() {
  const started = performance.now();
  const { date, node, nproc, commit, ramGiB, kernel } = machine();
  const fd = fdLimitFor(TARGET + FD_HEADROOM);
  const perProcess = fd.limit - FD_HEADROOM;
  const workers = Math.max(2, Math.ceil(TARGET / (0.8 * perProcess)));
  console.log(`workers-sockets: ${n(TARGET)} idle sockets on vela start --workers ${workers}; node ${node}, nproc ${nproc}, RAM ${ramGiB} GiB`);
  console.log(`fd limit: ${fd.note}; up to ${n(perProcess)} sockets per client process\n`);

  const server = await startServer(workers, fd.limit);
  const clients = [];
  const readings = [];
  try {
    await sleep(500);
    const base = rssOf(server.pids());
    let opened = 0;
    for (const checkpoint of CHECKPOINTS) {
      while (opened < checkpoint) {
        let c = clients.at(-1);
        if (!c || c.held >= perProcess) {
          c = Object.assign(spawnChild(self, ['client'], { waitFor: 'ready', fdLimit: fd.limit }), { held: 0 });
          await c.ready;
          clients.push(c);
        }
        const count = Math.min(BATCH, perProcess - c.held, checkpoint - opened);
        const result = await c.request({ cmd: 'open', port: server.port, count, first: opened }, 120_000);
        c.held += result.ok;
        opened += result.ok;
        if (result.ok < count) throw new Error(`${count - result.ok} of a batch of ${count} failed to open at ${n(opened)} sockets: ${JSON.stringify(result.errors)}`);
      }
      await sleep(1_000);
      const pids = server.pids();
      const rss = rssOf(pids);
      const times = [];
      for (let i = 0; i < BROADCASTS; i++) times.push(await broadcastOnce(server, clients, `tick-${checkpoint}-${i}`));
      const reading = { sockets: opened, processes: pids.length, rss, perSocket: (rss - base) / opened, times };
      readings.push(reading);
      console.log(
        `${n(opened).padStart(7)} sockets: server RSS ${mib(rss)} MiB over ${pids.length} processes (${n(reading.perSocket)} B per socket); ` +
          `one broadcast to all: median ${median(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms`,
      );
    }
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await server.stop();
  }
  const last = readings.at(-1);
  const summary = [
    '---- workers-sockets summary ----',
    `command: npm run bench:workers-sockets${TARGET === 100_000 ? '' : ` -- --sockets ${TARGET}`}`,
    `date: ${date}   node: ${node}   nproc: ${nproc}   RAM: ${ramGiB} GiB   kernel: ${kernel}   commit: ${commit}`,
    `setup: vela start --workers ${workers} (bench/apps/fanout.vela.ts, bootstrap defaults), ${clients.length} client processes, ` +
      `source addresses 127.0.0.1–127.0.0.${ADDRESSES}, open-file limit ${n(fd.limit)} per process`,
    ...readings.map(
      (r) =>
        `  ${n(r.sockets).padStart(7)} sockets: RSS ${mib(r.rss)} MiB, ${n(r.perSocket)} B per socket (goal ≤ 10,240); ` +
          `broadcast to every socket: median ${median(r.times).toFixed(0)} ms (${r.times.map((t) => t.toFixed(0)).join(', ')})`,
    ),
    `held ${n(last.sockets)} sockets, every one answered each of ${BROADCASTS} broadcasts`,
    `total run time: ${((performance.now() - started) / 1000).toFixed(0)} s`,
  ];
  console.log(`\n${summary.join('\n')}`);
}

/** vela start under prlimit; resolves once every worker listens. */
async function startServer(workers, limit) {
  const child = track(
    spawn('prlimit', [`--nofile=${limit}:${limit}`, '--', process.execPath, CLI, 'start', SERVER, '--workers', String(workers)], {
      cwd: root,
      env: { ...process.env, PORT: '0', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`not listening within 60 s:\n${out}`)), 60_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /workers listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`vela start exited (${code}):\n${out}`)));
  });
  return { port, pids: () => processTree(child.pid), stop: () => stopProcess(child, 30_000) };
}

/** One broadcast, from the POST to the last socket's arrival (ms); every socket must get it. */
async function broadcastOnce(server, clients, text) {
  const arrivals = clients.map((c) => c.request({ cmd: 'await', text, timeoutMs: BROADCAST_TIMEOUT_MS }, BROADCAST_TIMEOUT_MS + 10_000));
  await Promise.all(clients.map((c) => c.request({ cmd: 'armed', text })));
  const sentAt = performance.timeOrigin + performance.now();
  await post(server.port, '/broadcast', { text });
  const results = await Promise.all(arrivals);
  const missing = results.reduce((sum, r) => sum + r.missing, 0);
  if (missing > 0) throw new Error(`${n(missing)} sockets did not get "${text}" within ${BROADCAST_TIMEOUT_MS / 1000} s`);
  return Math.max(...results.map((r) => r.lastAt)) - sentAt;
}

function post(port, path, body) {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 || res.statusCode === 201 ? resolve() : reject(new Error(`POST ${path}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** A client process: opens the sockets it is told to, keeps them, and reports when all of them got a text. */
async function client() {
  const sockets = [];
  let waiting;
  serveParent({
    open({ port, count, first }) {
      const localAddress = (i) => `127.0.0.${1 + ((first + i) % ADDRESSES)}`;
      return openCounted(`ws://127.0.0.1:${port}/live`, count, localAddress, (ws) => {
        ws.on('message', (data) => waiting?.(String(data)));
        sockets.push(ws);
      });
    },
    // Answered once ready for `text`: the driver broadcasts only after every client answered.
    armed: () => ({}),
    await({ text, timeoutMs }) {
      return new Promise((resolve) => {
        let got = 0;
        let lastAt = 0;
        const done = () => {
          clearTimeout(timer);
          waiting = undefined;
          resolve({ missing: sockets.length - got, lastAt });
        };
        const timer = setTimeout(done, timeoutMs);
        waiting = (data) => {
          if (data !== text) return;
          got += 1;
          lastAt = performance.timeOrigin + performance.now();
          if (got === sockets.length) done();
        };
      });
    },
  });
}
