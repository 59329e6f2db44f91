// Churn: --cycles WebSocket connect/close cycles (default 20,000), --concurrency at a time (default
// 50), against one server, which reports its heap after a full GC at every --checkpoint cycles. The
// reliability battery runs a shorter churn (test/reliability/ws-load.test.ts, case 23) to stay fast;
// this is the full one. Not part of CI: `npm run bench:churn -- [--cycles N]
// [--sessions cookie|fresh|off]` (builds dist/ and bench/apps first).
//
// Processes (on 127.0.0.1, both killed when this one ends; bench/harness.mjs):
//   driver   this script: the clients. Each cycle opens a socket to /churn and ends it one of three
//            ways in turn: the client closes (1000), the client cuts the TCP connection, or the
//            client sends 'bye' and the server stops it (4000).
//   server   `churn.mjs server MODE` (--expose-gc): a Vela app with @WebSocket('/churn', { idleTimeout:
//            60 s }) whose init joins 'room' and a channel of its own, and counts terminates. It
//            answers `measure` with heapUsed/external after two full GCs, the Hub's map sizes, its
//            open sockets, and every process 'warning' it saw (MaxListenersExceededWarning…).
// Sessions: `cookie` (default) every client presents the session cookie the first one got, as a
// browser reconnecting does; `fresh` none (a new session each, which the memory store keeps until it
// expires: it shows that cost); `off` the app runs with sessions: false.
//
// Verdict (exit code 1 if any fails): heap after GC back within 5 % of the post-warm-up baseline,
// no process warning, every Hub map empty, no socket left, one terminate per connection.
import { performance } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { spawnChild, serveParent, machine, benchApp } from '../harness.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const CYCLES = Number(arg('cycles', '20000'));
const CONCURRENCY = Number(arg('concurrency', '50'));
const WARMUP = Number(arg('warmup', '3000'));
const CHECKPOINT = Number(arg('checkpoint', '2000'));
const SESSIONS = arg('sessions', 'cookie');
const PATH = '/churn';
const TOLERANCE = 0.05;

const self = new URL(import.meta.url).pathname;

if (process.argv[2] === 'server') await server(process.argv[3]);
else await main();

