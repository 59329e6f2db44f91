// Cold start of a large app: 200 controllers × 10 routes = 2,000 routes and 50 gateways, Vela vs
// the same 2,000 routes on raw Koa + @koa/router (and 50 ws servers on the 'upgrade' event).
// Run with `npm run bench:bootstrap` (builds first).
//
// Both apps are generated into a temp dir as plain ESM JavaScript, one file per controller (router
// module) and per gateway (ws handler module), plus main.js, importing ../dist/index.js, koa,
// @koa/router and ws by absolute path. Vela's decorators are applied by hand, as tsc would:
//   @Controller({ prefix: '/c007' }) class C007Controller {
//     @Route('/items') list(ctx) { return json({ c: 7, r: 0 }); }      … 10 routes, 5 methods, 0–2 params
//   }
//   @WebSocket('/ws/g07') class G07Gateway {
//     @OnMessage() echo(text) { return reply(text); }  @OnMessage('ping') ping(data) { … }
//     @OnInfo() info(msg) { … }  terminate() {}
//   }
//   await bootstrap(AppModule, { port: 0, host: '127.0.0.1' })      (defaults otherwise)
// raw: new Koa(); bodyParser(); new Router(); router.get/post/put/patch/delete(path, handler) × 2,000;
//   routes(), allowedMethods(); 50 WebSocketServer({ noServer }) looked up by path on 'upgrade'.
//
// One run: spawn `node main.js`; the app prints, once listening, its port and performance.now()
// (ms since its process started) after its imports and when listening; the driver then fetches
// one route of the last controller (checks 200 and the body). Reported per run:
//   spawn → listening      driver clock, spawn() → the port line
//   imports                in the app: process start → main.js's first statement (node's own start,
//                          module loading and evaluating every file, decorators included)
//   bootstrap              in the app: first statement → listening (Vela: bootstrap(); raw: wiring + listen)
//   first response         driver clock, spawn → the first answer
//   heap / RSS             at listening
// WARMUP pairs first (file cache), then RUNS pairs alternating vela, raw; medians, spreads and
// per-pair ratios. A pair during which other processes kept more than FOREIGN_LIMIT CPUs busy is
// unusable (marked !, left out of the medians when at least 5 usable pairs remain).
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, machine, loadMark, loadSince, foreignLoadLine, track } from './harness.mjs';

const CONTROLLERS = 200;
const ROUTES_PER_CONTROLLER = 10;
const GATEWAYS = 50;
const WARMUP = 1;
const RUNS = 7;
const EXTRA_RUNS = 3;
const FOREIGN_LIMIT = 0.3;
const RUN_TIMEOUT_MS = 30_000;

const dist = new URL('../dist/index.js', import.meta.url);
if (!existsSync(dist)) throw new Error('dist/ is missing: run `npm run build` first');
const resolveDep = (name) => import.meta.resolve(name);
const deps = { koa: resolveDep('koa'), router: resolveDep('@koa/router'), bodyparser: resolveDep('@koa/bodyparser'), ws: resolveDep('ws') };

// The 10 routes of every controller: method, path (under the controller's prefix), handler name.
const ROUTES = [
  ['get', '/items', 'list'],
  ['post', '/items', 'create'],
  ['get', '/items/:id', 'show'],
  ['put', '/items/:id', 'replace'],
  ['patch', '/items/:id', 'update'],
  ['delete', '/items/:id', 'remove'],
  ['get', '/items/:id/detail', 'detail'],
  ['get', '/items/:id/children/:child', 'child'],
  ['get', '/search', 'search'],
  ['get', '/stats', 'stats'],
];
if (ROUTES.length !== ROUTES_PER_CONTROLLER) throw new Error('ROUTES must list ROUTES_PER_CONTROLLER routes');
const pad = (i, w) => String(i).padStart(w, '0');

