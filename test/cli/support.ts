// Shared by the CLI tests: Vela built into a scratch package, laid out as npm installs it, and the
// `vela` command run from there as a real child process whose output a test awaits line by line.
// The build goes to its own directory, not this checkout's dist/, which other test files pack and
// import while these run.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

export const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

/** The CLI from this checkout's sources, for tests that need no build: `node --import tsx src/cli/main.ts`. */
// tsx by its file URL: a bare `--import tsx` would be resolved from the test's working directory.
export const SOURCE_CLI = ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, join(root, 'src/cli/main.ts')];
const run = promisify(execFile);

export interface BuiltPackage {
  /** A scratch directory holding the package; tests may create their apps in it. */
  scratch: string;
  /** The package directory: package.json, dist/, templates/, node_modules → this checkout's. */
  dir: string;
  /** Node arguments that run its dist/cli/main.js. */
  cli: string[];
  remove(): Promise<void>;
}

export async function buildPackage(): Promise<BuiltPackage> {
  const scratch = await mkdtemp(join(tmpdir(), 'vela-cli-'));
  const dir = join(scratch, 'vela');
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  // Type errors elsewhere in a work-in-progress checkout still emit; what matters is the output.
  // Its own build record too: the checkout's (dist/tsconfig.build.tsbuildinfo) describes the checkout's dist/.
  const outputs = ['--outDir', join(dir, 'dist'), '--tsBuildInfoFile', join(dir, 'dist/tsconfig.build.tsbuildinfo')];
  const build = await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', ...outputs], { cwd: root }).catch(
    (error: { stdout?: string }) => error,
  );
  const main = join(dir, 'dist/cli/main.js');
  if (!(await stat(main).catch(() => undefined))) throw new Error(`building Vela emitted no ${main}:\n${build.stdout ?? ''}`);
  for (const file of ['package.json', 'README.md', 'templates']) await cp(join(root, file), join(dir, file), { recursive: true });
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { scratch, dir, cli: [main], remove: () => rm(scratch, { recursive: true, force: true }) };
}

/** A running `vela` command; stdout and stderr arrive as one stream, in the order written. */
export class CliProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #cursor = 0;
  #closed = false;
  readonly #waiters = new Set<() => void>();

  /** `cli`: the node arguments that run the CLI (SOURCE_CLI or BuiltPackage.cli). */
  constructor(cli: string[], args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
    // `2>&1` through exec: one pipe keeps the order of what the CLI and its app print.
    this.child = spawn('/bin/sh', ['-c', 'exec "$0" "$@" 2>&1', process.execPath, ...cli, ...args], {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const wake of this.#waiters) wake();
    });
    // 'close', not 'exit': every line has been read by then, including the app's (it shares the pipe).
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code, signal) => {
        this.#closed = true;
        for (const wake of this.#waiters) wake();
        resolve({ code, signal });
      }),
    );
  }

  get output(): string {
    return this.lines.join('\n');
  }

  /**
   * The next line matching `pattern` after the last one matched. Fails after `timeout` ms, or
   * when the command exits first, showing everything it printed.
   */
  next(pattern: RegExp, timeout = 20_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = this.#cursor; i < this.lines.length; i++) {
          const match = pattern.exec(this.lines[i]!);
          if (match) {
            this.#cursor = i + 1;
            done();
            resolve(match);
            return;
          }
        }
        if (this.#closed) {
          done();
          reject(new Error(`vela exited before printing ${pattern}:\n${this.output}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no line matching ${pattern} within ${timeout} ms:\n${this.output}`));
      }, timeout);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Sends `signal` and resolves with the exit; SIGKILLs the command if it takes over `timeout` ms. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeout = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.#closed) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeout);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Runs `vela <args>` to completion. */
export async function runCli(cli: string[], args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  const command = new CliProcess(cli, args, { cwd });
  const { code } = await command.exited;
  return { code, output: command.output };
}
