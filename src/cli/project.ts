// The user's project as the CLI sees it: its own TypeScript compiler and tsx, found from the
// working directory first (the versions the project chose), then next to Vela; and where tsc emits
// a given source file, read through TypeScript's own API rather than guessed from outDir.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as TS from 'typescript';
import { CliError, displayPath } from './cli-error.js';

/** A TypeScript (or JavaScript) source extension the project compiles. */
export const TYPESCRIPT_FILE = /\.(c|m)?tsx?$/;

/** Where `id` resolves from the project, else from Vela's own install; undefined if neither has it. */
export function resolveFromProject(id: string, cwd: string): string | undefined {
  for (const from of [join(cwd, 'package.json'), import.meta.url]) {
    try {
      return createRequire(from).resolve(id);
    } catch {
      // Not installed there: try the next place.
    }
  }
  return undefined;
}

export interface ProjectTypescript {
  ts: typeof TS;
  /** `typescript/lib/tsc.js`, run with this Node. */
  tsc: string;
}

export function loadTypescript(cwd: string): ProjectTypescript {
  const manifest = resolveFromProject('typescript/package.json', cwd);
  if (!manifest) {
    throw new CliError(
      `a .ts entry is compiled with the project's TypeScript, and none is installed here: run npm install -D typescript, or pass the compiled .js entry.`,
    );
  }
  const ts = createRequire(manifest)('typescript') as typeof TS;
  return { ts, tsc: join(dirname(manifest), 'lib', 'tsc.js') };
}

export interface CompiledEntry {
  /** The tsconfig.json tsc is run with. */
  tsconfig: string;
  /** The JavaScript file tsc emits for the entry. */
  output: string;
}

/**
 * Reads the tsconfig (the one given, else the nearest above the entry) the way tsc does, checks
 * that it emits the entry, and returns the emitted file.
 */
export function compiledEntry(ts: typeof TS, entry: string, project: string | undefined, cwd: string): CompiledEntry {
  const tsconfig = project
    ? resolve(cwd, project)
    : ts.findConfigFile(dirname(entry), (file) => ts.sys.fileExists(file), 'tsconfig.json');
  if (!tsconfig || !ts.sys.fileExists(tsconfig)) {
    throw new CliError(
      project
        ? `${project} does not exist.`
        : `no tsconfig.json found above ${displayPath(entry, cwd)}: create one, or pass it with --project path/to/tsconfig.json.`,
    );
  }
  const problems: TS.Diagnostic[] = [];
  const parsed = ts.getParsedCommandLineOfConfigFile(tsconfig, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => problems.push(diagnostic),
  });
  problems.push(...(parsed?.errors ?? []));
  if (!parsed || problems.length > 0) {
    const text = ts.formatDiagnostics(problems, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => cwd,
      getNewLine: () => '\n',
    });
    throw new CliError(`${displayPath(tsconfig, cwd)} cannot be read:\n${text.trim()}`);
  }
  const where = displayPath(tsconfig, cwd);
  if (parsed.options.noEmit) {
    throw new CliError(
      `${where} sets noEmit, so tsc writes nothing to run: set "outDir" and "noEmit": false, or pass a build tsconfig with --project.`,
    );
  }
  const ignoreCase = !ts.sys.useCaseSensitiveFileNames;
  const canonical = (file: string) => (ignoreCase ? resolve(file).toLowerCase() : resolve(file));
  if (!parsed.fileNames.some((file) => canonical(file) === canonical(entry))) {
    throw new CliError(`${displayPath(entry, cwd)} is not compiled by ${where}: add it to "include" or "files", or pass another tsconfig with --project.`);
  }
  const output = ts.getOutputFileNames(parsed, entry, ignoreCase).find((file) => /\.(c|m)?js$/.test(file));
  if (!output) throw new CliError(`${where} emits no JavaScript for ${displayPath(entry, cwd)} (emitDeclarationOnly?).`);
  return { tsconfig, output: resolve(output) };
}

/** The module namespace of a `.ts` file, loaded through tsx. */
export async function importTypescript(file: string, tsconfig: string | undefined, cwd: string): Promise<Record<string, unknown>> {
  const api = resolveImport('tsx', './esm/api', cwd);
  if (!api) {
    throw new CliError(
      `${displayPath(file, cwd)} is TypeScript, which vela routes loads with tsx, and tsx is not installed here: ` +
        `run npm install -D tsx, or pass the compiled file (e.g. build/app.module.js).`,
    );
  }
  const { tsImport } = (await import(pathToFileURL(api).href)) as TsxApi;
  if (typeof tsImport !== 'function') throw new CliError(`the tsx found at ${api} has no tsImport(); vela needs tsx 4.16 or later.`);
  return (await tsImport(pathToFileURL(file).href, {
    parentURL: import.meta.url,
    ...(tsconfig ? { tsconfig: resolve(cwd, tsconfig) } : {}),
  })) as Record<string, unknown>;
}

/**
 * The file `import '<name><subpath>'` loads, resolved from the project. createRequire only knows
 * require conditions, and tsx's CommonJS build of its ESM API does not load from a plain import,
 * so the ESM file is read from the package's own exports map.
 */
function resolveImport(name: string, subpath: string, cwd: string): string | undefined {
  const manifest = resolveFromProject(`${name}/package.json`, cwd);
  if (!manifest) return undefined;
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, unknown> };
  let target: unknown = exports?.[subpath];
  while (target && typeof target === 'object') {
    const conditions = target as Record<string, unknown>;
    target = conditions.import ?? conditions.node ?? conditions.default;
  }
  return typeof target === 'string' ? join(dirname(manifest), target) : undefined;
}

interface TsxApi {
  tsImport?: (specifier: string, options: { parentURL: string; tsconfig?: string }) => Promise<unknown>;
}
