// Server memory per idle WebSocket: a Vela echo gateway vs a raw ws server on a plain Koa server
// (bench/ws-server.mjs, run with --expose-gc). Run with `npm run bench:ws-memory` (builds first).
//
// Default mode (`--sockets N`, default 10 000): each run starts a fresh server process, opens and
// closes WARMUP sockets (so code paths and lazy allocations that are paid once are not charged to
// sockets), reads RSS and heapUsed after gc, opens N idle sockets from this process (spread over
// source addresses 127.0.0.1…127.0.0.K so no single address runs out of ephemeral ports), reads
// them again after gc, and kills the server. Runs alternate vela, raw, vela, raw… RUNS times each;
// medians are reported. Vela's heartbeat is left at its default, 30 s: every run checks the server
// is younger than that at its last reading and that no client saw a ping. A pair of runs during which
// other processes kept more than FOREIGN_LIMIT CPUs busy (bench/harness.mjs loadMark) is marked !
// and left out of the medians.
//
// `--max` (`npm run bench:max-sockets`): how many idle sockets one Vela server process holds on this
// machine, aiming at MAX_TARGET. The server and the client processes are started under
// `prlimit --nofile=N:N` with N as high as the machine lets (the hard limit, unless this process may
// raise it); clients are separate processes, each holding at most its own limit's worth of sockets,
// from source addresses 127.0.0.1…127.0.0.20. Sockets are opened in batches, kept open, with a
// reading (RSS and heap after gc, a ping round trip on every socket) at 10k, 20k, 50k, 100k and
// where the climb stops: at MAX_TARGET, at the first batch the server or the clients refuse (the
// errors are counted and named), when the machine's available memory falls under MIN_AVAILABLE, or
// at MAX_CLIMB_MS. `--kind raw` climbs with the raw ws server instead.
import { performance } from 'node:perf_hooks';
import { readFileSync, readdirSync } from 'node:fs';
import { WebSocket } from 'ws';
import { spawnChild, serveParent, median, machine, openFileLimit, sleep, fdLimitFor, openManyIdle, openCounted, closeAll, loadMark, loadSince, foreignLoadLine } from './harness.mjs';

const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const SOCKETS = Number(arg('sockets') ?? 10_000);
const WARMUP = 200;
const RUNS = 5; // per server
const PER_ADDRESS = 2_000; // sockets per source address 127.0.0.X
const ADDRESSES = Math.max(1, Math.ceil(SOCKETS / PER_ADDRESS));
const BATCH = 250; // sockets opened concurrently
const SETTLE_MS = 500; // after the last open, before the reading
const HEARTBEAT_MS = 30_000; // Vela's default, left as is

// --max
const MAX_TARGET = 100_000;
const CHECKPOINTS = [10_000, 20_000, 50_000, 100_000];
const MAX_ADDRESSES = 20;
const MAX_BATCH = 500;
const FD_HEADROOM = 512;
const MIN_AVAILABLE = 2 * 2 ** 30; // stop climbing when MemAvailable falls under 2 GiB
const MAX_CLIMB_MS = 8 * 60_000;

const self = new URL(import.meta.url).pathname;
const serverScript = new URL('./ws-server.mjs', import.meta.url).pathname;
const b = (x) => `${Math.round(x).toLocaleString('en-US')} B`;
const n = (x) => x.toLocaleString('en-US');
const mib = (x) => (x / 1024 / 1024).toFixed(1);
const FOREIGN_LIMIT = 0.3; // CPUs busy with other processes' work during a run that make its pair unusable (as in ws-echo)


// ---------------------------------------------------------------------------------------------
// Default mode: bytes per idle socket, vela vs raw

let pings = 0; // pings the server sent to our sockets (Vela's heartbeat)
const idle = { addresses: ADDRESSES, batch: BATCH, onPing: () => (pings += 1) };

if (process.argv[2] === 'client') await climbClient(Number(process.argv[3]));
else {
  if (process.argv.includes('--max')) await climb(arg('kind') ?? 'vela');
  else await perSocket();
}