function generate(root) {
  const velaDir = join(root, 'vela');
  const rawDir = join(root, 'raw');
  for (const d of [join(velaDir, 'controllers'), join(velaDir, 'gateways'), join(rawDir, 'routes'), join(rawDir, 'gateways')]) mkdirSync(d, { recursive: true });
  const velaImports = [];
  const rawImports = [];
  const controllerNames = [];
  const registerNames = [];
  for (let c = 0; c < CONTROLLERS; c++) {
    const id = pad(c, 3);
    const cls = `C${id}Controller`;
    controllerNames.push(cls);
    const methods = ROUTES.map(([, , name], r) => `  ${name}(ctx) {\n    return json({ c: ${c}, r: ${r}, id: ctx.params.id ?? null });\n  }`).join('\n');
    const decorate = ROUTES.map(([method, path, name]) => `route(${JSON.stringify(path)}, ${JSON.stringify(method)}, ${JSON.stringify(name)});`).join('\n');
    writeFileSync(
      join(velaDir, 'controllers', `c${id}.js`),
      `import { Controller, Route, json } from ${JSON.stringify(dist.href)};\n\n` +
        `export class ${cls} {\n${methods}\n}\n\n` +
        `const route = (path, method, name) =>\n  Route(path, { methods: [method] })(${cls}.prototype, name, Object.getOwnPropertyDescriptor(${cls}.prototype, name));\n` +
        `${decorate}\nController({ prefix: '/c${id}' })(${cls});\n`,
    );
    velaImports.push(`import { ${cls} } from './controllers/c${id}.js';`);
    const fn = `registerC${id}`;
    registerNames.push(fn);
    const handlers = ROUTES.map(
      ([method, path], r) => `  router.${method}('/c${id}${path}', (ctx) => {\n    ctx.body = { c: ${c}, r: ${r}, id: ctx.params.id ?? null };\n  });`,
    ).join('\n');
    writeFileSync(join(rawDir, 'routes', `c${id}.js`), `export function ${fn}(router) {\n${handlers}\n}\n`);
    rawImports.push(`import { ${fn} } from './routes/c${id}.js';`);
  }
  const gatewayNames = [];
  const attachNames = [];
  for (let g = 0; g < GATEWAYS; g++) {
    const id = pad(g, 2);
    const cls = `G${id}Gateway`;
    gatewayNames.push(cls);
    writeFileSync(
      join(velaDir, 'gateways', `g${id}.js`),
      `import { WebSocket, OnMessage, OnInfo, reply, json } from ${JSON.stringify(dist.href)};\n\n` +
        `export class ${cls} {\n` +
        `  echo(text) {\n    return reply(text);\n  }\n` +
        `  ping(data) {\n    return reply(json({ event: 'pong', data, gateway: ${g} }));\n  }\n` +
        `  info(msg) {\n    return reply(json(msg));\n  }\n` +
        `  terminate() {}\n}\n\n` +
        `const method = (name) => Object.getOwnPropertyDescriptor(${cls}.prototype, name);\n` +
        `OnMessage()(${cls}.prototype, 'echo', method('echo'));\n` +
        `OnMessage('ping')(${cls}.prototype, 'ping', method('ping'));\n` +
        `OnInfo()(${cls}.prototype, 'info', method('info'));\n` +
        `WebSocket('/ws/g${id}')(${cls});\n`,
    );
    velaImports.push(`import { ${cls} } from './gateways/g${id}.js';`);
    const fn = `attachG${id}`;
    attachNames.push(fn);
    writeFileSync(
      join(rawDir, 'gateways', `g${id}.js`),
      `export function ${fn}(ws) {\n` +
        `  ws.on('error', () => {});\n` +
        `  ws.on('message', (data, isBinary) => {\n` +
        `    if (isBinary) return;\n` +
        `    const text = data.toString();\n` +
        `    let msg;\n    try {\n      msg = JSON.parse(text);\n    } catch {\n      return ws.send(text);\n    }\n` +
        `    if (msg && msg.event === 'ping') ws.send(JSON.stringify({ event: 'pong', data: msg.data, gateway: ${g} }));\n` +
        `    else ws.send(text);\n  });\n}\n`,
    );
    rawImports.push(`import { ${fn} } from './gateways/g${id}.js';`);
  }
  const report = `process.stdout.write(\`port=\${port} imported=\${tImported} listening=\${performance.now()} heap=\${process.memoryUsage().heapUsed} rss=\${process.memoryUsage().rss}\\n\`);\n`;
  writeFileSync(
    join(velaDir, 'main.js'),
    `import { bootstrap, Module } from ${JSON.stringify(dist.href)};\n${velaImports.join('\n')}\n\n` +
      `const tImported = performance.now();\n` +
      `class AppModule {}\n` +
      `Module({\n  controllers: [${controllerNames.join(', ')}],\n  gateways: [${gatewayNames.join(', ')}],\n})(AppModule);\n` +
      `const app = await bootstrap(AppModule, { port: 0, host: '127.0.0.1' });\n` +
      `const port = app.port;\n${report}` +
      `process.on('SIGTERM', () => app.close().then(() => process.exit(0)));\n`,
  );
  writeFileSync(
    join(rawDir, 'main.js'),
    `import { createServer } from 'node:http';\n` +
      `import Koa from ${JSON.stringify(deps.koa)};\n` +
      `import { Router } from ${JSON.stringify(deps.router)};\n` +
      `import { bodyParser } from ${JSON.stringify(deps.bodyparser)};\n` +
      `import { WebSocketServer } from ${JSON.stringify(deps.ws)};\n${rawImports.join('\n')}\n\n` +
      `const tImported = performance.now();\n` +
      `const app = new Koa();\napp.use(bodyParser());\nconst router = new Router();\n` +
      `${registerNames.map((fn) => `${fn}(router);`).join('\n')}\n` +
      `app.use(router.routes());\napp.use(router.allowedMethods());\n` +
      `const gateways = new Map();\n` +
      `${attachNames
        .map((fn, g) => `gateways.set('/ws/g${pad(g, 2)}', { wss: new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false }), attach: ${fn} });`)
        .join('\n')}\n` +
      `const server = createServer(app.callback());\n` +
      `server.on('upgrade', (req, socket, head) => {\n  const gateway = gateways.get(req.url);\n  if (!gateway) return socket.destroy();\n` +
      `  gateway.wss.handleUpgrade(req, socket, head, gateway.attach);\n});\n` +
      `await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));\n` +
      `const port = server.address().port;\n${report}` +
      `process.on('SIGTERM', () => process.exit(0));\n`,
  );
  return { vela: join(velaDir, 'main.js'), raw: join(rawDir, 'main.js') };
}

