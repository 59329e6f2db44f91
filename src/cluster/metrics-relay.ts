// The primary's part of a scrape under `vela start`: the worker a Prometheus scrape reached asks the
// primary (op 'metrics'), and the primary asks every worker for its collection and answers with
// every collection that came back in time. It reads none of them: the asking worker merges them
// (telemetry/cluster-scrape.ts), where the OpenTelemetry SDK is loaded; the primary never loads it.
//
// Bounded: a worker that does not answer within GATHER_TIMEOUT_MS is left out (and named in the
// answer), so a worker stuck in a long task cannot hang a scrape; scrapes that arrive while a
// gathering is under way share its answer, so a flood of scrapes makes one round of requests.
import { CLUSTER_TAG, type ClusterPort, type ToPrimary, type ToWorker } from './ipc.js';

/** How long the primary waits for the workers' collections before it answers with those it has. */
export const GATHER_TIMEOUT_MS = 2_000;

/** What the primary answers a worker's 'metrics' request with. */
export interface GatheredMetrics {
  /** Workers asked: every worker the primary relays for. */
  readonly asked: number;
  /** The collections of the workers that answered in time, one list per worker (one entry per app). */
  readonly collections: readonly (readonly unknown[])[];
  /** The process ids of the workers that did not (0 when unknown). */
  readonly missing: readonly number[];
  /** How long the primary waited for them, in ms. */
  readonly timeoutMs: number;
}

interface Gathering {
  readonly id: number;
  readonly waiting: Set<ClusterPort>;
  readonly collections: (readonly unknown[])[];
  readonly done: Promise<GatheredMetrics>;
  finish(): void;
}

export class MetricsGatherer {
  readonly #timeoutMs: number;
  #next = 0;
  #current: Gathering | undefined;

  constructor(timeoutMs = GATHER_TIMEOUT_MS) {
    this.#timeoutMs = timeoutMs;
  }

  /** Every worker's collection: the one under way if there is one, else a new round over `ports`. */
  gather(ports: readonly ClusterPort[]): Promise<GatheredMetrics> {
    return (this.#current ??= this.#start(ports)).done;
  }

  /** A worker's answer: kept if it is for the round under way and that worker was still awaited. */
  collected(port: ClusterPort, { id, collections }: Extract<ToPrimary, { t: 'collected' }>): void {
    const round = this.#current;
    if (!round || round.id !== id || !round.waiting.delete(port) || !Array.isArray(collections)) return;
    round.collections.push(collections);
    if (round.waiting.size === 0) round.finish();
  }

  #start(ports: readonly ClusterPort[]): Gathering {
    const id = (this.#next += 1);
    const waiting = new Set(ports);
    const collections: (readonly unknown[])[] = [];
    let finish!: () => void;
    const done = new Promise<GatheredMetrics>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      finish = () => {
        clearTimeout(timer);
        if (this.#current?.id === id) this.#current = undefined;
        const missing = [...waiting].map(pidOf);
        resolve({ asked: ports.length, collections, missing, timeoutMs: this.#timeoutMs });
      };
      timer = setTimeout(finish, this.#timeoutMs);
    });
    const round: Gathering = { id, waiting, collections, done, finish };
    const request: ToWorker = { vela: CLUSTER_TAG, t: 'collect', id };
    for (const port of ports) {
      try {
        port.send(request, undefined, undefined, () => {});
      } catch {
        // A worker whose channel closed: it stays awaited, and the answer names it as missing.
      }
    }
    if (ports.length === 0) queueMicrotask(finish);
    return round;
  }
}

/** A cluster.Worker's process id, for the line that names a worker left out. */
function pidOf(port: ClusterPort): number {
  return (port as { process?: { pid?: number } }).process?.pid ?? 0;
}