async function run(kind) {
  const server = spawnChild(serverScript, [kind], { nodeArgs: ['--expose-gc'] });
  let sockets = [];
  try {
    const port = await server.ready;
    const mark = loadMark([server.child.pid]);
    const pingsBefore = pings;
    await closeAll(await openManyIdle(port, WARMUP, idle));
    await sleep(200);
    const before = await server.request({ cmd: 'mem' });
    const t0 = performance.now();
    sockets = await openManyIdle(port, SOCKETS, idle);
    const openMs = performance.now() - t0;
    await sleep(SETTLE_MS);
    const after = await server.request({ cmd: 'mem' });
    const stillOpen = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
    if (stillOpen !== SOCKETS) throw new Error(`${kind}: only ${stillOpen} of ${SOCKETS} sockets were open at the reading`);
    if (after.upgrades - before.upgrades !== SOCKETS) {
      throw new Error(`${kind}: the server saw ${after.upgrades - before.upgrades} upgrades, expected ${SOCKETS}`);
    }
    return {
      rss: (after.rss - before.rss) / SOCKETS,
      heap: (after.heapUsed - before.heapUsed) / SOCKETS,
      heapTotal: (after.heapTotal - before.heapTotal) / SOCKETS,
      external: (after.external - before.external) / SOCKETS,
      baseRss: before.rss,
      baseHeap: before.heapUsed,
      openMs,
      uptimeMs: after.uptimeMs,
      pings: pings - pingsBefore,
      foreignCores: loadSince(mark).foreignCores,
    };
  } finally {
    await server.stop();
    await closeAll(sockets, { terminate: true });
  }
}

