// scripts/build.mjs, which `npm run build` and `npm start` run: TypeScript's incremental build
// (tsc -b) compiles only what changed, and a build record that outlived its outputs (dist/ deleted,
// the .tsbuildinfo kept) never leaves them missing. Run on a two-file project of its own, not on
// this checkout's dist/, which other test files import while this one runs.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BUILD = new URL('../scripts/build.mjs', import.meta.url).pathname;

const COMPILER_OPTIONS = { module: 'nodenext', target: 'es2022', strict: true, types: [], rootDir: 'src', outDir: 'dist' };

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vela-build-'));
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await writeFile(join(dir, 'src/a.ts'), "export const a: string = 'a';\n");
  await writeFile(join(dir, 'src/b.ts'), "import { a } from './a.js';\nexport const b = `${a}b`;\n");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `dir/<name>` as a tsconfig with these compiler options over the defaults. */
async function tsconfig(name: string, options: Record<string, unknown>): Promise<void> {
  await writeFile(join(dir, name), JSON.stringify({ compilerOptions: { ...COMPILER_OPTIONS, ...options }, include: ['src'] }));
}

async function build(project: string): Promise<string> {
  const { stdout } = await run(process.execPath, [BUILD, project], { cwd: dir });
  return stdout;
}

/** Each output's modification time, by name; undefined when it is missing. */
async function outputs(...names: string[]): Promise<Record<string, number | undefined>> {
  const times = await Promise.all(names.map(async (name) => (await stat(join(dir, name)).catch(() => undefined))?.mtimeMs));
  return Object.fromEntries(names.map((name, i) => [name, times[i]]));
}

/** Marks a source as edited after the last build, whatever the clock's resolution. */
async function touchAfterBuild(source: string, record: string): Promise<void> {
  const built = (await stat(join(dir, record))).mtime;
  const later = new Date(built.getTime() + 1000);
  await utimes(join(dir, source), later, later);
}

// Each build starts tsc (a few seconds on a busy machine).
describe('scripts/build.mjs', { timeout: 120_000 }, () => {
  it('compiles nothing when nothing changed, and only the edited file after an edit', async () => {
    await tsconfig('tsconfig.json', { composite: true, tsBuildInfoFile: 'dist/build.tsbuildinfo' });
    await build('tsconfig.json');
    const first = await outputs('dist/a.js', 'dist/b.js', 'dist/a.d.ts', 'dist/b.d.ts');
    expect(Object.values(first).every((time) => time !== undefined)).toBe(true);

    expect(await build('tsconfig.json')).toBe('');
    expect(await outputs('dist/a.js', 'dist/b.js', 'dist/a.d.ts', 'dist/b.d.ts')).toEqual(first);

    await writeFile(join(dir, 'src/b.ts'), "import { a } from './a.js';\nexport const b = `${a}B`;\n");
    await touchAfterBuild('src/b.ts', 'dist/build.tsbuildinfo');
    await build('tsconfig.json');
    const after = await outputs('dist/a.js', 'dist/b.js');
    expect(after['dist/a.js']).toBe(first['dist/a.js']);
    expect(after['dist/b.js']).toBeGreaterThan(first['dist/b.js']!);
  });

  it('compiles a deleted output again, although tsc -b alone would call the project up to date', async () => {
    await tsconfig('tsconfig.json', { composite: true, tsBuildInfoFile: 'dist/build.tsbuildinfo' });
    await build('tsconfig.json');
    await rm(join(dir, 'dist/b.js'));

    expect(await build('tsconfig.json')).toBe('tsconfig.json: dist/b.js is missing; compiling the whole project\n');
    expect(await outputs('dist/b.js')).toEqual({ 'dist/b.js': expect.any(Number) });
  });

  it('builds dist/ again after it was deleted while the .tsbuildinfo, kept elsewhere, was not', async () => {
    // Plain --incremental, its record outside the outputs: the case tsc alone gets wrong.
    await tsconfig('tsconfig.json', { incremental: true, tsBuildInfoFile: '.cache/build.tsbuildinfo' });
    await build('tsconfig.json');
    await rm(join(dir, 'dist'), { recursive: true });

    expect(await build('tsconfig.json')).toBe('tsconfig.json: dist/a.js is missing; compiling the whole project\n');
    expect(Object.values(await outputs('dist/a.js', 'dist/b.js')).every((time) => time !== undefined)).toBe(true);
  });

  it('fails with the compiler errors and a non-zero exit when the project does not compile', async () => {
    await tsconfig('tsconfig.json', { composite: true, tsBuildInfoFile: 'dist/build.tsbuildinfo' });
    await writeFile(join(dir, 'src/a.ts'), 'export const a: string = 1;\n');

    await expect(build('tsconfig.json')).rejects.toMatchObject({ code: 1, stdout: expect.stringContaining("src/a.ts(1,14): error TS2322: Type 'number' is not assignable to type 'string'.") });
  });
});
