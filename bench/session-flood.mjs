// What cookie-less requests cost the session store (issue 13, item 3): a Vela app with its default
// sessions takes REQUESTS requests that carry no cookie, as a crawler, a load test or an attacker
// sends them, and reports the server's RSS, the sessions it holds and the Redis keys it made.
// Run with `npm run bench:session-flood` (builds dist/ and bench/apps first). Bounded by count:
// REQUESTS per store, about 1–3 minutes.
//
// The server is its own process (`session-flood.mjs server STORE PREFIX`), on 127.0.0.1 port 0:
//   bootstrap(AppModule, { requestLog: false, logger: quiet, sessions: { store } }), bench/apps/hello.vela.ts: one route
//   (@Route('/hello') → json({ hello })) and one static file (@Module({ static })). STORE is `memory`
//   (the default store) or `redis` (redisSessionStore at 127.0.0.1:6379, keys under PREFIX).
// The driver sends REQUESTS requests, a quarter of each kind: GET /hello (a route that never touches
// its session), GET of a path no route has (404), GET of the static file, OPTIONS /hello; on a
// keep-alive agent, CONCURRENCY at a time. Then, over IPC: the server's RSS and heap after a full GC,
// and the memory store's size; from Redis: the keys under PREFIX (deleted afterwards).
import { Agent, request } from 'node:http';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchApp, machine, serveParent, spawnChild } from './harness.mjs';

const REQUESTS = 200_000;
const CONCURRENCY = 50;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const dist = new URL('../dist/index.js', import.meta.url);
if (!existsSync(dist)) throw new Error('dist/ is missing: run `npm run build` first');

if (process.argv[2] === 'server') await server(process.argv[3], process.argv[4]);
else await driver();

async function server(kind, prefix) {
  const { bootstrap, memorySessionStore, redisSessionStore } = await import('vela');
  const { helloModule } = await benchApp('hello.vela');
  const publicDir = mkdtempSync(join(tmpdir(), 'vela-session-flood-'));
  writeFileSync(join(publicDir, 'app.css'), 'body { margin: 0 }\n');
  const AppModule = helloModule(publicDir);

  const store = kind === 'redis' ? redisSessionStore({ url: REDIS_URL, keyPrefix: prefix }) : memorySessionStore();
  const quiet = { debug() {}, info() {}, warn() {}, error: (...args) => console.error(...args) };
  const app = await bootstrap(AppModule, { port: 0, host: '127.0.0.1', requestLog: false, logger: quiet, sessions: { store } });
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  serveParent({
    memory: async () => {
      gc();
      const { rss, heapUsed } = process.memoryUsage();
      return { rss, heapUsed, sessions: store.size ?? null };
    },
  });
  console.log(`port=${new URL(app.url).port}`);
}

async function driver() {
  console.log(JSON.stringify({ bench: 'session-flood', requests: REQUESTS, NODE_ENV: process.env.NODE_ENV ?? null, ...machine() }));
  if (process.env.NODE_ENV !== 'production') console.log('note: run under NODE_ENV=production, as issue 13 asks');
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const redisUp = await redis.connect().then(
    () => true,
    () => false,
  );
  for (const kind of redisUp ? ['memory', 'redis'] : ['memory']) {
    const prefix = `bench:session-flood:${process.pid}:${kind}:`;
    const node = spawnChild(new URL(import.meta.url).pathname, ['server', kind, prefix], { env: { NODE_ENV: process.env.NODE_ENV ?? '' } });
    const port = await node.ready;
    const idle = await node.request({ cmd: 'memory' });
    const started = performance.now();
    const { cookies, statuses } = await flood(port);
    const seconds = (performance.now() - started) / 1_000;
    const after = await node.request({ cmd: 'memory' });
    const keys = redisUp ? await redis.keys(`${prefix}*`) : [];
    for (let i = 0; i < keys.length; i += 10_000) await redis.del(...keys.slice(i, i + 10_000));
    await node.stop();
    console.log(
      `${kind.padEnd(6)} ${REQUESTS} cookie-less requests in ${seconds.toFixed(1)} s: ` +
        `RSS ${mib(idle.rss)} → ${mib(after.rss)} MiB, heap ${mib(idle.heapUsed)} → ${mib(after.heapUsed)} MiB, ` +
        `sessions held ${after.sessions ?? 'n/a'}, Set-Cookie sent ${cookies}, Redis keys made ${kind === 'redis' ? keys.length : 'n/a'}; statuses ${JSON.stringify(statuses)}`,
    );
  }
  redis.disconnect();
}

async function flood(port) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const kinds = [
    ['GET', '/hello'],
    ['GET', '/no/such/page'],
    ['GET', '/assets/app.css'],
    ['OPTIONS', '/hello'],
  ];
  let sent = 0;
  let cookies = 0;
  const statuses = {};
  const one = ([method, path]) =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
        if (res.headers['set-cookie']) cookies += 1;
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        res.resume();
        res.once('end', resolve);
      });
      req.once('error', reject);
      req.end();
    });
  const worker = async () => {
    while (sent < REQUESTS) await one(kinds[sent++ % kinds.length]);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  return { cookies, statuses };
}

function mib(bytes) {
  return (bytes / 2 ** 20).toFixed(1);
}