async function perSocket() {
  const limit = openFileLimit();
  if (!(limit >= SOCKETS + WARMUP + 256)) {
    throw new Error(
      `ulimit -n is ${limit}; this mode needs ${SOCKETS + WARMUP + 256} open files per process (client and server). ` +
        `Lower --sockets, or see --max, which raises the limit for its own processes where it can.`,
    );
  }
  const started = performance.now();
  const { date, node, nproc, commit } = machine();
  console.log(
    `ws memory: ${n(SOCKETS)} idle sockets per run from 127.0.0.1–127.0.0.${ADDRESSES}, ${RUNS} runs per server alternating, fresh server each run`,
  );
  console.log(`node ${node}, nproc ${nproc}, ulimit -n ${limit}\n`);
  console.log(`run  server  RSS B/socket  heap B/socket  external B/socket  baseline RSS/heap MiB  open ${n(SOCKETS)} sockets  server age`);
  const all = { vela: [], raw: [] };
  for (let i = 1; i <= RUNS; i++) {
    for (const kind of ['vela', 'raw']) {
      const r = await run(kind);
      all[kind].push(r);
      console.log(
        `${String(i).padEnd(4)} ${kind.padEnd(6)}  ${n(Math.round(r.rss)).padStart(12)}  ${n(Math.round(r.heap)).padStart(13)}  ` +
          `${n(Math.round(r.external)).padStart(17)}  ${`${mib(r.baseRss)} / ${mib(r.baseHeap)}`.padStart(21)}  ` +
          `${`${(r.openMs / 1000).toFixed(1)} s`.padStart(12 + n(SOCKETS).length)}  ${(r.uptimeMs / 1000).toFixed(1)} s` +
          `  other load ${r.foreignCores.toFixed(2)} CPUs${r.foreignCores > FOREIGN_LIMIT ? ' ! unusable' : ''}`,
      );
    }
  }
  // A pair (run i of each) with foreign load on either side stays out while 3 usable pairs are left.
  const foreign = (i) => Math.max(all.vela[i].foreignCores, all.raw[i].foreignCores);
  const flagged = all.vela.map((_, i) => ({ round: i + 1, foreignCores: foreign(i) })).filter((f) => !(f.foreignCores <= FOREIGN_LIMIT));
  const usedAll = RUNS - flagged.length < 3;
  const keep = (_, i) => usedAll || !flagged.some((f) => f.round === i + 1);
  const results = { vela: all.vela.filter(keep), raw: all.raw.filter(keep) };

  const med = (kind, key) => median(results[kind].map((r) => r[key]));
  const range = (kind, key) => {
    const xs = results[kind].map((r) => Math.round(r[key]));
    return `${n(Math.min(...xs))}–${n(Math.max(...xs))}`;
  };
  // Paired: run i of vela against run i of raw (same minute of the machine's life).
  const pairedDiff = (key) => median(results.vela.map((v, i) => v[key] - results.raw[i][key]));
  const maxUptime = Math.max(...results.vela.map((r) => r.uptimeMs));
  const velaPings = results.vela.reduce((sum, r) => sum + r.pings, 0);
  if (velaPings > 0 || maxUptime >= HEARTBEAT_MS) {
    console.log(`\nwarning: Vela's heartbeat may have fired during a run (pings ${velaPings}, max uptime ${maxUptime} ms)`);
  }

  const summary = [
    `---- ws-memory summary (N = ${n(SOCKETS)}) ----`,
    `command: npm run bench:ws-memory${SOCKETS === 10_000 ? '' : ` -- --sockets ${SOCKETS}`}`,
    `date: ${date}   node: ${node}   nproc: ${nproc}   (shared, noisy machine: compare side by side)`,
    `commit: ${commit}`,
    `setup: ${n(SOCKETS)} idle sockets (opened, no messages, no cookie) per run; Vela @WebSocket('/ws') echo gateway (bootstrap defaults,`,
    `       sessions on) vs raw ws (noServer, perMessageDeflate false) on a plain Koa server; fresh server process`,
    `       per run with --expose-gc, readings after gc() before (after a ${WARMUP}-socket warm-up) and after opening; ${RUNS} runs each, alternating vela, raw`,
    `heartbeat: Vela default 30 s left on; it did not fire (server uptime at the last reading ≤ ${(maxUptime / 1000).toFixed(1)} s, ${velaPings} pings seen)`,
    `RSS per socket (median): vela ${b(med('vela', 'rss'))} (runs ${range('vela', 'rss')}), raw ${b(med('raw', 'rss'))} (runs ${range('raw', 'rss')}); ` +
      `difference ${b(med('vela', 'rss') - med('raw', 'rss'))} (paired median ${b(pairedDiff('rss'))}), ratio ${(med('vela', 'rss') / med('raw', 'rss')).toFixed(2)}`,
    `heap per socket (median): vela ${b(med('vela', 'heap'))} (runs ${range('vela', 'heap')}), raw ${b(med('raw', 'heap'))} (runs ${range('raw', 'heap')}); ` +
      `difference ${b(med('vela', 'heap') - med('raw', 'heap'))} (paired median ${b(pairedDiff('heap'))}), ratio ${(med('vela', 'heap') / med('raw', 'heap')).toFixed(2)}`,
    `V8 heap committed (heapTotal) per socket (median): vela ${b(med('vela', 'heapTotal'))}, raw ${b(med('raw', 'heapTotal'))}; ` +
      `external: vela ${b(med('vela', 'external'))}, raw ${b(med('raw', 'external'))}`,
    `target: vela ≤ raw + 1 KiB RSS and + 0.8 KiB heap per socket: RSS ${med('vela', 'rss') - med('raw', 'rss') <= 1024 ? 'PASS' : 'MISS'}, ` +
      `heap ${med('vela', 'heap') - med('raw', 'heap') <= 0.8 * 1024 ? 'PASS' : 'MISS'}`,
    foreignLoadLine(FOREIGN_LIMIT, flagged, RUNS, usedAll),
    `total run time: ${((performance.now() - started) / 1000).toFixed(0)} s`,
  ];
  console.log(`\n${summary.join('\n')}`);
}

// ---------------------------------------------------------------------------------------------
// --max: climb until the machine refuses

/** Resident set of another process, from /proc/PID/status (the server may have no fd left to read its own). */
function rssOf(pid) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
}

/** File descriptors another process has open right now. */
function fdsOf(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

function memAvailable() {
  try {
    return Number(/MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))[1]) * 1024;
  } catch {
    return Infinity;
  }
}

