// The two servers an Autobahn|Testsuite run compares (the recipe is in ../shared/AUTOBAHN.md; the
// result is recorded in RELIABILITY.md): a Vela echo gateway (bench/apps/autobahn.vela.ts) on
// ws://127.0.0.1:PORT/echo and, beside it, raw ws with the same settings on ws://127.0.0.1:PORT+1/echo.
//
//   npm run bench:build && NODE_ENV=production node bench/autobahn-server.mjs [PORT]   (default 9001)
//
// Runs until killed. Not a benchmark: a conformance target.
import { createServer } from 'node:http';
import { VELA_DEFLATE, benchApp, velaDependency } from './harness.mjs';

const port = Number(process.argv[2] ?? 9001);
const { bootstrap } = await import('vela');
const { AutobahnModule, AUTOBAHN_OPTIONS } = await benchApp('autobahn.vela');
await bootstrap(AutobahnModule, { port, host: '127.0.0.1' });

// Raw ws with what Vela gives its ws server for AUTOBAHN_OPTIONS (src/ws/gateway-server.ts).
const { WebSocketServer } = velaDependency('ws');
const { maxPayload, maxFragments } = AUTOBAHN_OPTIONS;
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: VELA_DEFLATE, maxPayload, maxFragments, clientTracking: false });
const raw = createServer((_req, res) => res.writeHead(426).end());
raw.on('upgrade', (req, socket, head) => {
  socket.on('error', () => {});
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
});
raw.listen(port + 1, '127.0.0.1');
console.log(`vela ws://127.0.0.1:${port}/echo   raw ws ws://127.0.0.1:${port + 1}/echo`);
