// Cross-node fan-out over Redis: 2 nodes × 1,000 sockets, N 100-byte messages broadcast on node A;
// what reaches node B's sockets went A → Redis → B. Vela (redisPubSub, one bus channel per node)
// against socket.io + @socket.io/redis-adapter doing the same fan-out, in the same run.
// Run with `npm run bench:cross-node` (builds first). Needs Redis at 127.0.0.1:6379 (REDIS_URL to change).
//
// Processes (all on 127.0.0.1, all killed when this one ends, normally or not):
//   driver   this script: opens no socket to the servers, commands everyone over IPC, keeps the clock
//   servers  `cross-node.mjs server vela A|B <prefix>`: bootstrap(AppModule, { port: 0, host: '127.0.0.1',
//            pubsub: redisPubSub({ url, keyPrefix }), sessions: false }) with a
//            bench/apps/topic.vela.ts: @WebSocket('/room', { heartbeat: 0 }) gateway, PubSub injected, init joins 'room', @OnInfo
//            returns reply(msg.payload); the broadcast is app.pubsub.broadcast('room', 't', payload).
//            `cross-node.mjs server sio A|B <prefix>`: socket.io Server on a plain http server,
//            transports ['websocket'], @socket.io/redis-adapter createAdapter(pub, sub, { key: prefix })
//            on two ioredis connections; on 'connection' socket.join('room'); the broadcast is
//            io.to('room').emit('t', payload).
//   clients  `cross-node.mjs client I` × 4: clients 0–1 hold 500 sockets each to node A, clients 2–3 to
//            node B, for both frameworks (`ws` sockets to Vela, socket.io-client sockets with
//            transports ['websocket'] and forceNew to socket.io). Both socket sets stay open all run.
//
// One measurement (one framework, one mode): gc on both servers and every client, a short settle;
// every client is told which messages to expect; both servers mark process.cpuUsage(); node A builds
// N payloads, stamps tStart (process.hrtime, CLOCK_MONOTONIC, the same clock in every process) and
// broadcasts them, either
//   burst   in one synchronous loop (the issue's measurement), or
//   paced   one per event-loop turn (setImmediate between broadcasts): the same traffic without the
//           burst, which shows how much each side's numbers owe to how it orders a burst's writes.
// Each client stamps the moment its last expected arrival came (N × its sockets) and reports it over
// IPC, so IPC latency back to the driver is not counted.
//   cross-node deliveries/s = N × 1,000 / (tStart → last arrival on B's sockets)
//   local deliveries/s      = N × 1,000 / (tStart → last arrival on A's sockets)
//   server CPU per delivery = process.cpuUsage() of A (resp. B) from the mark until every client
//                             reported / (N × 1,000 deliveries on that node)
//   TCP segments per delivery = Δ OutSegs of /proc/net/snmp (whole machine) / (2 × N × 1,000)
// Each round: burst Vela, burst socket.io, paced Vela, paced socket.io (A B A B); WARMUP rounds first
// (printed, not counted). A round during which other processes (not ours, not Redis) kept more than
// FOREIGN_LIMIT CPUs busy (bench/harness.mjs loadMark) is marked ! and left out of the medians. On this shared 2-core machine only ratios from the same round mean anything:
// the summary gives medians and the spread of per-round Vela/socket.io ratios.
//
// Why two modes: both write one frame per delivery (one writev each), but not in the same order.
// Vela delivers message by message (message 1 to every socket, then message 2…). engine.io holds a
// socket's next packets while its previous write's callback is pending (a tick), so in a burst
// socket.io writes message 1 to every socket, then each socket's remaining messages back to back;
// consecutive small writes to one TCP socket are cheaper for the kernel (autocorking, fewer segments
// and wake-ups on the receiving side), which shows in sys time and in the clients' CPU.
//
// Heartbeats are off on both sides (Vela heartbeat 0; socket.io pingInterval longer than the run), so
// no ping sweep lands in a measurement. Each run uses its own key prefixes; at the end (also on an
// error or Ctrl-C) the keys under them are deleted, and only those.
//
// BENCH_CPU_PROF=dir writes a V8 CPU profile of each server there (--cpu-prof); profiling slows
// the JS side, so the numbers of such a run are not the benchmark's.
import { performance } from 'node:perf_hooks';
import { existsSync, readFileSync } from 'node:fs';
import { spawnChild, serveParent, median, machine, openFileLimit, sleep, loadMark, loadSince, foreignLoadLine, payloadFor as payloadForSeq, benchApp, listen, cpuCommands, tcpOutSegs } from './harness.mjs';
import { REDIS_URL, openRedis, flushKeys, flushOnExit, redisServerPids } from './redis-keys.mjs';

