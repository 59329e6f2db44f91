// Soak: 5,000 WebSocket members of one channel get a broadcast every 100 ms for --minutes (default
// 10, wall time; a late timer is not caught up, the achieved rate is reported) while the server's RSS is sampled. Reports the RSS slope (least-squares, KB/min) and whether
// every connected member received every message, in order. Not part of CI: `npm run bench:soak`
// (builds first), or after `npm run bench:build`, `node bench/soak/soak.mjs --minutes 3 [--sockets 5000] [--out file]`.
//
// Processes (all on 127.0.0.1, all killed when this one ends, normally or not; bench/harness.mjs):
//   driver   this script: starts the others, keeps the schedule, prints progress and the summary
//   server   `soak.mjs server`: a Vela app with @WebSocket('/soak') whose init joins 'soak' and whose
//            @OnInfo() returns reply(msg.payload); Vela's defaults otherwise (heartbeat 30 s,
//            sessions on). It runs its own 100 ms timer (no IPC in the loop): message k is
//            app.pubsub.broadcast('soak', 'tick', payload(k)), k = 1…N. It samples
//            process.memoryUsage() every SAMPLE_MS and the event-loop delay, and reports the heap after
//            a forced GC once sockets are open (before the first broadcast) and after the last.
//   clients  `soak.mjs client I` × 5: SOCKETS/5 sockets each, from source address 127.0.0.(I+1) so
//            that no address pair runs out of ephemeral ports. Each socket checks that message k
//            arrives right after k-1: a missed message is a gap, a repeated or older one a reorder.
// At the end every socket must have received exactly 1…N in order and none may have closed.
import { performance } from 'node:perf_hooks';
import { existsSync, writeFileSync } from 'node:fs';
import { spawnChild, serveParent, machine, openFileLimit, sleep, loadMark, loadSince, benchApp, payloadFor as payloadForSeq } from '../harness.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const MINUTES = Number(arg('minutes', '10'));
const SOCKETS = Number(arg('sockets', '5000'));
const OUT = arg('out', undefined);
const CLIENTS = 5; // processes, source addresses 127.0.0.1 … 127.0.0.5
const INTERVAL_MS = 100;
const SAMPLE_MS = 5_000;
const WARMUP_MIN = 1; // the slope is also reported without the first minute (heap growth to steady state)
const PAYLOAD_BYTES = 100;
const BATCH = 200; // sockets each client opens concurrently
const DRAIN_TIMEOUT_MS = 30_000; // after the last broadcast, every socket must have it within this
const PATH = '/soak';

const self = new URL(import.meta.url).pathname;

if (process.argv[2] === 'server') await server();
else if (process.argv[2] === 'client') await client(Number(process.argv[3]));
else await main();

/** `00000042|vela-soak-…`: PAYLOAD_BYTES ASCII bytes that carry their sequence number. */
function payloadFor(k) {
  return payloadForSeq(k, 'soak', PAYLOAD_BYTES);
}

/** Theil–Sen slope: the median of the slopes between every pair of points; a one-off step (the
 * allocator handing memory back) moves it far less than it moves least squares. */
function medianSlope(points) {
  const slopes = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) if (points[j].x !== points[i].x) slopes.push((points[j].y - points[i].y) / (points[j].x - points[i].x));
  }
  slopes.sort((a, b) => a - b);
  return slopes.length ? slopes[Math.floor(slopes.length / 2)] : NaN;
}

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const { x, y } of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return num / den;
}

// ---------------------------------------------------------------------------------------------
// Driver

