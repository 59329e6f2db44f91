// `vela serve [entry]`, Nova's `rebar3 nova serve`: runs the app and restarts it when its sources
// or views change.
//
// Why tsc and not tsx: Vela injects constructor parameters by their types, which only TypeScript's
// `emitDecoratorMetadata` records (`design:paramtypes`). tsx compiles with esbuild, which does not
// emit that metadata, so an app run through tsx fails at bootstrap as soon as a class has
// constructor dependencies. So a .ts entry is compiled by the project's own `tsc --watch` with the
// project's tsconfig, exactly as its build does, and the supervisor runs the emitted JavaScript:
// started after the first successful compile, restarted after each later one, left running on
// the last good build while the sources do not compile. A .js entry runs as it is, restarted when
// a file under its directory changes.
import { existsSync, statSync, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AppRunner } from './app-runner.js';
import { CliError, displayPath } from './cli-error.js';
import { compiledEntry, loadTypescript, TYPESCRIPT_FILE } from './project.js';
import { watchCompiler, watchTree, type CompilerWatch } from './watchers.js';

export const DEFAULT_SERVE_ENTRY = 'src/main.ts';

export interface ServeOptions {
  /** The app's main file (the one that calls bootstrap). Default `src/main.ts`. */
  entry?: string;
  /** Templates whose changes restart the app. Default `views`, skipped when it does not exist. */
  views?: string;
  /** The tsconfig tsc compiles with. Default: the `tsconfig.json` nearest above the entry. */
  project?: string;
  cwd?: string;
}

/**
 * Serves until SIGINT or SIGTERM, then stops the app and resolves. Rejects when the entry cannot be
 * run at all (missing, not compiled by the tsconfig) or tsc itself stops.
 */
export async function serve(options: ServeOptions = {}): Promise<void> {
  const cwd = options.cwd ?? process.cwd();
  const entry = resolve(cwd, options.entry ?? DEFAULT_SERVE_ENTRY);
  if (!existsSync(entry)) {
    throw new CliError(
      options.entry
        ? `${displayPath(entry, cwd)} does not exist.`
        : `no entry given and ${DEFAULT_SERVE_ENTRY} does not exist: pass your app's main file, e.g. vela serve src/server.ts.`,
    );
  }
  const views = resolve(cwd, options.views ?? 'views');
  const hasViews = statSync(views, { throwIfNoEntry: false })?.isDirectory() ?? false;
  if (options.views && !hasViews) throw new CliError(`--views ${options.views} is not a directory.`);

  const info = (line: string) => process.stdout.write(`vela serve: ${line}\n`);
  const warn = (line: string) => process.stderr.write(`vela serve: ${line}\n`);
  // Stack traces in error pages while developing (see bootstrap); an explicit NODE_ENV wins.
  const env = { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'development' };
  const shown = (file: string) => displayPath(file, cwd);
  const changed = (files: string[]) =>
    `${shown(files[0] ?? views)}${files.length > 1 ? ` and ${files.length - 1} more` : ''} changed`;

  let compiler: CompilerWatch | undefined;
  const trees: FSWatcher[] = [];
  let runner: AppRunner | undefined;
  let ready = false;
  let failed: (error: Error) => void = () => {};
  const failure = new Promise<never>((_, reject) => (failed = reject));
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    onSignal = (signal) => {
      info(`stopping (${signal})`);
      resolve();
    };
  });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (TYPESCRIPT_FILE.test(entry)) {
      const { ts, tsc } = loadTypescript(cwd);
      const { tsconfig, output } = compiledEntry(ts, entry, options.project, cwd);
      const app = new AppRunner({ file: output, nodeArgs: ['--enable-source-maps'], cwd, env, info, warn });
      runner = app;
      info(`compiling with tsc --watch -p ${shown(tsconfig)}; the app runs from ${shown(output)}`);
      compiler = watchCompiler({
        tsc,
        tsconfig,
        cwd,
        onCompile({ errors, output: diagnostics }) {
          if (errors === 0) {
            app.restart(ready ? 'compiled after changes' : 'compiled');
            ready = true;
            return;
          }
          if (diagnostics.length > 0) process.stderr.write(`${diagnostics.join('\n')}\n`);
          const plural = errors === 1 ? '' : 's';
          warn(`compile failed (${errors} error${plural}); ${ready ? 'the app keeps its last good build' : 'waiting for a fix'}`);
        },
        onExit(code, output) {
          failed(new CliError(`tsc stopped with exit code ${code}${output.length ? `:\n${output.join('\n')}` : '.'}`));
        },
      });
    } else {
      const app = new AppRunner({ file: entry, cwd, env, info, warn });
      runner = app;
      trees.push(watchTree(dirname(entry), (files) => app.restart(changed(files))));
      ready = true;
      app.restart('first run');
    }
    if (hasViews) {
      const app = runner;
      trees.push(watchTree(views, (files) => ready && app.restart(changed(files))));
    }
    await Promise.race([stopped, failure]);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // First, so that the app's own exit (a terminal's Ctrl-C reaches it too) is not taken for a crash.
    const closing = runner?.close();
    compiler?.close();
    for (const tree of trees) tree.close();
    await closing;
  }
}
