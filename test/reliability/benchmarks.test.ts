// Case 45 (issue 13 item 15): a benchmark figure must say what it measured. Every bench refuses to
// run outside NODE_ENV=production or on a dist/ older than src/, and prints the commit it measured.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

/** Runs `node <args>` from the checkout; exit code and output, never a throw. */
async function node(args: string[], env: Record<string, string | undefined>, cwd = root) {
  const { NODE_ENV: _, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd, env: { ...inherited, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

describe('45. benchmarks measure what they say', { timeout: 30_000 }, () => {
  it('45. a bench refuses to start without NODE_ENV=production, saying how to set it', async () => {
    // Every bench's own process loads bench/harness.mjs first; loading it is enough to be refused.
    const harness = join(root, 'bench/harness.mjs');
    for (const env of [{}, { NODE_ENV: 'development' }]) {
      const { code, stderr } = await node([harness], env);
      expect(code).not.toBe(0);
      expect(stderr).toMatch(/benchmarks run under NODE_ENV=production .*npm run bench:http/);
    }
  });

  it('45. a bench refuses a dist/ older than any file of src/, naming it and `npm run build`', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vela-bench-'));
    try {
      await mkdir(join(dir, 'bench'));
      await mkdir(join(dir, 'dist'));
      await mkdir(join(dir, 'src/http'), { recursive: true });
      await cp(join(root, 'bench/preflight.mjs'), join(dir, 'bench/preflight.mjs'));
      await writeFile(join(dir, 'dist/index.js'), '');
      await writeFile(join(dir, 'src/index.ts'), '');
      await writeFile(join(dir, 'src/http/router.ts'), '');
      const check = ['--input-type=module', '-e', `import { preflight } from './bench/preflight.mjs'; preflight(); console.log('ok');`];

      await utimes(join(dir, 'src/index.ts'), new Date(2026, 0, 1), new Date(2026, 0, 1));
      await utimes(join(dir, 'src/http/router.ts'), new Date(2026, 0, 1), new Date(2026, 0, 1));
      await utimes(join(dir, 'dist/index.js'), new Date(2026, 0, 2), new Date(2026, 0, 2));
      expect((await node(check, { NODE_ENV: 'production' }, dir)).stdout).toBe('ok\n');

      await utimes(join(dir, 'src/http/router.ts'), new Date(2026, 0, 3), new Date(2026, 0, 3));
      const stale = await node(check, { NODE_ENV: 'production' }, dir);
      expect(stale.code).not.toBe(0);
      expect(stale.stderr).toContain('dist/ is older than src/http/router.ts: run `npm run build`');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('45. the commit a bench prints is the full HEAD, marked dirty when the tree differs from it', async () => {
    const print = ['--input-type=module', '-e', `import { commit } from './bench/preflight.mjs'; console.log(commit());`];
    const { stdout } = await node(print, {});
    const head = (await run('git', ['rev-parse', 'HEAD'], { cwd: root })).stdout.trim();
    const dirty = (await run('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root })).stdout.trim() !== '';
    expect(stdout.trim()).toBe(dirty ? `${head} dirty` : head);
  });
});