const SOCKETS_PER_NODE = 1_000;
const CLIENTS_PER_NODE = 2; // client processes per node; each holds SOCKETS_PER_NODE / 2 sockets per framework
const MESSAGES = 100; // N: messages per measurement, broadcast on node A
const MODES = ['burst', 'paced']; // burst: N broadcasts in one synchronous loop; paced: one per event-loop turn
const PAYLOAD_BYTES = 100;
const WARMUP = 1; // rounds, not counted
const ROUNDS = 9; // counted rounds (fewer only if the time budget runs out, never fewer than MIN_ROUNDS)
const MIN_ROUNDS = 5;
const FOREIGN_LIMIT = 0.3; // CPUs busy with other processes' work during a round that make it unusable (as in ws-echo)
const SOFT_BUDGET_MS = 190_000; // no new round starts after this, once MIN_ROUNDS are done
const HARD_LIMIT_MS = 280_000; // the whole run fails (and cleans up) past this
const BATCH = 100; // sockets each client opens concurrently
const SETTLE_MS = 150; // after gc, before the measurement
const DELIVERY_TIMEOUT_MS = 30_000;
const FD_HEADROOM = 256;
const PATH = '/room';
const ROOM = 'room';
const SIO_PING_INTERVAL_MS = 3_600_000; // longer than the run: no socket.io heartbeat during it

const self = new URL(import.meta.url).pathname;
const KINDS = ['vela', 'sio'];
const LABEL = { vela: 'Vela', sio: 'socket.io' };

if (process.argv[2] === 'server') await server(process.argv[3], process.argv[4], process.argv[5]);
else if (process.argv[2] === 'client') await client(Number(process.argv[3]));
else await main();

/** `00000042|vela-cross-node-…`: PAYLOAD_BYTES ASCII bytes that carry their sequence number. */
function payloadFor(k) {
  return payloadForSeq(k, 'cross-node', PAYLOAD_BYTES);
}

// ---------------------------------------------------------------------------------------------
// Driver

