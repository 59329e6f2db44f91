// What permessage-deflate costs a server: CPU per message and RSS per idle socket, compression on vs
// off, Vela vs raw ws with the same settings, the four servers (bench/ws-server.mjs vela, raw,
// vela-deflate, raw-deflate) side by side in one run. Run with `npm run bench:compression` (builds first).
//
// CPU: a load generator (a child process) opens SOCKETS sockets to one server, reads the server's CPU
// time over IPC, echoes PER_SOCKET messages of PAYLOAD_BYTES of JSON (compressible, as app data is;
// over the 1 KiB threshold, so compressed both ways) keeping WINDOW in flight per socket, reads the
// CPU time again. One warm-up round per server, then ROUNDS rounds, servers in turn.
// Memory: a fresh server of each kind (run with --expose-gc) is read (RSS after gc), IDLE sockets are
// opened and each echoes one such message (so both of its zlib streams exist: ws makes them on first
// use and keeps them until the socket closes), then the server is read again: RSS per idle socket.
// On a shared machine only the figures measured side by side mean anything.
//
// Flags for a smoke run: --sockets N --messages N (per socket) --rounds N --idle N.
import { performance } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { WebSocket } from 'ws';
import { spawnChild, serveParent, median, machine, closeAll } from './harness.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SOCKETS = arg('sockets', 50);
const PER_SOCKET = arg('messages', 400); // 20,000 echoes per round: ~10 s compressed on a busy 2-core machine
const ROUNDS = arg('rounds', 7);
const IDLE = arg('idle', 2_000);
const WINDOW = 4;
const PAYLOAD_BYTES = 4_096;
const KINDS = ['vela', 'raw', 'vela-deflate', 'raw-deflate'];

const self = new URL(import.meta.url).pathname;
const serverScript = new URL('./ws-server.mjs', import.meta.url).pathname;

/** JSON as an app sends it: records that repeat their keys and much of their values. */
function payload() {
  const rows = [];
  for (let i = 0; JSON.stringify(rows).length < PAYLOAD_BYTES; i++) rows.push({ id: i, user: `user-${i % 7}`, online: i % 3 === 0, room: 'lobby' });
  return Buffer.from(JSON.stringify(rows).slice(0, PAYLOAD_BYTES));
}

/** A socket to `port` that offers permessage-deflate only to the servers that take it. */
function open(port, kind) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: kind.endsWith('-deflate') });
    ws.once('open', () => {
      ws.on('error', () => {});
      resolve(ws);
    });
    ws.once('error', reject);
  });
}

if (process.argv[2] === 'client') await loadGenerator();
else await main();

