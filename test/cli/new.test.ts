// `vela new`: the scaffolded app installs Vela from a packed tarball, as a user's npm would, and
// passes its own test (type check + vitest over real HTTP and WebSocket) without a single edit.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildPackage, runCli, SOURCE_CLI } from './support.js';

const run = promisify(execFile);

/** The environment of a user's shell: nothing of the vitest running this test, and no colours. */
function userEnv(): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([key]) => !/^(VITEST|NODE_ENV$|TEST$|FORCE_COLOR$)/.test(key));
  return { ...Object.fromEntries(inherited), NO_COLOR: '1' };
}

describe('vela new', () => {
  it('scaffolds an app that installs, passes its own test and lists its routes', async () => {
    const built = await buildPackage();
    try {
      const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', built.scratch], { cwd: built.dir });
      const report = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
      const tarball = join(built.scratch, report[0]!.filename);
      expect(report[0]!.files.map((f) => f.path)).toEqual(
        expect.arrayContaining(['dist/cli/main.js', 'templates/new/package.json', 'templates/new/gitignore', 'templates/new/test/app.test.ts']),
      );

      const created = await runCli(built.cli, ['new', 'My App', '--vela', tarball], built.scratch);
      expect(created.code).toBe(0);
      expect(created.output).toMatch(/^Created my-app in My App:$/m);
      const app = join(built.scratch, 'My App');
      const manifest = JSON.parse(await readFile(join(app, 'package.json'), 'utf8')) as { name: string; dependencies: Record<string, string> };
      expect(manifest.name).toBe('my-app');
      expect(manifest.dependencies.vela).toBe(`file:${tarball}`);
      expect(await readFile(join(app, '.gitignore'), 'utf8')).toContain('node_modules/');

      const env = userEnv();
      await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, env });
      const test = await run('npm', ['test'], { cwd: app, env });
      expect(test.stdout).toMatch(/Tests\s+2 passed/);

      const listed = await run('npx', ['vela', 'routes'], { cwd: app, env });
      expect(listed.stdout).toMatch(/^GET {2,}\/hello\/:name {2,}HelloController\.greet {2,}public$/m);
      expect(listed.stdout).toMatch(/^\/echo {2,}EchoGateway {2,}public {2,}text → echo$/m);
    } finally {
      await built.remove();
    }
  }, 180_000);

  it('refuses a directory that is not empty', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'vela-new-'));
    try {
      await mkdir(join(scratch, 'taken'));
      await writeFile(join(scratch, 'taken', 'notes.txt'), 'mine');
      expect(await runCli(SOURCE_CLI, ['new', 'taken'], scratch)).toEqual({
        code: 1,
        output: 'vela new: taken is not empty (notes.txt): vela new only writes into a new or empty directory.',
      });
      expect(await readFile(join(scratch, 'taken', 'notes.txt'), 'utf8')).toBe('mine');
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