async function main() {
  if (!(MINUTES > 0)) throw new Error(`--minutes ${arg('minutes')}: a number > 0`);
  if (!(Number.isInteger(SOCKETS) && SOCKETS >= CLIENTS)) throw new Error(`--sockets ${arg('sockets')}: a whole number ≥ ${CLIENTS}`);
  if (!existsSync(new URL('../../dist/index.js', import.meta.url))) throw new Error('dist/ is missing: run `npm run build` first');
  const limit = openFileLimit();
  if (limit < SOCKETS + 256) throw new Error(`ulimit -n is ${limit}: the server needs ${SOCKETS + 256} (this script never raises limits)`);
  const durationMs = MINUTES * 60_000;
  const ticks = Math.round(durationMs / INTERVAL_MS); // at most: the run ends after MINUTES of wall time
  const started = performance.now();
  const { date, node, nproc, commit } = machine();
  console.log(`soak: ${SOCKETS.toLocaleString('en-US')} sockets × one ${PAYLOAD_BYTES}-byte broadcast every ${INTERVAL_MS} ms for ${MINUTES} min (up to ${ticks.toLocaleString('en-US')} messages)`);
  console.log(`node ${node}, nproc ${nproc}, commit ${commit}, ulimit -n ${limit}`);

  const srv = spawnChild(self, ['server'], { nodeArgs: ['--expose-gc'] });
  const clients = Array.from({ length: CLIENTS }, (_, i) => spawnChild(self, ['client', String(i)], { waitFor: 'ready' }));
  const port = await srv.ready;
  await Promise.all(clients.map((c) => c.ready));
  let closedEarly = 0;
  for (const [i, c] of clients.entries()) {
    c.child.on('message', (msg) => {
      if (msg?.socketClosed === undefined) return;
      closedEarly += 1;
      if (closedEarly <= 10) console.log(`client ${i}: a socket closed during the run (code ${msg.socketClosed})`);
    });
  }

  const share = (i) => Math.floor(SOCKETS / CLIENTS) + (i < SOCKETS % CLIENTS ? 1 : 0);
  const t0 = performance.now();
  await Promise.all(clients.map((c, i) => c.request({ cmd: 'connect', port, count: share(i), batch: BATCH }, 300_000)));
  const connectS = (performance.now() - t0) / 1000;
  const { members } = await srv.request({ cmd: 'members' });
  if (members !== SOCKETS) throw new Error(`${members} members in 'soak', expected ${SOCKETS}`);
  console.log(`connected ${SOCKETS.toLocaleString('en-US')} sockets in ${connectS.toFixed(1)} s from 127.0.0.1–127.0.0.${CLIENTS} to port ${port}`);

  const mark = loadMark([srv.child.pid, ...clients.map((c) => c.child.pid)]);
  await srv.request({ cmd: 'start', ticks, durationMs, intervalMs: INTERVAL_MS, sampleMs: SAMPLE_MS });
  let printedAt = performance.now();
  for (;;) {
    await sleep(5_000);
    const s = await srv.request({ cmd: 'status' });
    if (s.done) break;
    if (performance.now() - printedAt < 30_000) continue;
    printedAt = performance.now();
    const received = await Promise.all(clients.map((c) => c.request({ cmd: 'progress' })));
    const behind = Math.max(...received.map((r) => s.sent - r.minLast));
    console.log(
      `${(s.elapsedMs / 60_000).toFixed(1)} min: sent ${s.sent.toLocaleString('en-US')}/${ticks.toLocaleString('en-US')}, rss ${(s.rss / 2 ** 20).toFixed(1)} MiB, ` +
        `slowest socket ${behind} behind, closed ${closedEarly}`,
    );
  }
  const load = loadSince(mark);
  const report = await srv.request({ cmd: 'report' }, 60_000);
  const checks = await Promise.all(clients.map((c) => c.request({ cmd: 'check', n: report.sent, timeoutMs: DRAIN_TIMEOUT_MS }, DRAIN_TIMEOUT_MS + 10_000)));

  // Memory: RSS and heap, least squares over every sample, then without the first WARMUP_MIN.
  const points = (field, from = 0) => report.samples.filter((s) => s.t >= from).map((s) => ({ x: s.t / 60_000, y: s[field] / 1024 }));
  const rssAll = slope(points('rss'));
  const rssSteady = slope(points('rss', WARMUP_MIN * 60_000));
  const rssRobust = medianSlope(points('rss', WARMUP_MIN * 60_000));
  const heapAll = slope(points('heapUsed'));
  const heapSteady = slope(points('heapUsed', WARMUP_MIN * 60_000));
  const rssValues = report.samples.map((s) => s.rss / 2 ** 20);
  const total = checks.reduce(
    (a, c) => ({
      sockets: a.sockets + c.sockets,
      complete: a.complete + c.complete,
      gaps: a.gaps + c.gaps,
      reorders: a.reorders + c.reorders,
      closed: a.closed + c.closed,
      received: a.received + c.received,
      minReceived: Math.min(a.minReceived, c.minReceived),
    }),
    { sockets: 0, complete: 0, gaps: 0, reorders: 0, closed: 0, received: 0, minReceived: Infinity },
  );
  const expected = report.sent * SOCKETS;
  const ok = total.complete === SOCKETS && total.gaps === 0 && total.reorders === 0 && total.closed === 0 && total.received === expected;
  const kb = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} KB/min`;
  const summary = [
    `---- soak summary ----`,
    `command: npm run bench:soak -- --minutes ${MINUTES}${SOCKETS !== 5000 ? ` --sockets ${SOCKETS}` : ''}`,
    `date: ${date}   node: ${node}   nproc: ${nproc}   commit: ${commit}`,
    `setup: ${SOCKETS.toLocaleString('en-US')} sockets from ${CLIENTS} client processes (127.0.0.1–127.0.0.${CLIENTS}) to one Vela server on 127.0.0.1;`,
    `       @WebSocket('${PATH}') gateway, defaults (heartbeat 30 s, sessions on), init joins 'soak', @OnInfo returns reply(msg.payload);`,
    `       app.pubsub.broadcast('soak', 'tick', payload) every ${INTERVAL_MS} ms from the server's own timer, ${PAYLOAD_BYTES}-byte payloads`,
    `run: ${report.sent.toLocaleString('en-US')} broadcasts in ${(report.elapsedMs / 60_000).toFixed(2)} min, ${((report.sent * 1000) / report.elapsedMs).toFixed(1)}/s (interval actual: median ${report.interval.p50.toFixed(1)} ms, ` +
      `p99 ${report.interval.p99.toFixed(1)} ms, max ${report.interval.max.toFixed(0)} ms); event-loop delay p99 ${report.loopDelay.p99.toFixed(1)} ms, max ${report.loopDelay.max.toFixed(0)} ms; ` +
      `server CPU ${(report.cpuPercent).toFixed(0)}% of one core; this bench's processes ${load.oursCores.toFixed(2)} CPUs, ` +
      `kernel threads (loopback TCP) ${load.kernelCores.toFixed(2)}, other processes on the machine ${load.foreignCores.toFixed(2)} of ${nproc}`,
    `delivery: ${total.received.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')} messages (${report.sent} × ${SOCKETS}); ` +
      `${total.complete.toLocaleString('en-US')}/${SOCKETS.toLocaleString('en-US')} sockets got every message 1…${report.sent} in order; ` +
      `gaps ${total.gaps}, reorders ${total.reorders}, sockets closed ${total.closed}; ` +
      `the last message reached the last socket ${((Math.max(...checks.map((c) => c.lastArrivalNs)) - report.lastSentNs) / 1e6).toFixed(1)} ms after it was broadcast`,
    `RSS: ${rssValues[0].toFixed(1)} MiB at the first broadcast → ${rssValues.at(-1).toFixed(1)} MiB at the last (min ${Math.min(...rssValues).toFixed(1)}, max ${Math.max(...rssValues).toFixed(1)}), ${report.samples.length} samples every ${SAMPLE_MS / 1000} s`,
    `RSS slope (least squares): ${kb(rssAll)} over the whole run; ${kb(rssSteady)} after the first ${WARMUP_MIN} min (Theil–Sen, same span: ${kb(rssRobust)})`,
    `heapUsed slope: ${kb(heapAll)} whole run; ${kb(heapSteady)} after the first ${WARMUP_MIN} min`,
    `heap after a forced GC: ${(report.gcHeap.before / 2 ** 20).toFixed(1)} MiB before the first broadcast → ${(report.gcHeap.after / 2 ** 20).toFixed(1)} MiB after the last ` +
      `(${(((report.gcHeap.after - report.gcHeap.before) / 1024) / (report.elapsedMs / 60_000)).toFixed(1)} KB/min)`,
    `connect: ${connectS.toFixed(1)} s; total run time ${((performance.now() - started) / 1000).toFixed(0)} s`,
    `result: ${ok ? 'PASS — every connected member received every message, in order' : 'FAIL — see delivery above'}`,
  ];
  console.log(`\n${summary.join('\n')}`);
  if (OUT) writeFileSync(OUT, `${summary.join('\n')}\n\nsamples (t ms, rss, heapUsed): ${JSON.stringify(report.samples.map((s) => [s.t, s.rss, s.heapUsed]))}\n`);
  await Promise.all([srv.stop(), ...clients.map((c) => c.stop())]);
  process.exit(ok ? 0 : 1);
}

