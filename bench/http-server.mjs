// The servers bench/http.mjs compares, one per child process (`node bench/http-server.mjs KIND`), on
// 127.0.0.1 port 0, printing `port=N`; the driver reads their CPU time over IPC only
// (process.cpuUsage() inside the server), never through the port under test:
//   vela           bench/apps/users.vela.ts bootstrapped with { sessions: false, requestLog: false,
//                  logger: quiet }: Vela as a plain JSON API.
//   vela-defaults  the same app with bootstrap's defaults, logger included (sessions on, one request log
//                  line per request to stdout, a pipe the driver drains).
//   koa            new Koa() + @koa/router, routes() and allowedMethods(), as Vela mounts them.
//   node           node:http, routed by hand, JSON.stringify + writeHead + end.
//   nest           bench/apps/users.nest.ts on NestJS's Express platform, logger off, otherwise defaults.
// Diagnostics for the profile mode (bench/http-profile.mjs):
//   koa-als        raw Koa plus one AsyncLocalStorage.run per request (what Vela's request scope adds)
//   vela-noals     `vela` with AsyncLocalStorage.run a pass-through (Node never turns its promise hooks on)
// The peer of bench/telemetry.mjs (its koa-sdk, run with an OpenTelemetry SDK registered):
//   koa-otel       raw Koa plus bench/telemetry-koa.mjs first: a span per request and its context entered,
//                  as @opentelemetry/instrumentation-http does
// Every server serialises per request and answers /users/42 from the same Map (bench/apps/users.ts).
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { benchApp, listen, serveParent } from './harness.mjs';

const KINDS = ['node', 'koa', 'koa-als', 'koa-otel', 'vela', 'vela-defaults', 'vela-noals', 'nest'];
const kind = process.argv[2];
// The parent owns this process: when it goes (even by SIGKILL) the IPC channel closes and so do we.
process.on('SIGTERM', () => process.exit(0));
if (!KINDS.includes(kind)) {
  console.error(`usage: node bench/http-server.mjs ${KINDS.join('|')}`);
  process.exit(2);
}
const { USERS } = await benchApp('users');
const httpServer = await start(kind);

let profiler;
serveParent({
  cpu: () => ({ cpu: process.cpuUsage() }),
  async 'profile-start'({ intervalUs }) {
    const { Session } = await import('node:inspector/promises');
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await profiler.post('Profiler.start');
    return { cpu: process.cpuUsage() };
  },
  async 'profile-stop'({ file }) {
    const cpu = process.cpuUsage();
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    profiler = undefined;
    writeFileSync(file, JSON.stringify(profile));
    return { cpu };
  },
});
process.stdout.write(`port=${httpServer.address().port}\n`);

/** Starts the server of `kind`; resolves with its listening node:http server. */
async function start(kind) {
  if (kind === 'vela-noals') {
    // Made a pass-through before Vela loads, so its per-request log scope opens nothing. Log fields
    // (correlation ids) do not work in this process.
    AsyncLocalStorage.prototype.run = function run(_store, fn, ...args) {
      return fn(...args);
    };
  }
  if (kind.startsWith('vela')) {
    const { bootstrap } = await import('vela');
    const { AppModule } = await benchApp('users.vela');
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    const options = kind === 'vela-defaults' ? {} : { sessions: false, requestLog: false, logger: quiet };
    return (await bootstrap(AppModule, { port: 0, host: '127.0.0.1', ...options })).server;
  }
  if (kind === 'nest') {
    const { AppModule } = await benchApp('users.nest'); // loads reflect-metadata before Nest does
    const { NestFactory } = await import('@nestjs/core');
    const app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    return app.getHttpServer();
  }
  if (kind === 'node') return listen(createServer(nodeHandler));
  const { default: Koa } = await import('koa');
  const { Router } = await import('@koa/router');
  const koa = new Koa();
  if (kind === 'koa-als') {
    // The one thing Vela does on every request even with requestLog: false: a fresh
    // AsyncLocalStorage scope (src/http/request-log.ts, log-context.ts).
    const scopes = new AsyncLocalStorage();
    koa.use((ctx, next) => scopes.run({}, next));
  }
  if (kind === 'koa-otel') {
    const { tracingMiddleware } = await import('./telemetry-koa.mjs');
    koa.use(tracingMiddleware());
  }
  const router = new Router();
  router.get('/hello', (ctx) => {
    ctx.body = { hello: 'world' };
  });
  router.get('/users/:id', (ctx) => {
    const user = USERS.get(ctx.params.id);
    if (user) {
      ctx.body = user;
    } else {
      ctx.status = 404;
      ctx.body = { error: 'not found' };
    }
  });
  koa.use(router.routes());
  koa.use(router.allowedMethods());
  return listen(createServer(koa.callback()));
}

/** The node:http server's handler: both routes by hand. */
function nodeHandler(req, res) {
  const send = (code, value) => {
    const body = JSON.stringify(value);
    res.writeHead(code, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  const q = req.url.indexOf('?');
  const path = q === -1 ? req.url : req.url.slice(0, q);
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: 'method not allowed' });
  if (path === '/hello') return send(200, { hello: 'world' });
  if (path.startsWith('/users/') && path.indexOf('/', 7) === -1) {
    let id;
    try {
      id = decodeURIComponent(path.slice(7));
    } catch {
      return send(400, { error: 'bad request' });
    }
    const user = USERS.get(id);
    return user ? send(200, user) : send(404, { error: 'not found' });
  }
  send(404, { error: 'not found' });
}