async function once(entry) {
  const started = performance.now();
  const child = track(spawn(process.execPath, [entry], { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] }));
  const mark = loadMark([child.pid]);
  try {
    const line = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`${entry}: no port line within ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
      child.stdout.on('data', (chunk) => {
        out += chunk;
        if (out.includes('\n') && /port=\d+/.test(out)) {
          clearTimeout(timer);
          resolve(out);
        }
      });
      child.once('exit', (code) => reject(new Error(`${entry} exited with ${code} before listening`)));
    });
    const listening = performance.now() - started;
    const field = (name) => Number(new RegExp(`${name}=([\\d.]+)`).exec(line)[1]);
    const c = CONTROLLERS - 1;
    const res = await fetch(`http://127.0.0.1:${field('port')}/c${pad(c, 3)}/items/42/children/7`);
    const body = await res.json();
    if (res.status !== 200 || body.c !== c || body.r !== 7 || body.id !== '42') {
      throw new Error(`${entry}: GET /c${pad(c, 3)}/items/42/children/7 answered ${res.status} ${JSON.stringify(body)}`);
    }
    const firstResponse = performance.now() - started;
    const { foreignCores } = loadSince(mark);
    return {
      listening,
      imported: field('imported'),
      bootstrap: field('listening') - field('imported'),
      firstResponse,
      heap: field('heap'),
      rss: field('rss'),
      foreignCores,
    };
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  }
}

const started = performance.now();
const root = mkdtempSync(join(tmpdir(), 'vela-bootstrap-'));
if (!process.env.BENCH_KEEP) process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const entries = generate(root);
const { date, node, nproc, commit } = machine();
console.log(
  `bootstrap: ${CONTROLLERS} controllers × ${ROUTES_PER_CONTROLLER} routes = ${(CONTROLLERS * ROUTES_PER_CONTROLLER).toLocaleString('en-US')} routes, ` +
    `${GATEWAYS} gateways; generated in ${root}`,
);
console.log(`node ${node}, nproc ${nproc}, commit ${commit}\n`);
const ms = (x) => `${x.toFixed(0)} ms`.padStart(7);
console.log('run       spawn→listening v / r   imports v / r     bootstrap v / r    first response v / r   heap MiB v / r   foreign CPUs');
const show = (label, v, r) =>
  console.log(
    `${label.padEnd(8)}  ${ms(v.listening)} / ${ms(r.listening)}  ${ms(v.imported)} / ${ms(r.imported)}  ${ms(v.bootstrap)} / ${ms(r.bootstrap)}  ` +
      `${ms(v.firstResponse)} / ${ms(r.firstResponse)}   ${(v.heap / 2 ** 20).toFixed(1).padStart(5)} / ${(r.heap / 2 ** 20).toFixed(1).padStart(5)}    ` +
      `${Math.max(v.foreignCores, r.foreignCores).toFixed(2)}${Math.max(v.foreignCores, r.foreignCores) > FOREIGN_LIMIT ? ' ! unusable' : ''}`,
  );
