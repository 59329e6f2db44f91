// The running numbers that make Redis pub/sub's losses visible. A node numbers what it sends on each
// Redis channel (the cluster-wide bus, each shard) separately, because a receiver hears only the
// shards it subscribes to: a gap is then what this node missed of a channel it was listening on (the
// sender's outage, this subscriber's, Redis dropping it as too slow), and a number already seen is
// a second delivery. A shard subscribed again starts its counts over: what it carried meanwhile was
// not for this node.
import type { Logger } from '../logging/logger.js';
import type { BusMeter } from '../telemetry/metrics-pubsub.js';

/** How long another node may stay silent before its message count is forgotten. */
const FORGET_QUIET_NODE_MS = 10 * 60_000;

interface Heard {
  seq: number;
  at: number;
}

/** The numbers this node puts on what it sends, one count per Redis channel. */
export class Numbering {
  readonly #last = new Map<string, number>();

  /**
   * Makes what carries the next number on `carrier`; the number is taken only if `make` returns (a
   * payload refused while encoding is its caller's error, not a gap the receivers would count).
   */
  number<T>(carrier: string, make: (seq: number) => T): T {
    const seq = (this.#last.get(carrier) ?? 0) + 1;
    const made = make(seq);
    this.#last.set(carrier, seq);
    return made;
  }
}

/** The numbers heard from the other nodes, per Redis channel. */
export class Sequences {
  /** Carrier → node → the highest number heard, and when. */
  readonly #heard = new Map<string, Map<string, Heard>>();
  /** Messages from other nodes that never arrived here, since start. */
  #missed = 0;
  readonly #logger: () => Logger;
  readonly #meter: () => BusMeter | undefined;

  constructor(logger: () => Logger, meter: () => BusMeter | undefined) {
    this.#logger = logger;
    this.#meter = meter;
  }

  /** Whether to deliver `node`'s message numbered `seq` on `carrier`: false for one already had. Logs gaps. */
  check(carrier: string, node: string, seq: number): boolean {
    let nodes = this.#heard.get(carrier);
    if (!nodes) this.#heard.set(carrier, (nodes = new Map()));
    const last = nodes.get(node);
    if (last === undefined) {
      nodes.set(node, { seq, at: Date.now() });
      return true;
    }
    last.at = Date.now();
    if (seq <= last.seq) {
      this.#logger().warn('dropped a pub/sub message already received from another node', { node, seq, last: last.seq });
      return false;
    }
    const missed = seq - last.seq - 1;
    last.seq = seq;
    if (missed === 0) return true;
    this.#missed += missed;
    const meter = this.#meter();
    if (meter) meter.missed += missed;
    this.#logger().warn('missed pub/sub messages from another node', { node, missed, missedInAll: this.#missed });
    return true;
  }

  /** `carrier` was just subscribed (again): its senders' next numbers start new counts. */
  restart(carrier: string): void {
    this.#heard.delete(carrier);
  }

  /**
   * Forgets the nodes gone quiet for long (most likely stopped): if one speaks again, its next
   * message starts a new count instead of being measured against one from long ago.
   */
  forgetQuiet(): void {
    const before = Date.now() - FORGET_QUIET_NODE_MS;
    for (const [carrier, nodes] of this.#heard) {
      for (const [node, { at }] of nodes) if (at < before) nodes.delete(node);
      if (nodes.size === 0) this.#heard.delete(carrier);
    }
  }
}
