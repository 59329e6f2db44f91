// `vela new`, as README's first commands run it: from a checkout (`npx vela new ../my-app`) and from
// a packed tarball (`npx ./vela-0.1.0.tgz new ../my-app`), in a scratch folder outside this
// repository. The app gets that Vela as a tarball in its vendor/ folder (no registry involved),
// installs, passes its own test (type check + vitest over real HTTP and WebSocket) without a single
// edit, serves with `npm start`, and lists its routes.
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, runCli, SOURCE_CLI } from './support.js';

const run = promisify(execFile);

/** The environment of a user's shell: nothing of the vitest running this test, and no colours. */
function userEnv(): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([key]) => !/^(VITEST|NODE_ENV$|TEST$|FORCE_COLOR$|npm_)/.test(key));
  return { ...Object.fromEntries(inherited), NO_COLOR: '1' };
}

interface Manifest {
  name: string;
  dependencies: Record<string, string>;
}

const readJson = async <T>(file: string) => JSON.parse(await readFile(file, 'utf8')) as T;

/**
 * A clone of this checkout in `dir`, as `npm install` leaves it: the files git knows (committed or
 * not), this checkout's node_modules linked in (npm install's download), then dist/ built by
 * `npm run build` (npm install's `prepare` script).
 */
async function cloneCheckout(dir: string): Promise<void> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  for (const file of stdout.split('\0').filter(Boolean)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await cp(join(root, file), join(dir, file)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // deleted in the working tree, not yet in git
    });
  }
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await run('npm', ['run', 'build'], { cwd: dir, env: userEnv() });
}

/** `npm start` in `app` on a free port: resolves with its URL once it listens, and a stop function. */
async function npmStart(app: string): Promise<{ url: string; stop(): Promise<void> }> {
  // Its own process group: npm runs the app under a shell, and stopping means stopping all three.
  const child = spawn('npm', ['start'], { cwd: app, env: { ...userEnv(), PORT: '0' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const printed: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        printed.push(line);
        const found = /http:\/\/[\w.[\]:-]+/.exec(line);
        if (found && /listening/.test(line)) resolve(found[0]);
      });
    }
    void exited.then(() => reject(new Error(`npm start exited before listening:\n${printed.join('\n')}`)));
  });
  return {
    url,
    async stop() {
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    },
  };
}