async function main() {
  if (!existsSync(new URL('../dist/index.js', import.meta.url))) throw new Error('dist/ is missing: run `npm run build` first');
  const started = performance.now();
  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const prefixes = { vela: `vela-bench-xnode-${runId}`, sio: `sio-bench-xnode-${runId}` };

  // Whatever happens from here on, this run's keys go. The harness kills the children first (its
  // 'exit' listener was registered before this one), then a short synchronous child deletes the keys.
  let flushed = false;
  flushOnExit('cross-node', () => [prefixes.vela, prefixes.sio], () => flushed);
  setTimeout(() => {
    throw new Error(`cross-node: the run exceeded ${HARD_LIMIT_MS / 1000} s; stopped`);
  }, HARD_LIMIT_MS).unref();

  let redis;
  try {
    redis = await openRedis();
  } catch (error) {
    throw new Error(`cannot reach Redis at ${REDIS_URL} (${error.message}): start it, or set REDIS_URL`);
  }
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';

  const perClient = SOCKETS_PER_NODE / CLIENTS_PER_NODE;
  const limit = openFileLimit();
  const needServer = SOCKETS_PER_NODE + FD_HEADROOM;
  const needClient = 2 * perClient + FD_HEADROOM;
  if (!(limit >= Math.max(needServer, needClient))) {
    throw new Error(`ulimit -n is ${limit}: a server needs ~${needServer} fds, a client ~${needClient} (this bench never raises limits)`);
  }

  const profDir = process.env.BENCH_CPU_PROF;
  const serverArgs = ['--expose-gc', ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [])];
  const servers = {};
  for (const kind of KINDS) {
    servers[kind] = {};
    for (const node of ['A', 'B']) servers[kind][node] = spawnChild(self, ['server', kind, node, prefixes[kind]], { nodeArgs: serverArgs });
  }
  const clients = Array.from({ length: 2 * CLIENTS_PER_NODE }, (_, i) =>
    spawnChild(self, ['client', String(i)], { nodeArgs: ['--expose-gc'], waitFor: 'ready' }),
  );
  const nodeOf = (i) => (i < CLIENTS_PER_NODE ? 'A' : 'B');
  const ports = {};
  for (const kind of KINDS) ports[kind] = { A: await servers[kind].A.ready, B: await servers[kind].B.ready };
  await Promise.all(clients.map((c) => c.ready));

  // Reports from the clients: { done: kind, t, cpu } once their last expected message arrived.
  let pending;
  let failure;
  let stopping = false;
  for (const [i, c] of clients.entries()) {
    c.child.on('message', (msg) => {
      if (msg?.closed !== undefined && !stopping) {
        failure = new Error(`client ${i}: a ${msg.tag} socket closed (${msg.closed}) during the run`);
        pending?.reject(failure);
      }
      if (msg?.done === undefined || !pending || msg.done !== pending.kind) return;
      const node = nodeOf(i);
      pending.tDone[node] = Math.max(pending.tDone[node], msg.t);
      pending.clientCpuUs += msg.cpu.user + msg.cpu.system;
      if (--pending.remaining === 0) pending.resolve();
    });
  }

  const { date, node, nproc, commit } = machine();
  const versions = {
    'socket.io': pkgVersion('socket.io'),
    '@socket.io/redis-adapter': pkgVersion('@socket.io/redis-adapter'),
    'socket.io-client': pkgVersion('socket.io-client'),
    ioredis: pkgVersion('ioredis'),
    ws: pkgVersion('ws'),
  };
  console.log(
    `cross-node: 2 nodes × ${SOCKETS_PER_NODE.toLocaleString('en-US')} sockets, ${MESSAGES} × ${PAYLOAD_BYTES}-byte messages broadcast on node A per measurement`,
  );
  console.log(`node ${node}, nproc ${nproc}, commit ${commit}; redis ${redisVersion} at ${REDIS_URL}; ulimit -n ${limit}`);
  console.log(`versions: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(
    `ports: vela A ${ports.vela.A} / B ${ports.vela.B}, socket.io A ${ports.sio.A} / B ${ports.sio.B}; ` +
      `${clients.length} client processes (${CLIENTS_PER_NODE} per node, ${perClient} sockets each per framework)`,
  );

  // Connect both frameworks, all clients in parallel, then check every socket is in the room, on
  // its node and (through Redis) across the cluster.
  const connectMs = {};
  for (const kind of KINDS) {
    const t = performance.now();
    await Promise.all(
      clients.map((c, i) => c.request({ cmd: 'connect', tag: kind, port: ports[kind][nodeOf(i)], count: perClient, batch: BATCH }, 120_000)),
    );
    connectMs[kind] = performance.now() - t;
    for (const n of ['A', 'B']) {
      let sizes;
      const deadline = Date.now() + 10_000;
      do {
        sizes = await servers[kind][n].request({ cmd: 'roomSize' });
        if (sizes.local === SOCKETS_PER_NODE && sizes.cluster === 2 * SOCKETS_PER_NODE) break;
        await sleep(100);
      } while (Date.now() < deadline);
      if (sizes.local !== SOCKETS_PER_NODE || sizes.cluster !== 2 * SOCKETS_PER_NODE) {
        throw new Error(`${kind} node ${n}: ${sizes.local} sockets in '${ROOM}' here, ${sizes.cluster} across nodes; expected ${SOCKETS_PER_NODE} / ${2 * SOCKETS_PER_NODE}`);
      }
    }
  }
  console.log(
    `connected: vela ${(connectMs.vela / 1000).toFixed(1)} s, socket.io ${(connectMs.sio / 1000).toFixed(1)} s; ` +
      `every socket is in '${ROOM}' (${SOCKETS_PER_NODE} per node, ${2 * SOCKETS_PER_NODE} seen across nodes on both)\n`,
  );

  let nextK = 1;
  const measure = async (kind, mode) => {
    const { A, B } = servers[kind];
    await Promise.all([A.request({ cmd: 'gc' }), B.request({ cmd: 'gc' }), ...clients.map((c) => c.request({ cmd: 'gc' }))]);
    await sleep(SETTLE_MS);
    if (failure) throw failure;
    const k0 = nextK;
    nextK += MESSAGES;
    await Promise.all(clients.map((c) => c.request({ cmd: 'expect', tag: kind, k0, count: MESSAGES })));
    const arrived = new Promise((resolve, reject) => {
      pending = { kind, remaining: clients.length, tDone: { A: 0, B: 0 }, clientCpuUs: 0, resolve, reject };
    });
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${kind} ${mode}: messages ${k0}…${k0 + MESSAGES - 1} did not reach every socket within ${DELIVERY_TIMEOUT_MS} ms`)),
        DELIVERY_TIMEOUT_MS,
      );
    });
    await Promise.all([A.request({ cmd: 'mark' }), B.request({ cmd: 'mark' })]);
    const segs0 = tcpOutSegs();
    const sent = await A.request({ cmd: 'broadcast', k0, count: MESSAGES, mode });
    await Promise.race([arrived, deadline]);
    clearTimeout(timer);
    const segs = tcpOutSegs() - segs0;
    const { tDone, clientCpuUs } = pending;
    pending = undefined;
    const [cpuA, cpuB] = await Promise.all([A.request({ cmd: 'settle' }), B.request({ cmd: 'settle' })]);
    const perNode = MESSAGES * SOCKETS_PER_NODE;
    const ttaB = (tDone.B - sent.tStart) / 1e6;
    const ttaA = (tDone.A - sent.tStart) / 1e6;
    return {
      loopMs: sent.loopNs / 1e6,
      ttaA,
      ttaB,
      rateA: perNode / (ttaA / 1000),
      rateB: perNode / (ttaB / 1000),
      cpuA: (cpuA.cpu.user + cpuA.cpu.system) / perNode,
      cpuB: (cpuB.cpu.user + cpuB.cpu.system) / perNode,
      userA: cpuA.cpu.user / perNode,
      userB: cpuB.cpu.user / perNode,
      cpuClients: clientCpuUs / (2 * perNode),
      segs: segs / (2 * perNode),
    };
  };

  const results = Object.fromEntries(MODES.map((mode) => [mode, []]));
  const f = (x, d = 1) => x.toFixed(d);
  const k = (x) => `${f(x / 1000, 0)}k`;
  const pair = (v, s, fmt, width) => `${`${fmt(v)} / ${fmt(s)}`.padStart(width)}  (${f(v / s, 2)})`;
  console.log(
    'round    mode    cross-node (B) deliveries/s     local (A) deliveries/s    ' +
      'server CPU µs/delivery A          B                    clients µs/delivery',
  );
  console.log(
    '                 vela / socket.io   (v/s)        vela / socket.io  (v/s)    ' +
      'vela / socket.io  (v/s)     vela / socket.io  (v/s)   vela / socket.io  (v/s)',
  );
  let counted = 0;
  // Foreign load, screened as the other benches do (harness loadMark): ours are the servers, the
  // clients and the Redis server they share (whose work is the benchmark's too).
  const ourPids = [...KINDS.flatMap((kind) => ['A', 'B'].map((n) => servers[kind][n].child.pid)), ...clients.map((c) => c.child.pid), ...redisServerPids()];
  const roundLoad = [];
  for (let round = 1 - WARMUP; round <= ROUNDS; round++) {
    if (round > MIN_ROUNDS && performance.now() - started > SOFT_BUDGET_MS) {
      console.log(`(time budget: stopped after ${counted} counted rounds)`);
      break;
    }
    const mark = loadMark(ourPids);
    for (const mode of MODES) {
      const v = await measure('vela', mode);
      const s = await measure('sio', mode);
      const name = round <= 0 ? 'warm-up' : String(round);
      const d2 = (x) => f(x, 2);
      console.log(
        `${name.padEnd(8)} ${mode.padEnd(6)}  ${pair(v.rateB, s.rateB, k, 17)}    ${pair(v.rateA, s.rateA, k, 15)}` +
          `   ${pair(v.cpuA, s.cpuA, d2, 15)}   ${pair(v.cpuB, s.cpuB, d2, 15)}   ${pair(v.cpuClients, s.cpuClients, d2, 15)}`,
      );
      if (round > 0) results[mode].push({ v, s, round });
    }
    const { foreignCores } = loadSince(mark);
    console.log(`         other load during the round: ${foreignCores.toFixed(2)} CPUs${foreignCores > FOREIGN_LIMIT ? ' ! unusable' : ''}`);
    if (round > 0) {
      counted += 1;
      roundLoad.push({ round, foreignCores });
    }
  }
  // Rounds under foreign load stay out of the medians while at least 3 usable ones are left.
  const flagged = roundLoad.filter((r) => !(r.foreignCores <= FOREIGN_LIMIT));
  const usedAll = roundLoad.length - flagged.length < 3;
  if (!usedAll) for (const mode of MODES) results[mode] = results[mode].filter((r) => !flagged.some((f) => f.round === r.round));

  const status = await Promise.all(clients.map((c) => c.request({ cmd: 'status' })));
  const bad = status.reduce((n, x) => n + x.bad, 0);
  const stray = status.reduce((n, x) => n + x.stray, 0);
  if (bad > 0) throw new Error(`${bad} messages were not the ${PAYLOAD_BYTES}-byte payload broadcast`);
  if (stray > 0) throw new Error(`${stray} messages arrived outside the measurement that sent them (duplicates or late)`);

  // Stop: clients first (their sockets go), then each server closes itself (Vela removes its
  // membership from Redis), then this run's keys are deleted.
  stopping = true;
  await Promise.all(clients.map((c) => c.stop()));
  await Promise.all(
    KINDS.flatMap((kind) =>
      ['A', 'B'].map(async (n) => {
        await servers[kind][n].request({ cmd: 'close' }, 15_000).catch((error) => console.error(`close ${kind} ${n}: ${error.message}`));
        await servers[kind][n].stop();
      }),
    ),
  );
  const { deleted, left } = await flushKeys(redis, [prefixes.vela, prefixes.sio]);
  flushed = left === 0;
  redis.disconnect();
  const totalS = (performance.now() - started) / 1000;

  const perNode = MESSAGES * SOCKETS_PER_NODE;
  const spread = (xs, d = 2) => `median ${median(xs).toFixed(d)} (min ${Math.min(...xs).toFixed(d)} – max ${Math.max(...xs).toFixed(d)})`;
  const block = (mode, title) => {
    const rs = results[mode];
    const m = (side, key) => median(rs.map((r) => r[side][key]));
    const ratio = (key) => spread(rs.map(({ v, s }) => v[key] / s[key]));
    const us = (side, key) => `${m(side, key).toFixed(2)} µs`;
    return [
      `${title}:`,
      `  cross-node deliveries/s (first emit on A → last arrival on B): vela median ${k(m('v', 'rateB'))}, socket.io ${k(m('s', 'rateB'))}; per-round vela/socket.io ${ratio('rateB')}`,
      `  local deliveries/s (first emit on A → last arrival on A):      vela median ${k(m('v', 'rateA'))}, socket.io ${k(m('s', 'rateA'))}; per-round vela/socket.io ${ratio('rateA')}`,
      `  server CPU per delivery, node A (publisher; user+sys): vela median ${us('v', 'cpuA')}, socket.io ${us('s', 'cpuA')}; per-round vela/socket.io ${ratio('cpuA')}`,
      `  server CPU per delivery, node B (cross-node receiver): vela median ${us('v', 'cpuB')}, socket.io ${us('s', 'cpuB')}; per-round vela/socket.io ${ratio('cpuB')}`,
      `  of which user (JS + libuv; tick-sampled split): A vela ${us('v', 'userA')}, socket.io ${us('s', 'userA')}; ` +
        `B vela ${us('v', 'userB')}, socket.io ${us('s', 'userB')}`,
      `  client CPU per delivery (all client processes, not the servers' cost): vela (ws) median ${us('v', 'cpuClients')}, ` +
        `socket.io-client ${us('s', 'cpuClients')}; per-round ${ratio('cpuClients')}`,
      `  TCP segments sent per delivery (OutSegs of /proc/net/snmp, the whole machine, ACKs and Redis included; rough): ` +
        `vela median ${m('v', 'segs').toFixed(2)}, socket.io ${m('s', 'segs').toFixed(2)}; per-round ${ratio('segs')}`,
      `  broadcast loop on A (first to last emit): vela median ${m('v', 'loopMs').toFixed(1)} ms, socket.io ${m('s', 'loopMs').toFixed(1)} ms`,
      `  per-round cross-node ms, vela:      ${rs.map(({ v }) => v.ttaB.toFixed(0)).join(', ')}`,
      `  per-round cross-node ms, socket.io: ${rs.map(({ s }) => s.ttaB.toFixed(0)).join(', ')}`,
    ];
  };
  const summary = [
    '---- cross-node summary ----',
    'command: npm run bench:cross-node',
    `date: ${date}   node: ${node}   nproc: ${nproc}   (shared, noisy machine: ratios from the same run only)`,
    `commit: ${commit}`,
    `versions: ${Object.entries(versions).map(([name, v]) => `${name} ${v}`).join(', ')}; redis server ${redisVersion}`,
    `setup: 2 nodes (A, B) per framework, ${SOCKETS_PER_NODE.toLocaleString('en-US')} sockets per node, ${clients.length} client processes ` +
      `(${CLIENTS_PER_NODE} per node), everything on 127.0.0.1, Redis at ${REDIS_URL}, unique key prefixes per run;`,
    `       vela: bootstrap({ pubsub: redisPubSub({ url, keyPrefix }), sessions: false }), @WebSocket('${PATH}', { heartbeat: 0 }) gateway, ` +
      `init joins '${ROOM}', @OnInfo returns reply(msg.payload); broadcast = app.pubsub.broadcast('${ROOM}', 't', payload); clients: ws;`,
    `       socket.io: Server({ transports: ['websocket'], pingInterval ${SIO_PING_INTERVAL_MS / 1000} s }) + createAdapter(ioredis pub, sub, { key }), ` +
      `socket.join('${ROOM}') on connection; broadcast = io.to('${ROOM}').emit('t', payload); clients: socket.io-client, websocket only, forceNew;`,
    `       per measurement: ${MESSAGES} messages of ${PAYLOAD_BYTES} bytes broadcast on A = ${perNode.toLocaleString('en-US')} deliveries per node; ` +
      `gc + ${SETTLE_MS} ms settle before each; ${WARMUP} warm-up round + ${counted} rounds, each: ${MODES.map((mode) => `${mode} vela, socket.io`).join('; ')}`,
    ...block('burst', `burst: the ${MESSAGES} broadcasts in one synchronous loop`),
    ...block('paced', `paced: the ${MESSAGES} broadcasts one per event-loop turn (setImmediate between them)`),
    foreignLoadLine(FOREIGN_LIMIT, flagged, roundLoad.length, usedAll),
    `bad payloads: ${bad}; stray arrivals: ${stray}; Redis keys of the run deleted at the end: ${deleted} (${left} left)`,
    `connect ${(2 * SOCKETS_PER_NODE).toLocaleString('en-US')} sockets: vela ${(connectMs.vela / 1000).toFixed(1)} s, socket.io ${(connectMs.sio / 1000).toFixed(1)} s (not part of the comparison)`,
    `total run time: ${totalS.toFixed(0)} s`,
  ];
  console.log(`\n${summary.join('\n')}`);
}

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

