// `vela start [entry] --workers N`: runs the app in production on every core, as N node:cluster
// workers sharing its port (cluster/supervisor.ts), until SIGTERM or SIGINT drains them. Unlike
// `vela serve` it compiles nothing and watches nothing: a .ts entry names the JavaScript its
// tsconfig emits, which the project's build has written.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { CliError, displayPath } from './cli-error.js';
import { compiledEntry, loadTypescript, resolveFromProject, TYPESCRIPT_FILE } from './project.js';
import { DEFAULT_SERVE_ENTRY } from './serve.js';
import { Supervisor } from '../cluster/supervisor.js';

export interface StartOptions {
  /** The app's main file (the one that calls bootstrap). Default `src/main.ts`, as its compiled JavaScript. */
  entry?: string;
  /** How many workers, as typed. Default: the cores Node may use (`os.availableParallelism()`). */
  workers?: string;
  /** How long the workers may take to drain on SIGTERM before they are killed, in ms, as typed. Default 15 000. */
  shutdownTimeout?: string;
  /** The tsconfig that says where a .ts entry is emitted. Default: the nearest above the entry. */
  project?: string;
  cwd?: string;
}

/** Runs until SIGINT or SIGTERM, then drains the workers; rejects when one did not exit cleanly. */
export async function start(options: StartOptions = {}): Promise<void> {
  const cwd = options.cwd ?? process.cwd();
  const workers = wholeNumber('--workers', options.workers, availableParallelism(), 1);
  const shutdownTimeout = wholeNumber('--shutdown-timeout', options.shutdownTimeout, 15_000, 0);
  const file = runnableEntry(options, cwd);
  const info = (line: string) => process.stdout.write(`vela start: ${line}\n`);
  const warn = (line: string) => process.stderr.write(`vela start: ${line}\n`);

  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => (onSignal = resolve));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const supervisor = new Supervisor({ file, workers, shutdownTimeout, info, warn });
  info(`starting ${workers} worker${workers === 1 ? '' : 's'} of node ${displayPath(file, cwd)}`);
  supervisor.start();
  const signal = await stopped;
  info(`stopping (${signal}): draining the workers`);
  if (!(await supervisor.stop())) throw new CliError('stopped, but not every worker drained cleanly (see above).');
  info('every worker drained');
}

/** The JavaScript file the workers run: a .js entry as it is, a .ts entry's compiled output. */
function runnableEntry(options: StartOptions, cwd: string): string {
  const entry = resolve(cwd, options.entry ?? DEFAULT_SERVE_ENTRY);
  if (!existsSync(entry)) {
    throw new CliError(
      options.entry
        ? `${displayPath(entry, cwd)} does not exist.`
        : `no entry given and ${DEFAULT_SERVE_ENTRY} does not exist: pass your app's compiled main file, e.g. vela start dist/main.js.`,
    );
  }
  if (!TYPESCRIPT_FILE.test(entry)) return entry;
  if (!resolveFromProject('typescript/package.json', cwd)) {
    throw new CliError(`${displayPath(entry, cwd)} is TypeScript, and vela start runs JavaScript: pass the compiled file, e.g. vela start dist/main.js.`);
  }
  const { ts } = loadTypescript(cwd);
  const { tsconfig, output } = compiledEntry(ts, entry, options.project, cwd);
  if (!existsSync(output)) {
    throw new CliError(
      `${displayPath(output, cwd)} (what ${displayPath(tsconfig, cwd)} emits for ${displayPath(entry, cwd)}) does not exist: build first (npx tsc -p ${displayPath(tsconfig, cwd)}), or pass the compiled file.`,
    );
  }
  return output;
}

function wholeNumber(flag: string, typed: string | undefined, fallback: number, least: number): number {
  if (typed === undefined) return fallback;
  const value = Number(typed);
  if (typed.trim() === '' || !Number.isSafeInteger(value) || value < least) {
    throw new CliError(`${flag} must be a whole number ≥ ${least}, got '${typed}'.`);
  }
  return value;
}
