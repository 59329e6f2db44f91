// Importing `vela` leaves ioredis and LiquidJS unloaded until an app uses them: together they were
// about a sixth of a large app's cold start, paid by apps on the memory defaults that never render.
// @opentelemetry/api stays unloaded too until an app registers an OpenTelemetry SDK.
// Run in a fresh Node process (from the sources, through tsx), since this one has loaded them already.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

// All are CommonJS packages, so a load shows in the require cache.
const SCRIPT = `
import { createRequire } from 'node:module';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const loaded = () => {
  const files = Object.keys(createRequire(import.meta.url).cache);
  return ['ioredis', 'liquidjs', '@opentelemetry/api'].filter((name) => files.some((file) => file.includes('/node_modules/' + name + '/')));
};
const vela = await import(${JSON.stringify(`${root}src/index.ts`)});
const views = await mkdtemp(join(tmpdir(), 'vela-lazy-'));
await writeFile(join(views, 'hello.liquid'), 'Hello {{ name }}');
const engine = vela.liquidEngine({ dir: views });
const store = vela.redisSessionStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
const afterImport = loaded();
const html = await engine.render('hello', { name: '<vela>' });
const afterRender = loaded();
await store.load('no-such-session');
const afterConnect = loaded();
await store.close();
// Decorators applied by hand (this is plain ESM): a request served with no OpenTelemetry SDK.
class Hello { hi() { return vela.json({ hi: true }); } }
vela.Route('/hi')(Hello.prototype, 'hi', Object.getOwnPropertyDescriptor(Hello.prototype, 'hi'));
vela.Controller({})(Hello);
class AppModule {}
vela.Module({ controllers: [Hello] })(AppModule);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const app = await vela.bootstrap(AppModule, { port: 0, host: '127.0.0.1', logger: quiet });
const served = (await fetch(app.url + '/hi')).status;
await app.close();
const afterRequest = loaded();
console.log(JSON.stringify({ afterImport, html, afterRender, afterConnect, served, afterRequest }));
`;

describe("import 'vela'", () => {
  it('loads LiquidJS at the first render and ioredis when a Redis store connects, not before, and no OpenTelemetry without an SDK', async () => {
    const { stdout } = await run(process.execPath, ['--import', tsx, '--input-type=module', '-e', SCRIPT], { cwd: root, timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual({
      afterImport: [],
      html: 'Hello &lt;vela&gt;',
      afterRender: ['liquidjs'],
      afterConnect: ['ioredis', 'liquidjs'],
      served: 200,
      afterRequest: ['ioredis', 'liquidjs'],
    });
  });
});