// ---------------------------------------------------------------------------------------------
// Server

async function server() {
  process.on('SIGTERM', () => process.exit(0));
  // bench/apps/topic.vela.ts with the gateway's defaults (heartbeat 30 s).
  const { bootstrap } = await import('vela');
  const { topicModule } = await benchApp('topic.vela');
  const AppModule = topicModule({ path: PATH, topic: 'soak' });
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const app = await bootstrap(AppModule, { port: 0, host: '127.0.0.1' });

  const state = { sent: 0, ticks: 0, startedAt: 0, done: false, samples: [], intervals: [], gcHeap: {}, cpu0: undefined, cpu: undefined };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const heapAfterGc = () => {
    global.gc();
    return process.memoryUsage().heapUsed;
  };
  const sample = () => {
    const m = process.memoryUsage();
    state.samples.push({ t: performance.now() - state.startedAt, rss: m.rss, heapUsed: m.heapUsed, external: m.external });
  };
  const percentile = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
  };

  serveParent({
    members: () => ({ members: app.pubsub.localMembers('soak').length }),
    start: ({ ticks, durationMs, intervalMs, sampleMs }) => {
      state.ticks = ticks;
      state.gcHeap.before = heapAfterGc();
      state.startedAt = performance.now();
      state.cpu0 = process.cpuUsage();
      loop.enable();
      sample();
      let last = performance.now();
      const sampler = setInterval(sample, sampleMs);
      const timer = setInterval(() => {
        const now = performance.now();
        state.intervals.push(now - last);
        last = now;
        state.sent += 1;
        state.lastSentNs = Number(process.hrtime.bigint()); // CLOCK_MONOTONIC: comparable across processes
        void app.pubsub.broadcast('soak', 'tick', payloadFor(state.sent));
        if (state.sent < ticks && now - state.startedAt < durationMs) return;
        clearInterval(timer);
        clearInterval(sampler);
        sample();
        loop.disable();
        state.cpu = process.cpuUsage(state.cpu0);
        state.elapsedMs = performance.now() - state.startedAt;
        // After the clients drained: give the last writes a moment to leave before measuring the heap.
        setTimeout(() => {
          state.gcHeap.after = heapAfterGc();
          state.done = true;
        }, 2_000);
      }, intervalMs);
      return {};
    },
    status: () => ({ sent: state.sent, done: state.done, rss: process.memoryUsage().rss, elapsedMs: performance.now() - state.startedAt }),
    report: () => ({
      sent: state.sent,
      lastSentNs: state.lastSentNs,
      elapsedMs: state.elapsedMs,
      samples: state.samples,
      gcHeap: state.gcHeap,
      interval: { p50: percentile(state.intervals, 50), p99: percentile(state.intervals, 99), max: Math.max(...state.intervals) },
      loopDelay: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      cpuPercent: ((state.cpu.user + state.cpu.system) / 1000 / state.elapsedMs) * 100,
    }),
  });
  process.stdout.write(`port=${app.server.address().port}\n`);
}