async function main() {
  for (const [name, value] of Object.entries({ cycles: CYCLES, concurrency: CONCURRENCY, checkpoint: CHECKPOINT })) {
    if (!(Number.isInteger(value) && value > 0)) throw new Error(`--${name} ${value}: a whole number > 0`);
  }
  if (!['cookie', 'fresh', 'off'].includes(SESSIONS)) throw new Error(`--sessions ${SESSIONS}: cookie, fresh or off`);
  if (!existsSync(new URL('../../dist/index.js', import.meta.url))) throw new Error('dist/ is missing: run `npm run build` first');
  const { WebSocket } = await import('ws');
  const { node, nproc, commit } = machine();
  console.log(`churn: ${CYCLES.toLocaleString('en-US')} connect/close cycles, ${CONCURRENCY} at a time, after ${WARMUP} to warm up; sessions: ${SESSIONS}`);
  console.log(`node ${node}, nproc ${nproc}, commit ${commit}`);

  const srv = spawnChild(self, ['server', SESSIONS], { nodeArgs: ['--expose-gc'] });
  const port = await srv.ready;
  const url = `ws://127.0.0.1:${port}${PATH}`;

  let cookie;
  if (SESSIONS === 'cookie') {
    cookie = await new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.once('upgrade', (res) => resolve(String(res.headers['set-cookie']).split(';')[0]));
      ws.once('open', () => ws.close());
      ws.once('error', reject);
    });
  }
  let opened = cookie ? 1 : 0;

  const cycle = (i) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, headers: cookie ? { cookie } : {} });
      ws.once('error', reject);
      ws.once('close', resolve);
      ws.once('open', () => {
        if (i % 3 === 0) ws.close(1000);
        else if (i % 3 === 1) ws.terminate();
        else ws.send('bye');
      });
    });
  const churn = async (count) => {
    for (let done = 0; done < count; done += CONCURRENCY) {
      const batch = Math.min(CONCURRENCY, count - done);
      await Promise.all(Array.from({ length: batch }, (_, i) => cycle(opened + i)));
      opened += batch;
    }
  };
  const measure = () => srv.request({ cmd: 'measure', opened }, 60_000);

  await churn(WARMUP);
  const baseline = await measure();
  const points = [{ cycles: 0, heapUsed: baseline.heapUsed }];
  console.log(`baseline after ${WARMUP} warm-up cycles: heap ${mib(baseline.heapUsed)}, external ${mib(baseline.external)}`);
  const started = performance.now();
  for (let done = 0; done < CYCLES; ) {
    const step = Math.min(CHECKPOINT, CYCLES - done);
    await churn(step);
    done += step;
    const m = await measure();
    points.push({ cycles: done, heapUsed: m.heapUsed });
    const rate = done / ((performance.now() - started) / 1000);
    console.log(
      `${String(done).padStart(6)} cycles: heap ${mib(m.heapUsed)} (${pct(m.heapUsed, baseline.heapUsed)}), external ${mib(m.external)}, ` +
        `sockets ${m.sockets}, hub ${JSON.stringify(m.hub)}, ${Math.round(rate)} cycles/s`,
    );
  }
  const elapsed = (performance.now() - started) / 1000;
  const last = await measure();
  await srv.stop();

  const growth = (last.heapUsed - baseline.heapUsed) / baseline.heapUsed;
  const perCycle = (last.heapUsed - baseline.heapUsed) / CYCLES;
  const emptyHub = Object.values(last.hub).every((size) => size === 0);
  const checks = [
    [`heap after GC within ${TOLERANCE * 100} % of baseline`, Math.abs(growth) < TOLERANCE, `${mib(baseline.heapUsed)} → ${mib(last.heapUsed)} (${pct(last.heapUsed, baseline.heapUsed)})`],
    ['no process warning (MaxListenersExceededWarning…)', last.warnings.length === 0, last.warnings.join('; ') || 'none'],
    ['every Hub map empty', emptyHub, JSON.stringify(last.hub)],
    ['no socket left on the server', last.sockets === 0, String(last.sockets)],
    ['one terminate per connection', last.terminated === opened && last.inits === opened, `${last.inits} inits, ${last.terminated} terminates, ${opened} opened`],
  ];
  console.log(`\n${CYCLES.toLocaleString('en-US')} cycles in ${elapsed.toFixed(1)} s (${Math.round(CYCLES / elapsed)}/s); heap ${perCycle >= 0 ? '+' : ''}${perCycle.toFixed(1)} B per cycle (checkpoints: ${points.map((p) => mib(p.heapUsed)).join(', ')})`);
  for (const [what, ok, detail] of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}: ${detail}`);
  process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
}

function mib(bytes) {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

function pct(value, base) {
  return `${value >= base ? '+' : ''}${(((value - base) / base) * 100).toFixed(2)} %`;
}

async function server(mode) {
  process.on('SIGTERM', () => process.exit(0));
  const warnings = [];
  process.on('warning', (warning) => warnings.push(`${warning.name}: ${warning.message}`));
  // bench/apps/churn.vela.ts: sockets join 'room' and one topic of their own, and leave on 'bye'.
  const { bootstrap, memoryPubSub } = await import('vela');
  const { AppModule, counts } = await benchApp('churn.vela');
  // The node an adapter is started with is the app's Hub: how its map sizes are reached.
  const adapter = memoryPubSub();
  let hub;
  const wrapped = { ...adapter, name: adapter.name, start: (node) => ((hub = node), adapter.start(node)) };
  const app = await bootstrap(AppModule, { port: 0, host: '127.0.0.1', pubsub: wrapped, ...(mode === 'off' ? { sessions: false } : {}) });

  const sockets = () => new Promise((resolve, reject) => app.server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
  serveParent({
    measure: async ({ opened }) => {
      // Every connection the driver saw close has run terminate (its server side may lag a little).
      const deadline = Date.now() + 10_000;
      while (counts.terminated < opened && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      global.gc();
      global.gc();
      const { heapUsed, external } = process.memoryUsage();
      return { heapUsed, external, hub: hub.sizes, sockets: await sockets(), warnings, ...counts };
    },
  });
  process.stdout.write(`port=${app.server.address().port}\n`);
}