async function server(kind, nodeName, prefix) {
  process.on('SIGTERM', () => process.exit(0)); // exits normally, so --cpu-prof writes its profile
  let broadcast; // (payload: string) => void: one broadcast to the room, on every node
  let roomSize; // () => Promise<{ local, cluster }>
  let close;
  let httpServer;

  if (kind === 'vela') {
    // bench/apps/topic.vela.ts, the app bench/broadcast.mjs measures on one node, here on Redis pub/sub.
    const { bootstrap, redisPubSub } = await import('vela');
    const { topicModule } = await benchApp('topic.vela');
    const AppModule = topicModule({ path: PATH, topic: ROOM, options: { heartbeat: 0 } });
    const app = await bootstrap(AppModule, {
      port: 0,
      host: '127.0.0.1',
      pubsub: redisPubSub({ url: REDIS_URL, keyPrefix: prefix }),
      sessions: false,
    });
    httpServer = app.server;
    const pubsub = app.pubsub;
    broadcast = (payload) => void pubsub.broadcast(ROOM, 't', payload);
    roomSize = async () => ({ local: pubsub.localMembers(ROOM).length, cluster: (await pubsub.members(ROOM)).length });
    close = () => app.close();
  } else if (kind === 'sio') {
    const { createServer } = await import('node:http');
    const { Server } = await import('socket.io');
    const { createAdapter } = await import('@socket.io/redis-adapter');
    const { Redis } = await import('ioredis');
    const pub = new Redis(REDIS_URL, { lazyConnect: true });
    const sub = pub.duplicate();
    pub.on('error', (error) => console.error(`socket.io ${nodeName} redis pub: ${error.message}`));
    sub.on('error', (error) => console.error(`socket.io ${nodeName} redis sub: ${error.message}`));
    await Promise.all([pub.connect(), sub.connect()]);
    httpServer = createServer();
    const io = new Server(httpServer, {
      transports: ['websocket'],
      serveClient: false,
      perMessageDeflate: false,
      pingInterval: SIO_PING_INTERVAL_MS,
      pingTimeout: 60_000,
      adapter: createAdapter(pub, sub, { key: prefix }),
    });
    io.on('connection', (socket) => socket.join(ROOM));
    await listen(httpServer);
    broadcast = (payload) => io.to(ROOM).emit('t', payload);
    // fetchSockets() asks the other node over the adapter's request/response channels: an answer
    // also shows both nodes' subscriptions are live.
    roomSize = async () => ({ local: io.of('/').adapter.rooms.get(ROOM)?.size ?? 0, cluster: (await io.in(ROOM).fetchSockets()).length });
    close = async () => {
      await new Promise((resolve) => io.close(() => resolve()));
      await Promise.all([pub.quit(), sub.quit()]);
    };
  } else {
    console.error('usage: node bench/cross-node.mjs server vela|sio A|B prefix');
    process.exit(2);
  }

  const { gc, mark, cpu } = cpuCommands();
  serveParent({
    roomSize: () => roomSize(),
    gc,
    mark,
    broadcast: async ({ k0, count, mode }) => {
      const payloads = Array.from({ length: count }, (_, i) => payloadFor(k0 + i));
      const tStart = process.hrtime.bigint();
      if (mode === 'burst') {
        for (const payload of payloads) broadcast(payload);
      } else {
        for (const payload of payloads) {
          broadcast(payload);
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      return { loopNs: Number(process.hrtime.bigint() - tStart), tStart: Number(tStart) };
    },
    settle: cpu,
    close: async () => {
      await close();
      return {};
    },
  });
  process.stdout.write(`port=${httpServer.address().port}\n`);
}

// ---------------------------------------------------------------------------------------------
// Clients

async function client(index) {
  const { WebSocket } = await import('ws');
  const { io } = await import('socket.io-client');
  const groups = new Map(); // tag → { size, pending }
  const expected = new Map(); // k → { text, bytes }
  let bad = 0;
  let stray = 0;

  const expectedFor = (k) => {
    let want = expected.get(k);
    if (!want) {
      const text = payloadFor(k);
      expected.set(k, (want = { text, bytes: Buffer.from(text) }));
    }
    return want;
  };
  // One arrival of message k on a socket of `group`; `same` says whether it is the payload sent.
  const arrived = (group, tag, k, same) => {
    if (!same) bad += 1;
    const p = group.pending;
    if (!p || k < p.k0 || k > p.kLast) {
      stray += 1;
      return;
    }
    if (++p.got < p.need) return;
    group.pending = undefined;
    process.send({ done: tag, t: Number(process.hrtime.bigint()), cpu: process.cpuUsage(p.cpu0) });
  };
  const seq = (at) => {
    let k = 0;
    for (let i = 0; i < 8; i++) k = k * 10 + (at(i) - 48);
    return k;
  };

  const openVela = (port, group) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${PATH}`, { perMessageDeflate: false });
      ws.once('open', () => {
        ws.removeListener('error', reject);
        ws.on('error', () => {}); // servers go at the end
        ws.on('message', (data) => {
          const k = seq((i) => data[i]);
          arrived(group, 'vela', k, expectedFor(k).bytes.equals(data));
        });
        ws.once('close', (code) => process.connected && process.send({ closed: `code ${code}`, tag: 'vela' }));
        resolve(ws);
      });
      ws.once('error', reject);
    });

  const openSio = (port, group) =>
    new Promise((resolve, reject) => {
      const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false, perMessageDeflate: false });
      socket.once('connect', () => {
        socket.off('connect_error', reject);
        socket.on('t', (payload) => {
          const k = typeof payload === 'string' ? seq((i) => payload.charCodeAt(i)) : -1;
          arrived(group, 'sio', k, k >= 0 && expectedFor(k).text === payload);
        });
        socket.once('disconnect', (reason) => process.connected && process.send({ closed: reason, tag: 'sio' }));
        resolve(socket);
      });
      socket.once('connect_error', reject);
    });

  serveParent({
    async connect({ tag, port, count, batch }) {
      const open = tag === 'vela' ? openVela : openSio;
      const group = { size: count, pending: undefined };
      for (let start = 0; start < count; start += batch) {
        const opening = [];
        for (let i = start; i < Math.min(start + batch, count); i++) opening.push(open(port, group));
        await Promise.all(opening);
      }
      groups.set(tag, group);
      return {};
    },
    gc: () => {
      global.gc?.();
      return {};
    },
    expect({ tag, k0, count }) {
      const group = groups.get(tag);
      expected.clear();
      for (let k = k0; k < k0 + count; k++) expectedFor(k);
      group.pending = { k0, kLast: k0 + count - 1, need: count * group.size, got: 0, cpu0: process.cpuUsage() };
      return {};
    },
    status: () => ({ bad, stray }),
  });
}