describe('vela new', () => {
  let scratch: string;
  let checkout: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'vela-new-'));
    checkout = join(scratch, 'vela');
    await cloneCheckout(checkout);
  }, 300_000);

  afterAll(async () => {
    if (!scratch) return;
    await rm(scratch, { recursive: true, force: true });
    // npx installs what it runs (the checkout, the tarball) into folders of npm's cache: scratch too.
    const npxCache = join((await run('npm', ['config', 'get', 'cache'])).stdout.trim(), '_npx');
    for (const entry of await readdir(npxCache).catch(() => [])) {
      const manifest = await readFile(join(npxCache, entry, 'package.json'), 'utf8').catch(() => '');
      if (manifest.includes(basename(scratch))) await rm(join(npxCache, entry), { recursive: true, force: true });
    }
  }, 60_000);

  it('from a checkout: npx vela new ../my-app makes an app that installs, passes its own test, serves and lists its routes', async () => {
    const env = userEnv();
    const created = await run('npx', ['vela', 'new', '../my-app'], { cwd: checkout, env });
    const app = join(scratch, 'my-app');
    expect(created.stdout).toContain(`Created my-app in ${app}:\n`);
    expect(created.stdout).toMatch(/^ {2}vendor\/vela-0\.1\.0\.tgz$/m);
    expect((await readJson<Manifest>(join(app, 'package.json'))).dependencies.vela).toBe('file:vendor/vela-0.1.0.tgz');
    const readme = await readFile(join(app, 'README.md'), 'utf8');
    expect(readme).toContain('Vela is installed from `vendor/vela-0.1.0.tgz` (packed from the Vela checkout that created this app)');
    expect(readme).not.toMatch(/npmjs\.com/);
    expect(await readFile(join(app, '.gitignore'), 'utf8')).toContain('node_modules/');

    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, env });
    const test = await run('npm', ['test'], { cwd: app, env });
    expect(test.stdout).toMatch(/Tests\s+2 passed/);

    const server = await npmStart(app);
    try {
      const res = await fetch(`${server.url}/hello/vela`);
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { greeting: 'Hello, vela!' } });
    } finally {
      await server.stop();
    }

    const listed = await run('npx', ['vela', 'routes'], { cwd: app, env });
    expect(listed.stdout).toMatch(/^GET {2,}\/hello\/:name {2,}HelloController\.greet {2,}public$/m);
    expect(listed.stdout).toMatch(/^\/echo {2,}EchoGateway {2,}public {2,}text → echo$/m);
  }, 600_000);

  it('from a tarball: npm pack, then npx ./vela-0.1.0.tgz new ../tarball-app vendors that very tarball', async () => {
    const env = userEnv();
    await run('npm', ['pack', '--ignore-scripts'], { cwd: checkout, env }); // built by beforeAll
    const created = await run('npx', ['--yes', '--prefer-offline', './vela-0.1.0.tgz', 'new', '../tarball-app'], { cwd: checkout, env });
    expect(created.stdout).toContain(`Created tarball-app in ${join(scratch, 'tarball-app')}:\n`);
    const app = join(scratch, 'tarball-app');
    expect((await readJson<Manifest>(join(app, 'package.json'))).dependencies.vela).toBe('file:vendor/vela-0.1.0.tgz');
    expect(await readFile(join(app, 'vendor/vela-0.1.0.tgz'))).toEqual(await readFile(join(checkout, 'vela-0.1.0.tgz')));
    expect(await readFile(join(app, 'README.md'), 'utf8')).toContain('(a copy of the Vela tarball that created this app)');
  }, 300_000);

  it('writes a ^version range only for a Vela installed from the npm registry', async () => {
    // A project whose npm record says vela came from the registry; the vela in it is the checkout's build.
    const project = join(scratch, 'registry');
    const installed = join(project, 'node_modules/vela');
    await mkdir(installed, { recursive: true });
    for (const file of ['package.json', 'dist', 'templates']) await cp(join(checkout, file), join(installed, file), { recursive: true });
    const resolved = 'https://registry.npmjs.org/vela/-/vela-0.1.0.tgz';
    await writeFile(join(project, 'node_modules/.package-lock.json'), JSON.stringify({ packages: { 'node_modules/vela': { version: '0.1.0', resolved } } }));

    expect((await runCli([join(installed, 'dist/cli/main.js')], ['new', 'app'], project)).code).toBe(0);
    expect((await readJson<Manifest>(join(project, 'app/package.json'))).dependencies.vela).toBe('^0.1.0');
    expect(await readFile(join(project, 'app/README.md'), 'utf8')).toContain('Vela comes from the npm registry (`"vela": "^0.1.0"` in package.json).');

    expect((await runCli([join(installed, 'dist/cli/main.js')], ['new', 'other', '--vela', '~0.1.2'], project)).code).toBe(0);
    expect((await readJson<Manifest>(join(project, 'other/package.json'))).dependencies.vela).toBe('~0.1.2');
  });

  it('refuses a directory that is not empty', async () => {
    await mkdir(join(scratch, 'taken'));
    await writeFile(join(scratch, 'taken', 'notes.txt'), 'mine');
    expect(await runCli(SOURCE_CLI, ['new', 'taken'], scratch)).toEqual({
      code: 1,
      output: 'vela new: taken is not empty (notes.txt): vela new only writes into a new or empty directory.',
    });
    expect(await readFile(join(scratch, 'taken', 'notes.txt'), 'utf8')).toBe('mine');
  });
});
