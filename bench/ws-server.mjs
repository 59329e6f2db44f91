// The two echo servers that bench/ws-echo.mjs and bench/ws-memory.mjs compare, one per child process:
//   node bench/ws-server.mjs vela   a Vela app (bench/apps/echo.vela.ts): @WebSocket('/ws') gateway, @OnMessage() echo(text) { return reply(text) }
//   node bench/ws-server.mjs raw    a plain Koa server whose 'upgrade' event hands /ws to a ws WebSocketServer
//   node bench/ws-server.mjs vela-event  the same gateway with @OnMessage('echo') echo(data) { return reply(json({ event: 'echo', data })) }:
//                                        Vela parses {"event","data"} JSON frames and dispatches on the event name
//   node bench/ws-server.mjs raw-event   the raw server with a hand-written handler doing the same: JSON.parse, check the
//                                        shape, look the event up in a Map, call it, JSON.stringify its answer, send
//   node bench/ws-server.mjs vela-deflate  the echo gateway with compression: true (bench/compression.mjs)
//   node bench/ws-server.mjs raw-deflate   the raw echo server with ws's perMessageDeflate set as Vela sets it for compression: true
// Both listen on 127.0.0.1, port 0, and print `port=N` on stdout. The parent talks to them over IPC only
// (so measuring never goes through the server under test): { cmd: 'cpu' } → process.cpuUsage(),
// { cmd: 'mem' } → memory after global.gc() (run with --expose-gc). Not a benchmark on its own.
import { createServer } from 'node:http';
import { setImmediate as tick } from 'node:timers/promises';
import { VELA_DEFLATE, benchApp, listen, velaDependency } from './harness.mjs';

const kind = process.argv[2];
// The parent owns this process: when it goes (even by SIGKILL) the IPC channel closes and so do we.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

let upgrades = 0;
let server;

if (kind === 'vela' || kind === 'vela-event' || kind === 'vela-deflate') {
  // bench/apps/echo.vela.ts; Vela's default gateway options (heartbeat 30 s, maxPayload 1 MiB, public).
  const { bootstrap } = await import('vela');
  const { EchoModule, EventModule, DeflateModule } = await benchApp('echo.vela');
  // BENCH_VELA_OPTIONS: extra bootstrap options as JSON, e.g. '{"sessions":false}' (bench/ws-heap.mjs).
  const extra = process.env.BENCH_VELA_OPTIONS ? JSON.parse(process.env.BENCH_VELA_OPTIONS) : {};
  const module = { vela: EchoModule, 'vela-event': EventModule, 'vela-deflate': DeflateModule }[kind];
  const app = await bootstrap(module, { port: 0, host: '127.0.0.1', ...extra });
  server = app.server;
} else if (kind === 'raw' || kind === 'raw-event' || kind === 'raw-deflate') {
  const Koa = velaDependency('koa');
  const { WebSocketServer } = velaDependency('ws');
  const koa = new Koa();
  server = createServer(koa.callback());
  // The same ws settings Vela's GatewayServer uses.
  const perMessageDeflate = kind === 'raw-deflate' ? VELA_DEFLATE : false;
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate, maxPayload: 1024 * 1024, clientTracking: false });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => {});
    if (req.url !== '/ws') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      if (kind !== 'raw-event') ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      else ws.on('message', (data, isBinary) => onEvent(ws, data, isBinary));
    });
  });
  // What a careful hand-written JSON event dispatcher does, and no more: parse, check the shape,
  // find the handler by name (a Map, as Vela), call it, send its answer; anything else is dropped.
  const events = new Map([['echo', (data) => JSON.stringify({ event: 'echo', data })]]);
  const onEvent = (ws, data, isBinary) => {
    if (isBinary) return;
    let msg;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null || typeof msg.event !== 'string') return;
    const handler = events.get(msg.event);
    if (handler) ws.send(handler(msg.data));
  };
  await listen(server);
} else {
  console.error('usage: node bench/ws-server.mjs vela|raw|vela-event|raw-event|vela-deflate|raw-deflate');
  process.exit(2);
}

// Counted the same way for both: upgrade requests that reached the HTTP server.
server.on('upgrade', () => (upgrades += 1));
// accept() failures (EMFILE once the process is out of file descriptors): Node emits them as
// 'error' on the server, which would kill a process without a listener (Vela's app.server has
// none). Counted here so bench/ws-memory.mjs --max can say where and why the climb stopped.
let acceptErrors = {};
server.on('error', (error) => (acceptErrors[error.code ?? error.message] = (acceptErrors[error.code ?? error.message] ?? 0) + 1));
const started = process.hrtime.bigint();

process.on('message', async (msg) => {
  if (msg?.cmd === 'cpu') {
    process.send({ id: msg.id, cpu: process.cpuUsage(), upgrades });
  } else if (msg?.cmd === 'snapshot') {
    // { cmd: 'snapshot', file }: gc, then a V8 heap snapshot (bench/ws-heap.mjs diffs two of them).
    global.gc?.();
    await tick();
    global.gc?.();
    const { writeHeapSnapshot } = await import('node:v8');
    process.send({ id: msg.id, file: writeHeapSnapshot(msg.file) });
  } else if (msg?.cmd === 'conns') {
    // Sockets the HTTP server accepted and that are still open (upgraded ones included).
    server.getConnections((error, count) => process.send({ id: msg.id, error: error?.message, count, acceptErrors, upgrades }));
  } else if (msg?.cmd === 'mem') {
    if (typeof global.gc !== 'function') {
      process.send({ id: msg.id, error: 'run the server with --expose-gc' });
      return;
    }
    global.gc();
    await tick();
    global.gc();
    // process.memoryUsage() reads /proc/self/stat for the RSS, which needs a file descriptor: in a
    // process that has used all of its (bench/ws-memory.mjs --max) it throws EMFILE. The heap
    // figures need none; the parent can read the RSS from /proc/PID/status itself.
    let rss = null;
    let heapUsed;
    let heapTotal;
    let external;
    try {
      ({ rss, heapUsed, heapTotal, external } = process.memoryUsage());
    } catch {
      const { getHeapStatistics } = await import('node:v8');
      ({ used_heap_size: heapUsed, total_heap_size: heapTotal, external_memory: external } = getHeapStatistics());
    }
    const uptimeMs = Number(process.hrtime.bigint() - started) / 1e6;
    process.send({ id: msg.id, rss, heapUsed, heapTotal, external, upgrades, uptimeMs });
  }
});

process.stdout.write(`port=${server.address().port}\n`);
