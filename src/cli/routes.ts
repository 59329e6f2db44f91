// `vela routes [entry]`: imports the file that exports the root @Module and prints what
// describeApp reads from it — the metadata bootstrap uses — without starting a server.
//
// A .js entry is imported as it is. A .ts entry goes through tsx: routes only needs the decorators
// to run (paths, methods, security functions), not the constructor types esbuild leaves out, so
// tsx is enough here, unlike for `vela serve`. tsx is not a dependency of Vela: it is the project's
// (an optional peer dependency), found from the working directory, so an app that only ships
// compiled JavaScript does not install esbuild with its framework.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Class } from '../di/token.js';
import { describeApp, type AppDescription } from './describe-app.js';
import { metadata } from '../app/metadata.js';
import { CliError, displayPath } from './cli-error.js';
import { importTypescript, TYPESCRIPT_FILE } from './project.js';
import { formatTable } from './table.js';

export const DEFAULT_MODULE_ENTRY = 'src/app.module.ts';

/** Which module a command reads (`vela routes`, `vela docs`). */
export interface EntryOptions {
  /** The file exporting the root module. Default `src/app.module.ts`. */
  entry?: string;
  /** The export to describe. Default: the default export, else `AppModule`, else the only @Module exported. */
  module?: string;
  /** The tsconfig tsx reads for a .ts entry. Default: `tsconfig.json` in the working directory. */
  project?: string;
  cwd?: string;
}

export interface RoutesOptions extends EntryOptions {
  /** Print describeApp's result as JSON instead of tables. */
  json?: boolean;
}

/** The entry's root module, with the file's exports and its name as messages show it. */
export interface LoadedEntry {
  root: Class;
  exports: Record<string, unknown>;
  shown: string;
}

/** The text `vela routes` prints. */
export async function routes(options: RoutesOptions = {}): Promise<string> {
  const { root } = await loadEntry(options, 'routes');
  const description = describeApp(root);
  return options.json ? JSON.stringify(description, null, 2) : formatDescription(description);
}

/** Imports the entry and picks its root module; `command` names the command in the messages. */
export async function loadEntry(options: EntryOptions, command: string): Promise<LoadedEntry> {
  const cwd = options.cwd ?? process.cwd();
  const file = resolve(cwd, options.entry ?? DEFAULT_MODULE_ENTRY);
  const shown = displayPath(file, cwd);
  if (!existsSync(file)) {
    throw new CliError(
      options.entry
        ? `${shown} does not exist.`
        : `no entry given and ${DEFAULT_MODULE_ENTRY} does not exist: pass the file that exports your root @Module, e.g. vela ${command} src/app.module.ts.`,
    );
  }
  let exports: Record<string, unknown>;
  try {
    exports = TYPESCRIPT_FILE.test(file)
      ? await importTypescript(file, options.project, cwd)
      : ((await import(pathToFileURL(file).href)) as Record<string, unknown>);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot load ${shown}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
  return { root: pickModule(exports, options.module, shown), exports, shown };
}

function isModule(value: unknown): value is Class {
  return typeof value === 'function' && metadata.getModule(value as Class) !== undefined;
}

function pickModule(exports: Record<string, unknown>, name: string | undefined, shown: string): Class {
  const names = Object.keys(exports);
  if (name) {
    const chosen = exports[name];
    if (chosen === undefined) throw new CliError(`${shown} does not export ${name}; it exports ${names.join(', ') || 'nothing'}.`);
    if (!isModule(chosen)) throw new CliError(`${name} in ${shown} is not a class decorated with @Module({ … }).`);
    return chosen;
  }
  if (isModule(exports.default)) return exports.default;
  if (isModule(exports.AppModule)) return exports.AppModule;
  const modules = [...new Set(Object.values(exports).filter(isModule))];
  if (modules.length === 1) return modules[0]!;
  if (modules.length > 1) {
    throw new CliError(`${shown} exports several modules (${modules.map((m) => m.name).join(', ')}): pick the root one with --module ${modules[0]!.name}.`);
  }
  throw new CliError(
    `${shown} exports no @Module class (${names.length ? `it exports ${names.join(', ')}` : 'it exports nothing'}): ` +
      `pass the file that declares your root module, e.g. src/app.module.ts, not the one that calls bootstrap.`,
  );
}

/** The tables `vela routes` prints: HTTP routes, status routes, gateways, static directories. */
export function formatDescription(description: AppDescription): string {
  const sections = [
    section(
      'HTTP routes',
      ['METHOD', 'PATH', 'HANDLER', 'SECURITY'],
      description.routes.map((r) => [r.methods.join(','), r.path, r.handler, r.security]),
    ),
  ];
  if (description.statusRoutes.length > 0) {
    sections.push(
      section(
        'Status routes',
        ['STATUS', 'PREFIX', 'HANDLER'],
        description.statusRoutes.map((r) => [String(r.status), r.prefix, r.handler]),
      ),
    );
  }
  sections.push(
    section(
      'WebSocket gateways',
      ['PATH', 'GATEWAY', 'SECURITY', 'HANDLERS'],
      description.gateways.map((g) => [g.path, g.gateway, g.security, g.handlers.join(', ')]),
    ),
  );
  if (description.static.length > 0) {
    sections.push(section('Static files', ['PREFIX', 'DIR', 'MODULE'], description.static.map((s) => [s.prefix, s.dir, s.module])));
  }
  return sections.join('\n\n');
}

function section(title: string, headers: string[], rows: string[][]): string {
  return rows.length === 0 ? `${title}: none` : `${title}\n${formatTable(headers, rows)}`;
}