for (let i = 0; i < WARMUP; i++) show('warm-up', await once(entries.vela), await once(entries.raw));
const all = [];
for (let i = 1; i <= RUNS + EXTRA_RUNS; i++) {
  const usable = all.filter(({ foreign }) => foreign <= FOREIGN_LIMIT).length;
  if (i > RUNS && usable >= RUNS) break;
  // Alternate which one goes first, so neither always runs right after the other.
  const first = i % 2 ? 'vela' : 'raw';
  const a = await once(entries[first]);
  const b = await once(entries[first === 'vela' ? 'raw' : 'vela']);
  const [v, r] = first === 'vela' ? [a, b] : [b, a];
  all.push({ v, r, round: i, foreign: Math.max(v.foreignCores, r.foreignCores) });
  show(String(i), v, r);
}
const flagged = all.filter(({ foreign }) => foreign > FOREIGN_LIMIT).map(({ round, foreign }) => ({ round, foreignCores: foreign }));
const usable = all.filter(({ foreign }) => foreign <= FOREIGN_LIMIT);
const usedAll = usable.length < 5;
const pairs = usedAll ? all : usable;
const stat = (key) => {
  const vs = pairs.map(({ v }) => v[key]);
  const rs = pairs.map(({ r }) => r[key]);
  const ratios = pairs.map(({ v, r }) => v[key] / r[key]);
  const range = (xs) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
  return (
    `vela median ${median(vs).toFixed(0)} ms (${range(vs)}), raw ${median(rs).toFixed(0)} ms (${range(rs)}); ` +
    `per-pair vela/raw median ${median(ratios).toFixed(2)} (min ${Math.min(...ratios).toFixed(2)} – max ${Math.max(...ratios).toFixed(2)}); ` +
    `vela − raw median ${median(pairs.map(({ v, r }) => v[key] - r[key])).toFixed(0)} ms`
  );
};
const summary = [
  '---- bootstrap summary ----',
  'command: npm run bench:bootstrap',
  `date: ${date}   node: ${node}   nproc: ${nproc}   (shared, noisy machine: compare side by side)`,
  `commit: ${commit}`,
  `setup: generated plain-JS apps, one file per controller / gateway: ${CONTROLLERS} controllers × ${ROUTES_PER_CONTROLLER} routes ` +
    `(get/post/put/patch/delete, 0–2 path params) = ${(CONTROLLERS * ROUTES_PER_CONTROLLER).toLocaleString('en-US')} routes, ${GATEWAYS} gateways`,
  `       (text + 'ping' event + @OnInfo + terminate); vela: bootstrap(AppModule, { port: 0, host }) with defaults; raw: Koa + bodyParser +`,
  `       @koa/router (same paths and methods) + ${GATEWAYS} ws servers routed on 'upgrade'; ${WARMUP} warm-up pair + ${all.length} pairs, order alternating`,
  `spawn → listening:        ${stat('listening')}`,
  `  of which imports:       ${stat('imported')}`,
  `  of which bootstrap:     ${stat('bootstrap')}`,
  `spawn → first response:   ${stat('firstResponse')}`,
  `heap at listening: vela median ${(median(pairs.map(({ v }) => v.heap)) / 2 ** 20).toFixed(1)} MiB, raw ${(median(pairs.map(({ r }) => r.heap)) / 2 ** 20).toFixed(1)} MiB; ` +
    `RSS vela ${(median(pairs.map(({ v }) => v.rss)) / 2 ** 20).toFixed(1)} MiB, raw ${(median(pairs.map(({ r }) => r.rss)) / 2 ** 20).toFixed(1)} MiB`,
  foreignLoadLine(FOREIGN_LIMIT, flagged, all.length, usedAll),
  `total run time: ${((performance.now() - started) / 1000).toFixed(0)} s`,
];
console.log(`\n${summary.join('\n')}`);
