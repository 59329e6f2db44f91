// `vela new <dir>`: copies templates/new (shipped with the package) into a new directory, with the
// app's name and its `vela` dependency filled in (vela-source.ts: a registry range, or this Vela
// packed into the app). The result installs, builds and passes its own test as it is, so a new
// user starts from something that works.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, displayPath } from './cli-error.js';
import { velaSource, type VelaSource } from './vela-source.js';

const TEMPLATES = fileURLToPath(new URL('../../templates/new/', import.meta.url));

/** npm skips `.gitignore` files when packing, so the template's is stored without its dot. */
const RENAMED: Readonly<Record<string, string>> = { gitignore: '.gitignore' };

export interface NewOptions {
  /** Where to create the app; it must not exist, or be empty. */
  dir: string;
  /**
   * The `vela` dependency to write: a version range, or a tarball or directory path. Default: this
   * Vela, as `^<version>` when it came from the npm registry, else packed into the app's vendor/.
   */
  vela?: string;
  cwd?: string;
}

export interface NewResult {
  /** The app's directory. */
  dir: string;
  /** The package name, from the directory's name. */
  name: string;
  /** Created files, relative to `dir`. */
  files: string[];
}

export async function newApp(options: NewOptions): Promise<NewResult> {
  const cwd = options.cwd ?? process.cwd();
  const dir = resolve(cwd, options.dir);
  await requireEmpty(dir, cwd);
  if (options.vela === '') throw new CliError('--vela needs a value: a version range such as ^0.1.0, or a path to a vela tarball.');
  const name = packageName(basename(dir));
  const templates = await listFiles(TEMPLATES);
  await mkdir(dir, { recursive: true });
  const vela = await dependency(options.vela, dir, cwd);
  const values = { name, vela: vela.spec, velaNote: vela.note };
  const files = vela.vendored === undefined ? [] : [vela.vendored];
  for (const template of templates) {
    const target = join(dir, ...relative(TEMPLATES, template).split(/[/\\]/).map((part) => RENAMED[part] ?? part));
    const json = template.endsWith('.json');
    const text = (await readFile(template, 'utf8')).replace(/\{\{(name|vela|velaNote)\}\}/g, (_, key: keyof typeof values) => {
      const value = values[key];
      return json ? JSON.stringify(value).slice(1, -1) : value;
    });
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text, { flag: 'wx' });
    files.push(relative(dir, target));
  }
  return { dir, name, files: files.sort() };
}

/** The lines `vela new` prints after creating the app. */
export function describeNewApp(result: NewResult, cwd: string = process.cwd()): string {
  const where = displayPath(result.dir, cwd);
  return [
    `Created ${result.name} in ${where}:`,
    ...result.files.map((file) => `  ${file}`),
    '',
    'Next:',
    `  cd ${where}`,
    '  npm install',
    '  npm test          # the app answers HTTP and WebSocket',
    '  npx vela serve    # runs src/main.ts on http://localhost:8080, restarting on changes',
    '  npx vela routes   # lists its routes and gateways',
  ].join('\n');
}

async function requireEmpty(dir: string, cwd: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) return;
  if (!info.isDirectory()) throw new CliError(`${displayPath(dir, cwd)} exists and is not a directory.`);
  const entries = await readdir(dir);
  if (entries.length > 0) {
    throw new CliError(`${displayPath(dir, cwd)} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}): vela new only writes into a new or empty directory.`);
  }
}

/** `My App` → `my-app`: what npm accepts as a package name. */
function packageName(base: string): string {
  const name = base
    .toLowerCase()
    .replace(/[^a-z0-9._~-]+/g, '-')
    .replace(/^[._-]+|-+$/g, '');
  return name || 'vela-app';
}

/** `--vela` as given, else this Vela (vela-source.ts). */
async function dependency(spec: string | undefined, dir: string, cwd: string): Promise<VelaSource> {
  if (spec === undefined) return velaSource(dir, await velaVersion());
  // A path (tarball or directory) becomes a `file:` spec, absolute so it survives the move into `dir`.
  const isPath = spec.startsWith('.') || isAbsolute(spec) || spec.endsWith('.tgz');
  const written = isPath ? `file:${resolve(cwd, spec)}` : spec;
  return { spec: written, note: `Vela comes from \`${written}\` (package.json), as \`vela new --vela\` was told.` };
}

export async function velaVersion(): Promise<string> {
  const manifest = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`the app templates are missing from this vela install (${dir}: ${error.code}); reinstall vela.`);
  });
  const nested = await Promise.all(
    entries.map((entry) => (entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)])),
  );
  return nested.flat();
}
