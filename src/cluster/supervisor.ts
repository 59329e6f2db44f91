// The primary of `vela start`: forks N node:cluster workers that each run the app's entry, relays
// their pub/sub, Comms, presence and sessions (relay.ts), restarts a worker that dies, and drains
// them all on stop(). The workers share the entry's port: the entry's bootstrap listens, and
// node:cluster hands the primary's accepted connections to the workers in turn (round-robin).
//
// Connections go out by node:cluster's round-robin (SCHED_RR, Node's default except on Windows): the
// primary accepts each and passes it to the next worker. That costs CPU per new connection (measured
// against the kernel's pick by bench/workers-connections.mjs) and nothing per request after. The kernel's
// pick (NODE_CLUSTER_SCHED_POLICY=none, which Node reads and this file leaves alone) spread 100
// sockets over 2 workers as unevenly as 19/81: for the long-lived sockets Vela holds, balance wins.
//
// A worker that dies is started again after a pause that doubles with each death in a row (100 ms
// up to 10 s), so an app that crashes at start does not spin the machine; one that lived 10 s
// starts the count over.
import cluster, { type Worker } from 'node:cluster';
import { urlHost } from '../app/server.js';
import type { ClusterPort } from './ipc.js';
import { ClusterRelay, type ClusterRelayOptions } from './relay.js';
import { WORKER_ENV } from './in-worker.js';

export const FIRST_RESTART_MS = 100;
export const MAX_RESTART_MS = 10_000;
/** A worker that lived this long before it died is restarted after the shortest pause. */
const STABLE_MS = 10_000;

export interface SupervisorOptions {
  /** The JavaScript file each worker runs (the one that calls bootstrap). */
  file: string;
  /** How many workers. */
  workers: number;
  /** Arguments for `node` before the file. Default: the primary's own (`process.execArgv`). */
  execArgv?: string[];
  /** How long stop() waits for the workers to drain before it kills them, in ms. Default 15 000. */
  shutdownTimeout?: number;
  /** Progress lines: a worker listening, a restart. */
  info(line: string): void;
  /** What went wrong: a worker that died, one killed at the deadline. */
  warn(line: string): void;
  /** Where the shared sessions live (default: memory, in this process). */
  relay?: Pick<ClusterRelayOptions, 'sessions'>;
}

interface Slot {
  /** 1 to N: the worker's number, in its VELA_WORKER. */
  readonly number: number;
  worker?: Worker;
  startedAt: number;
  /** Deaths in a row, for the backoff. */
  deaths: number;
  restart?: NodeJS.Timeout;
}

export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #relay: ClusterRelay;
  readonly #slots: Slot[];
  readonly #exits = new Map<Worker, Promise<boolean>>();
  #stopping = false;
  #announced = false;
  readonly #listening = new Set<number>();

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#relay = new ClusterRelay({ ...options.relay, warn: options.warn });
    this.#slots = Array.from({ length: options.workers }, (_, index) => ({ number: index + 1, startedAt: 0, deaths: 0 }));
  }

  /** Forks every worker. Progress and the shared address are reported through `info`. */
  start(): void {
    cluster.setupPrimary({ exec: this.#options.file, execArgv: this.#options.execArgv ?? process.execArgv, args: [] });
    for (const slot of this.#slots) this.#fork(slot);
  }

  /**
   * Sends every worker SIGTERM (each app closes: 1001 to its sockets, requests drained) and resolves
   * once all exited, true if every one exited 0 in time; one still running at `shutdownTimeout` is killed.
   */
  async stop(): Promise<boolean> {
    this.#stopping = true;
    for (const slot of this.#slots) clearTimeout(slot.restart);
    const running = this.#slots.flatMap((slot) => (slot.worker ? [slot.worker] : []));
    for (const worker of running) worker.process.kill('SIGTERM');
    const timeout = this.#options.shutdownTimeout ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeout)));
    const exits = Promise.all(running.map((worker) => this.#exits.get(worker)!));
    const outcome = await Promise.race([exits, deadline]);
    clearTimeout(timer);
    let clean = outcome !== 'late' && outcome.every(Boolean);
    if (outcome === 'late') {
      for (const worker of running) {
        if (worker.isDead()) continue;
        this.#options.warn(`worker ${this.#numberOf(worker)} (pid ${worker.process.pid}) did not drain within ${timeout} ms; killing it`);
        worker.process.kill('SIGKILL');
      }
      await exits;
      clean = false;
    }
    await this.#relay.close();
    return clean;
  }

  #fork(slot: Slot): void {
    slot.restart = undefined;
    slot.startedAt = Date.now();
    const worker = cluster.fork({ [WORKER_ENV]: String(slot.number) });
    slot.worker = worker;
    const unlink = this.#relay.add(worker as unknown as ClusterPort);
    worker.on('listening', (address) => this.#listened(slot, worker, address));
    // An 'error' (a failed send to a worker that is gone) must not end the primary; its exit follows.
    worker.on('error', (error: Error) => this.#options.warn(`worker ${slot.number}: ${error.message}`));
    this.#exits.set(
      worker,
      new Promise((resolve) =>
        worker.once('exit', (code, signal) => {
          unlink();
          this.#exits.delete(worker);
          if (slot.worker === worker) slot.worker = undefined;
          this.#exited(slot, worker, code, signal);
          resolve(code === 0);
        }),
      ),
    );
  }

  #listened(slot: Slot, worker: Worker, address: { address: string | null; port: number }): void {
    this.#options.info(`worker ${slot.number} (pid ${worker.process.pid}) listening on port ${address.port}`);
    this.#listening.add(slot.number);
    if (this.#announced || this.#listening.size < this.#slots.length) return;
    this.#announced = true;
    const workers = `${this.#slots.length} worker${this.#slots.length === 1 ? '' : 's'}`;
    this.#options.info(`${workers} listening on http://${urlHost(address.address ?? undefined)}:${address.port}`);
  }

  #exited(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (this.#stopping) return;
    if (Date.now() - slot.startedAt >= STABLE_MS) slot.deaths = 0;
    const delay = Math.min(FIRST_RESTART_MS * 2 ** slot.deaths, MAX_RESTART_MS);
    slot.deaths += 1;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    this.#options.warn(`worker ${slot.number} (pid ${worker.process.pid}) ${how}; starting another in ${delay} ms`);
    slot.restart = setTimeout(() => this.#fork(slot), delay);
  }

  #numberOf(worker: Worker): number {
    return this.#slots.find((slot) => slot.worker === worker)?.number ?? 0;
  }
}