async function main() {
  if (!existsSync(new URL('../dist/index.js', import.meta.url))) throw new Error('dist/ is missing: run `npm run build` first');
  const started = performance.now();
  const client = spawnChild(self, ['client'], { waitFor: 'ready' });
  await client.ready;
  const { date, node, nproc, commit } = machine();
  console.log(`compression: ${PAYLOAD_BYTES}-byte JSON echo, ${SOCKETS} sockets × window ${WINDOW} × ${PER_SOCKET} messages per round; ${IDLE} idle sockets`);
  console.log(`node ${node}, nproc ${nproc}, commit ${commit}\n`);

  // CPU per message: every kind in each round, so each round's four figures saw the same machine.
  const servers = Object.fromEntries(KINDS.map((kind) => [kind, spawnChild(serverScript, [kind])]));
  const ports = Object.fromEntries(await Promise.all(KINDS.map(async (kind) => [kind, await servers[kind].ready])));
  const round = async (kind) => {
    const connected = await client.request({ cmd: 'connect', port: ports[kind], kind, sockets: SOCKETS });
    if (connected.deflate !== kind.endsWith('-deflate')) throw new Error(`${kind}: permessage-deflate ${connected.deflate ? '' : 'not '}negotiated`);
    const before = await servers[kind].request({ cmd: 'cpu' });
    const run = await client.request({ cmd: 'run', perSocket: PER_SOCKET }, 120_000);
    const after = await servers[kind].request({ cmd: 'cpu' });
    await client.request({ cmd: 'close' });
    const us = after.cpu.user - before.cpu.user + (after.cpu.system - before.cpu.system);
    return { usPerMsg: us / run.msgs, rate: run.msgs / (run.ms / 1000), wirePerMsg: run.wireBytes / run.msgs };
  };
  console.log(`round  ${KINDS.map((k) => `${k} µs/msg`.padStart(20)).join('')}`);
  const rounds = [];
  for (let i = 0; i <= ROUNDS; i++) {
    const r = {};
    for (const kind of KINDS) r[kind] = await round(kind);
    console.log(`${(i === 0 ? 'warm-up' : String(i)).padEnd(7)}${KINDS.map((k) => r[k].usPerMsg.toFixed(1).padStart(20)).join('')}`);
    if (i > 0) rounds.push(r);
  }
  await Promise.all(KINDS.map((kind) => servers[kind].stop()));

  // RSS per idle socket, one fresh server per kind.
  const memory = {};
  for (const kind of KINDS) {
    const server = spawnChild(serverScript, [kind], { nodeArgs: ['--expose-gc'] });
    const port = await server.ready;
    const before = await server.request({ cmd: 'mem' });
    await client.request({ cmd: 'idle', port, kind, sockets: IDLE }, 120_000);
    const after = await server.request({ cmd: 'mem' });
    await client.request({ cmd: 'close' });
    await server.stop();
    memory[kind] = { rss: (after.rss - before.rss) / IDLE, heap: (after.heapUsed + after.external - before.heapUsed - before.external) / IDLE };
  }
  await client.stop();

  const m = (kind, key) => median(rounds.map((r) => r[kind][key]));
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
  const summary = [
    '---- compression summary ----',
    'command: npm run bench:compression',
    `date: ${date}   node: ${node}   nproc: ${nproc}   (shared, noisy machine: ratios only)`,
    `commit: ${commit}`,
    `setup: echo of a ${PAYLOAD_BYTES}-byte JSON text message; Vela @WebSocket('/ws') echo gateway, without and with compression: true,`,
    `       vs raw ws on a plain Koa server, perMessageDeflate false / the settings Vela derives from compression: true`,
    `       (threshold 1024, no context takeover either way, zlib level 6, memLevel 8, windowBits 15); clients offer deflate only to -deflate servers`,
    ...KINDS.map(
      (kind) =>
        `${kind.padEnd(13)} server CPU ${m(kind, 'usPerMsg').toFixed(1).padStart(7)} µs/msg (median of ${rounds.length})   ` +
        `${Math.round(m(kind, 'rate')).toLocaleString('en-US').padStart(7)} msg/s   wire ${Math.round(m(kind, 'wirePerMsg')).toLocaleString('en-US').padStart(5)} B/msg each way   ` +
        `RSS ${kb(memory[kind].rss).padStart(10)} per idle socket (heap+external ${kb(memory[kind].heap)})`,
    ),
    `CPU ratios (median per round): vela-deflate/vela ${median(rounds.map((r) => r['vela-deflate'].usPerMsg / r.vela.usPerMsg)).toFixed(2)}, ` +
      `raw-deflate/raw ${median(rounds.map((r) => r['raw-deflate'].usPerMsg / r.raw.usPerMsg)).toFixed(2)}, ` +
      `vela-deflate/raw-deflate ${median(rounds.map((r) => r['vela-deflate'].usPerMsg / r['raw-deflate'].usPerMsg)).toFixed(2)}, ` +
      `vela/raw ${median(rounds.map((r) => r.vela.usPerMsg / r.raw.usPerMsg)).toFixed(2)}`,
    `RSS per idle socket that has used compression, minus without: vela ${kb(memory['vela-deflate'].rss - memory.vela.rss)}, raw ${kb(memory['raw-deflate'].rss - memory.raw.rss)}`,
    `total run time: ${((performance.now() - started) / 1000).toFixed(0)} s`,
  ];
  console.log(`\n${summary.join('\n')}`);
}

/** The load generator: a child process commanded over IPC by main(). */
async function loadGenerator() {
  const message = payload();
  let sockets = [];
  const wireRead = () => sockets.reduce((sum, ws) => sum + ws._socket.bytesRead, 0);

  serveParent({
    async connect({ port, kind, sockets: count }) {
      sockets = await Promise.all(Array.from({ length: count }, () => open(port, kind)));
      return { deflate: sockets.every((ws) => ws.extensions.includes('permessage-deflate')) };
    },

    run({ perSocket }) {
      return new Promise((resolve, reject) => {
        const expected = sockets.length * perSocket;
        let received = 0;
        const read0 = wireRead();
        const t0 = performance.now();
        for (const ws of sockets) {
          let sent = 0;
          ws.on('message', (data) => {
            if (data.length !== message.length) reject(new Error(`a reply of ${data.length} bytes, not the ${message.length} sent`));
            received += 1;
            if (sent < perSocket) {
              sent += 1;
              ws.send(message, { binary: false });
            }
            if (received === expected) {
              for (const one of sockets) one.removeAllListeners('message');
              resolve({ msgs: received, ms: performance.now() - t0, wireBytes: wireRead() - read0 });
            }
          });
          for (; sent < Math.min(WINDOW, perSocket); sent++) ws.send(message, { binary: false });
        }
      });
    },

    /** `count` sockets, each having echoed one message, left open and idle. */
    async idle({ port, kind, sockets: count }) {
      for (let start = 0; start < count; start += 250) {
        const batch = await Promise.all(Array.from({ length: Math.min(250, count - start) }, () => open(port, kind)));
        await Promise.all(batch.map((ws) => new Promise((resolve) => (ws.once('message', resolve), ws.send(message, { binary: false })))));
        sockets.push(...batch);
      }
      return {};
    },

    async close() {
      await closeAll(sockets);
      sockets = [];
      return {};
    },
  });
}