async function climb(kind) {
  const started = performance.now();
  const { date, node, nproc, commit, ramGiB, kernel } = machine();
  const fd = fdLimitFor(MAX_TARGET + FD_HEADROOM);
  const perClient = Math.max(1_000, fd.limit - FD_HEADROOM);
  const serverCap = fd.limit; // one fd per socket, plus a handful the process holds anyway
  const portRange = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  console.log(`max sockets (${kind}): climbing towards ${n(MAX_TARGET)} idle sockets in one server process`);
  console.log(`node ${node}, nproc ${nproc}, RAM ${ramGiB} GiB, kernel ${kernel}, commit ${commit}`);
  console.log(`fd limit: ${fd.note}`);
  console.log(
    `clients: up to ${n(perClient)} sockets per client process, source addresses 127.0.0.1–127.0.0.${MAX_ADDRESSES} ` +
      `(ephemeral ports ${portRange.join('–')}: ${n(portRange[1] - portRange[0] + 1)} per address)\n`,
  );

  const server = spawnChild(serverScript, [kind], { nodeArgs: ['--expose-gc', '--max-old-space-size=8192'], fdLimit: fd.limit });
  const port = await server.ready;
  const serverDied = new Promise((resolve) => server.child.once('exit', (code, signal) => resolve(`the server exited (${code ?? signal})`)));
  const base = { ...(await server.request({ cmd: 'mem' })), rss: rssOf(server.child.pid) };
  const clients = [];
  let opened = 0; // sockets the clients report open
  const readings = [];
  let stop;
  const errors = {}; // client-side open errors by message
  const tStart = performance.now();

  const reading = async (label) => {
    await sleep(300);
    const mem = { ...(await server.request({ cmd: 'mem' }, 120_000)), rss: rssOf(server.child.pid) };
    const conns = await server.request({ cmd: 'conns' });
    const pinged = await Promise.all(clients.map((c) => c.request({ cmd: 'ping' }, 60_000)));
    const open = pinged.reduce((sum, p) => sum + p.open, 0);
    const ponged = pinged.reduce((sum, p) => sum + p.ponged, 0);
    const r = {
      label,
      sockets: conns.count,
      open,
      ponged,
      rss: mem.rss,
      heap: mem.heapUsed,
      rssPer: (mem.rss - base.rss) / conns.count,
      heapPer: (mem.heapUsed - base.heapUsed) / conns.count,
      acceptErrors: conns.acceptErrors,
      fds: fdsOf(server.child.pid),
      s: (performance.now() - tStart) / 1000,
    };
    readings.push(r);
    console.log(
      `${label.padEnd(10)} server holds ${n(r.sockets).padStart(7)} sockets (clients: ${n(open)} open, ${n(ponged)} answered a ping)  ` +
        `RSS ${mib(r.rss).padStart(7)} MiB  heap ${mib(r.heap).padStart(7)} MiB  per socket: RSS ${b(r.rssPer)}, heap ${b(r.heapPer)}  ` +
        `server fds ${n(r.fds)}  at ${r.s.toFixed(0)} s`,
    );
    return r;
  };

  const nextCheckpoint = () => CHECKPOINTS.find((c) => c > opened) ?? MAX_TARGET;
  try {
    while (!stop) {
      if (opened >= MAX_TARGET) {
        stop = `reached the target, ${n(MAX_TARGET)} sockets`;
        break;
      }
      if (performance.now() - tStart > MAX_CLIMB_MS) {
        stop = `time limit: ${MAX_CLIMB_MS / 60_000} min`;
        break;
      }
      if (memAvailable() < MIN_AVAILABLE) {
        stop = `the machine's available memory fell under ${mib(MIN_AVAILABLE)} MiB`;
        break;
      }
      // The client that takes the next batch: the last one, or a new one once it is full.
      let client = clients.at(-1);
      if (!client || client.held >= perClient) {
        const c = spawnChild(self, ['client', String(clients.length)], { waitFor: 'ready', fdLimit: fd.limit });
        await c.ready;
        client = Object.assign(c, { held: 0 });
        clients.push(client);
      }
      const checkpoint = nextCheckpoint();
      const count = Math.min(MAX_BATCH, perClient - client.held, checkpoint - opened);
      const result = await Promise.race([
        client.request({ cmd: 'open', port, count, first: opened }, 120_000),
        serverDied.then((why) => ({ died: why })),
      ]);
      if (result.died) {
        stop = result.died;
        break;
      }
      client.held += result.ok;
      opened += result.ok;
      for (const [message, times] of Object.entries(result.errors)) errors[message] = (errors[message] ?? 0) + times;
      if (result.ok < count) {
        stop = `${n(count - result.ok)} of a batch of ${n(count)} failed to open at ${n(opened)} sockets`;
        break;
      }
      if (opened === checkpoint) await reading(`${n(checkpoint / 1000)}k`);
    }
    const final = server.child.exitCode === null && server.child.signalCode === null ? await reading('final') : undefined;
    const held = final ? Math.min(final.sockets, final.ponged) : 0;
    const acceptErrors = final?.acceptErrors ?? {};
    const accept = Object.entries(acceptErrors).map(([code, times]) => `${code} × ${times}`).join(', ');
    const clientErrors = Object.entries(errors).map(([message, times]) => `${message} × ${times}`).join(', ');
    // Out of fds: accept() fails with EMFILE; libuv then accepts each pending connection on a
    // spare fd and closes it at once (the client sees ECONNRESET), and Node reports nothing unless
    // that trick fails too (then 'error' on the server, counted as acceptErrors).
    const outOfFds = final && final.fds >= serverCap - 1;
    const why = outOfFds
      ? `${stop}: the server was at its open-file limit (${n(final.fds)} fds open of ${n(serverCap)}: ${n(held)} sockets + the listening socket, ` +
        `stdio, IPC, epoll and the other fds every node process holds); accept() fails with EMFILE and libuv closes the excess connections ` +
        `(clients see ECONNRESET${accept ? `; server 'error' events: ${accept}` : ''}). One socket is one fd, so one process cannot hold more ` +
        `than its limit: ${fd.note}`
      : stop;
    const table = readings.map(
      (r) =>
        `  ${r.label.padEnd(6)} ${n(r.sockets).padStart(7)} sockets: RSS ${mib(r.rss)} MiB, heap ${mib(r.heap)} MiB; per socket RSS ${b(r.rssPer)}, heap ${b(r.heapPer)}`,
    );
    await Promise.all(clients.map((c) => c.stop()));
    await server.stop();
    const summary = [
      `---- max-sockets summary (${kind}) ----`,
      `command: npm run bench:max-sockets${kind === 'vela' ? '' : ` -- --kind ${kind}`}`,
      `date: ${date}   node: ${node}   nproc: ${nproc}   RAM: ${ramGiB} GiB   kernel: ${kernel}`,
      `commit: ${commit}`,
      `setup: one ${kind === 'vela' ? "Vela server (@WebSocket('/ws') echo gateway, bootstrap defaults)" : 'raw ws server on Koa'} with --expose-gc, ` +
        `${clients.length} client process(es), source addresses 127.0.0.1–127.0.0.${MAX_ADDRESSES}, batches of ${MAX_BATCH}, idle sockets; ` +
        `open-file limit of every process: ${n(fd.limit)}`,
      `largest count held: ${n(held)} sockets in one process (server's count, every one answered a ping)`,
      `stopped: ${why}`,
      ...(clientErrors ? [`client-side errors of the last batch: ${clientErrors}`] : []),
      `memory at the readings (from a baseline of RSS ${mib(base.rss)} MiB, heap ${mib(base.heapUsed)} MiB with no socket):`,
      ...table,
      ...(final && held < MAX_TARGET
        ? [
            `projection: at the last reading's ${b(final.rssPer)} RSS per socket, ${n(MAX_TARGET)} sockets would take about ` +
              `${mib(base.rss + final.rssPer * MAX_TARGET)} MiB RSS (${machine().ramGiB} GiB in the machine): memory is not what stops the climb here`,
          ]
        : []),
      `total run time: ${((performance.now() - started) / 1000).toFixed(0)} s`,
    ];
    console.log(`\n${summary.join('\n')}`);
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await server.stop();
  }
}

/** A --max client: opens the sockets it is told to, keeps them, and pings them all on request. */
async function climbClient(index) {
  const sockets = [];
  serveParent({
    async open({ port, count, first }) {
      const localAddress = (i) => `127.0.0.${1 + ((first + i) % MAX_ADDRESSES)}`;
      return { ...(await openCounted(`ws://127.0.0.1:${port}/ws`, count, localAddress, (ws) => sockets.push(ws))), index };
    },
    async ping() {
      const open = sockets.filter((ws) => ws.readyState === WebSocket.OPEN);
      const answered = await Promise.all(
        open.map(
          (ws) =>
            new Promise((resolve) => {
              const timer = setTimeout(() => resolve(false), 20_000);
              ws.once('pong', () => (clearTimeout(timer), resolve(true)));
              ws.ping();
            }),
        ),
      );
      return { open: open.length, ponged: answered.filter(Boolean).length };
    },
  });
}
