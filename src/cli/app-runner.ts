// The app under `vela serve`: one `node <file>` child at a time. A restart stops the old child
// (SIGTERM, so bootstrap's graceful close frees the port; SIGKILL if it takes too long) before the
// new one starts, and requests that arrive meanwhile collapse into a single restart. A child that
// exits on its own is reported and left down until the next change.
import { spawn, type ChildProcess } from 'node:child_process';
import { displayPath } from './cli-error.js';

export interface AppRunnerOptions {
  /** The JavaScript file to run. */
  file: string;
  /** Arguments for `node` before the file (e.g. `--enable-source-maps`). */
  nodeArgs?: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** How long a child may take to exit after SIGTERM before it is killed. Default 5000 ms. */
  stopTimeout?: number;
  /** Progress lines (`starting…`, `restarting…`). */
  info(line: string): void;
  /** Failures (a crash). */
  warn(line: string): void;
}

export class AppRunner {
  readonly #options: AppRunnerOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #queue: Promise<void> = Promise.resolve();
  #queued = false;
  #reason: string | undefined;
  #closed = false;
  /** Children this runner is stopping: their exit is expected, not a crash. */
  readonly #stopping = new WeakSet<ChildProcess>();

  constructor(options: AppRunnerOptions) {
    this.#options = options;
  }

  /** Starts the app if it is down, else restarts it; `reason` is shown as `restarting (reason)`. */
  restart(reason: string): void {
    this.#reason = reason;
    if (this.#queued) return;
    this.#queued = true;
    this.#queue = this.#queue.then(async () => {
      this.#queued = false;
      if (this.#closed) return;
      const running = this.#child !== undefined;
      this.#options.info(running ? `restarting (${this.#reason})` : `starting node ${displayPath(this.#options.file, this.#options.cwd)} (${this.#reason})`);
      await this.#stop();
      if (!this.#closed) this.#start();
    });
  }

  /** Stops the app and refuses later restarts. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    await this.#stop();
  }

  #start(): void {
    const { file, nodeArgs = [], cwd, env } = this.#options;
    const child = spawn(process.execPath, [...nodeArgs, file], { cwd, env, stdio: 'inherit' });
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      child.once('error', (error) => {
        if (this.#child === child) this.#child = undefined;
        this.#options.warn(`cannot start node ${file}: ${error.message}; waiting for a change`);
        resolve();
      });
      child.once('exit', (code, signal) => {
        if (this.#child === child) this.#child = undefined;
        if (!this.#stopping.has(child) && !this.#closed) {
          const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          this.#options.warn(`app ${how}; waiting for a change`);
        }
        resolve();
      });
    });
  }

  async #stop(): Promise<void> {
    const child = this.#child;
    if (!child) return this.#exited;
    this.#stopping.add(child);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.#options.stopTimeout ?? 5000);
    await this.#exited;
    clearTimeout(timer);
  }
}
