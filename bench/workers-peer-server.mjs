// bench/workers.mjs's peer: what bench/workers-server.mjs serves, written with the libraries Vela is
// built on and nothing of Vela's: Koa + @koa/router answering GET /hello with { hello: 'world' }
// (routes() and allowedMethods(), as bench/http-server.mjs's `koa`), and a ws WebSocketServer
// echoing text frames on /ws (the settings of bench/ws-server.mjs's `raw`, which are Vela's).
//
//   node bench/workers-peer-server.mjs          one process; prints `port=N`
//   node bench/workers-peer-server.mjs N        a node:cluster primary and N workers sharing the port
//                                               (node:cluster's own scheduling: NODE_CLUSTER_SCHED_POLICY
//                                               is read by Node, as under `vela start`); the primary prints
//                                               `N workers listening on http://127.0.0.1:PORT` once all listen
// Listens on 127.0.0.1 and the port in PORT (0: any free one, the same for every worker). SIGTERM
// ends the primary and its workers.
import cluster from 'node:cluster';
import { createServer } from 'node:http';

const workers = Number(process.argv[2] ?? 0);
const port = Number(process.env.PORT ?? 0);

if (workers > 0 && cluster.isPrimary) primary(workers);
else await serve();

/** Forks the workers; announces the shared port once every one listens; on SIGTERM kills them and exits. */
function primary(count) {
  let listening = 0;
  let stopping = false;
  cluster.on('listening', (_worker, address) => {
    listening += 1;
    if (listening === count) process.stdout.write(`${count} worker${count === 1 ? '' : 's'} listening on http://127.0.0.1:${address.port}\n`);
  });
  // A worker dying mid-bench is a failed run, not something to hide by restarting it.
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      process.stderr.write(`workers-peer-server: worker ${worker.process.pid} died (${signal ?? code})\n`);
      process.exit(1);
    }
  });
  process.once('SIGTERM', () => {
    stopping = true;
    const alive = Object.values(cluster.workers ?? {});
    let left = alive.length;
    if (left === 0) process.exit(0);
    for (const worker of alive) {
      worker.once('exit', () => --left === 0 && process.exit(0));
      worker.process.kill('SIGTERM');
    }
  });
  for (let i = 0; i < count; i++) cluster.fork();
}

async function serve() {
  const { default: Koa } = await import('koa');
  const { Router } = await import('@koa/router');
  const { WebSocketServer } = await import('ws');
  const koa = new Koa();
  const router = new Router();
  router.get('/hello', (ctx) => {
    ctx.body = { hello: 'world' };
  });
  koa.use(router.routes());
  koa.use(router.allowedMethods());
  const server = createServer(koa.callback());
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1024 * 1024, clientTracking: false });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => {});
    if (req.url !== '/ws') return void socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  process.once('SIGTERM', () => process.exit(0));
  server.listen(port, '127.0.0.1', () => {
    if (!cluster.isWorker) process.stdout.write(`port=${server.address().port}\n`);
  });
}
