// Packs Vela as npm would publish it, installs the tarball into a scratch project and runs an app
// from plain Node ESM. Catches a broken `exports`, a missing file or an undeclared dependency.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;

// Decorators applied by hand: plain Node ESM has no decorator syntax, and this is what tsc emits.
const APP = `
import { Controller, Module, Route, bootstrap, json } from 'vela';

class Hello { hi(ctx) { return json({ hello: ctx.params.name }); } }
Route('/hi/:name')(Hello.prototype, 'hi', Object.getOwnPropertyDescriptor(Hello.prototype, 'hi'));
Controller({ prefix: '/api' })(Hello);
class AppModule {}
Module({ controllers: [Hello] })(AppModule);

const app = await bootstrap(AppModule, { port: 0, host: '127.0.0.1', client: true });
const res = await fetch(app.url + '/api/hi/vela');
const script = await fetch(app.url + '/vela/client.js');
const client = await import('vela/client');
console.log(JSON.stringify({
  status: res.status,
  body: await res.json(),
  client: { status: script.status, connect: (await script.text()).includes('export function connect('), exported: typeof client.connect },
}));
await app.close();
`;

// What a user's own test does with vela/testing, without a test runner.
const TESTING = `
import { Controller, Module, OnMessage, Route, WebSocket, json, reply } from 'vela';
import { startTestApp } from 'vela/testing';

class Hello { hi(ctx) { return json({ hello: ctx.params.name }); } }
Route('/hi/:name')(Hello.prototype, 'hi', Object.getOwnPropertyDescriptor(Hello.prototype, 'hi'));
Controller({ prefix: '/api' })(Hello);
class Echo { say(text) { return reply('Echo: ' + text); } }
OnMessage()(Echo.prototype, 'say', Object.getOwnPropertyDescriptor(Echo.prototype, 'say'));
WebSocket('/echo')(Echo);
class AppModule {}
Module({ controllers: [Hello], gateways: [Echo] })(AppModule);

const app = await startTestApp(AppModule);
const res = await app.http.get('/api/hi/vela');
const body = await res.json();
const ws = await app.ws('/echo');
ws.sendText('hi');
const echoed = await ws.recv();
await app.close();
console.log(JSON.stringify({ status: res.status, body, echoed, closed: await ws.closed }));
`;

// A TypeScript CommonJS project (`"type": "commonjs"`, module nodenext): decorators, types resolved
// through `exports`, compiled to `require('vela')` and `require('vela/testing')`, which Node ≥ 20.19
// loads from Vela's ESM build (require of ES modules).
const CJS_APP = `
import { Controller, Module, Route, json, type Context } from 'vela';
import { startTestApp } from 'vela/testing';

@Controller({ prefix: '/api' })
class Hello {
  @Route('/hi/:name')
  hi(ctx: Context) {
    return json({ hello: ctx.params.name });
  }
}

@Module({ controllers: [Hello] })
class AppModule {}

void (async () => {
  const app = await startTestApp(AppModule);
  const res = await app.http.get('/api/hi/vela');
  console.log(JSON.stringify({ status: res.status, body: await res.json() }));
  await app.close();
})();
`;

const CJS_TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    outDir: 'out',
    typeRoots: [join(root, 'node_modules/@types')],
    types: ['node'],
  },
  files: ['app.ts'],
};

describe('npm package', () => {
  let scratch: string;
  let files: string[];
  let tarball: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'vela-pack-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root });
    // `npm pack` runs `prepare` (the build), whose output precedes the JSON report.
    const report = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    files = report[0]!.files.map((f) => f.path);
    tarball = join(scratch, report[0]!.filename);
  }, 120_000);

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('ships the build, its types and the README, and no sources or tests', () => {
    expect(files).toEqual(
      expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/testing/index.js', 'dist/testing/index.d.ts', 'dist/client/index.js', 'dist/client/index.d.ts']),
    );
    expect(files.filter((f) => /^(src|test|example|bench|\.ci)\//.test(f))).toEqual([]);
  });

  it('installs from the tarball and serves an app, and the browser client, from plain Node ESM', async () => {
    await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
    await run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: scratch });
    await writeFile(join(scratch, 'app.mjs'), APP);
    const { stdout } = await run(process.execPath, ['app.mjs'], { cwd: scratch });
    // The app's own line among the request log's (JSON lines too, written in batches, so in any order).
    const printed = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(printed.filter((line) => line.msg === 'request').map((line) => line.path)).toEqual(['/api/hi/vela', '/vela/client.js']);
    expect(printed.find((line) => line.msg === undefined)).toEqual({
      status: 200,
      body: { hello: 'vela' },
      client: { status: 200, connect: true, exported: 'function' },
    });
  }, 120_000);

  it("imports 'vela/testing' from plain Node ESM and tests an app with it, printing nothing else", async () => {
    // The scratch project installed by the test above.
    await writeFile(join(scratch, 'testing.mjs'), TESTING);
    const { stdout, stderr } = await run(process.execPath, ['testing.mjs'], { cwd: scratch });
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual({
      status: 200,
      body: { hello: 'vela' },
      echoed: 'Echo: hi',
      closed: { code: 1001, reason: 'server shutting down' },
    });
  }, 60_000);

  it("type-checks and runs from a TypeScript CommonJS project: require('vela') and require('vela/testing')", async () => {
    // Inside the scratch project installed above, as its own CommonJS package.
    const cjs = join(scratch, 'cjs');
    await mkdir(cjs, { recursive: true });
    await writeFile(join(cjs, 'package.json'), JSON.stringify({ name: 'scratch-cjs', private: true, type: 'commonjs' }));
    await writeFile(join(cjs, 'tsconfig.json'), JSON.stringify(CJS_TSCONFIG));
    await writeFile(join(cjs, 'app.ts'), CJS_APP);
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: cjs });
    const { stdout, stderr } = await run(process.execPath, ['out/app.js'], { cwd: cjs });
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual({ status: 200, body: { hello: 'vela' } });
  }, 120_000);
});