// ---------------------------------------------------------------------------------------------
// Clients

async function client(index) {
  const { WebSocket } = await import('ws');
  const localAddress = `127.0.0.${1 + index}`;
  /** Per socket: the last sequence number seen, and how many messages it got. */
  let last = new Int32Array(0);
  let count = new Int32Array(0);
  let gaps = 0;
  let reorders = 0;
  let closed = 0;
  let sockets = [];
  /** The highest sequence number seen on any socket, and when (process.hrtime) it last arrived. */
  let top = 0;
  let topArrivalNs = 0;

  const open = (port, slot) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${PATH}`, { perMessageDeflate: false, localAddress });
      ws.once('open', () => {
        ws.removeListener('error', reject);
        ws.on('error', () => {});
        ws.on('message', (data) => {
          let k = 0;
          for (let i = 0; i < 8; i++) k = k * 10 + (data[i] - 48);
          const expected = last[slot] + 1;
          if (k === expected) {
            last[slot] = k;
          } else if (k > expected) {
            gaps += k - expected;
            last[slot] = k;
          } else {
            reorders += 1;
          }
          count[slot] += 1;
          if (k >= top) {
            top = k;
            topArrivalNs = Number(process.hrtime.bigint());
          }
        });
        ws.once('close', (code) => {
          closed += 1;
          if (process.connected) process.send({ socketClosed: code });
        });
        resolve(ws);
      });
      ws.once('error', reject);
    });

  serveParent({
    async connect({ port, count: n, batch }) {
      last = new Int32Array(n);
      count = new Int32Array(n);
      for (let start = 0; start < n; start += batch) {
        const opening = [];
        for (let i = start; i < Math.min(start + batch, n); i++) opening.push(open(port, i));
        sockets.push(...(await Promise.all(opening)));
      }
      return {};
    },
    progress: () => ({ minLast: last.reduce((m, v) => Math.min(m, v), Infinity) }),
    async check({ n, timeoutMs }) {
      const t0 = performance.now();
      while (last.some((v) => v < n) && performance.now() - t0 < timeoutMs && closed === 0) await sleep(20);
      let complete = 0;
      let received = 0;
      let minReceived = Infinity;
      for (let i = 0; i < last.length; i++) {
        if (last[i] === n && count[i] === n) complete += 1;
        received += count[i];
        minReceived = Math.min(minReceived, count[i]);
      }
      return { sockets: last.length, complete, gaps, reorders, closed, received, minReceived, lastArrivalNs: top === n ? topArrivalNs : NaN };
    },
  });
}
