// Pub/sub between the workers of one machine (`vela start --workers N`), through the primary, as
// socket.io's cluster adapter does: a worker posts each envelope over its IPC channel and the
// primary relays it to the other workers. IPC keeps each worker's order and loses nothing while
// the worker lives, so the guarantees are Redis's without a Redis: in order per publisher, at most
// once. Envelopes travel in the wire format of redis/wire.ts, so the same payloads are refused
// (a BigInt, a cycle: PubSubEncodingError) as on Redis, and bytes arrive as bytes.
//
// What must be one for the whole app lives in the primary, in memory, reached by request: who the
// members are on the other workers, the history of history channels, presence metas, the answers
// to requests (a repeat may land on another worker) and, with clusterSessionStore(), the sessions.
// A worker that dies takes its members and its presence with it: the primary drops them at once.
import type { PubSubAdapter, PubSubNode } from '../pubsub/adapter.js';
import type { HistoryOptions, PubSubHistory } from '../pubsub/history.js';
import type { Envelope, PubSubMessage, TraceCarrier } from '../pubsub/message.js';
import type { ChannelSizes } from '../telemetry/metrics.js';
import type { HealthState } from '../app/health-options.js';
import { decodeWire, encodeWire } from '../redis/wire.js';
import { ClusterAnswers, ClusterPresence } from './cluster-stores.js';
import { CLUSTER_TAG, type ClusterPort } from './ipc.js';
import { ClusterLink, portOf } from './worker-link.js';

const DONE = Promise.resolve();

/** How long start() waits for the primary to answer before it fails bootstrap. */
const HELLO_TIMEOUT_MS = 5_000;

export interface ClusterPubSubOptions {
  /**
   * The IPC channel to the primary. Default: this process's own, which a `vela start` worker has.
   * Tests pass a forked child's ChildProcess to run a cluster in one process.
   */
  port?: ClusterPort;
}

/**
 * Runs the workers of `vela start` as one app: broadcasts, `members()`, Comms, history and presence
 * reach every worker. Bootstrap picks it by itself in a `vela start` worker when `pubsub` is not given.
 *
 * @example
 * await bootstrap(AppModule, { pubsub: clusterPubSub() }); // what a worker gets by default
 */
export function clusterPubSub(options: ClusterPubSubOptions = {}): PubSubAdapter {
  return new ClusterPubSub(ClusterLink.of(portOf(options.port, 'clusterPubSub()')));
}

class ClusterPubSub implements PubSubAdapter {
  readonly name = 'cluster';
  readonly #link: ClusterLink;
  #node?: PubSubNode;
  /** Set once started: off the link, and the link released. */
  #leave?: () => void;
  readonly #dirty = new Set<string>();
  #flushing = false;
  #answers?: ClusterAnswers;
  readonly presence: ClusterPresence;

  constructor(link: ClusterLink) {
    this.#link = link;
    this.presence = new ClusterPresence(link);
  }

  async start(node: PubSubNode): Promise<void> {
    if (this.#node) throw new Error('This clusterPubSub() adapter is already used by an app; create one per app.');
    this.#node = node;
    const release = this.#link.use();
    const linked = { id: node.id, logger: node.logger, receive: node.receive.bind(node), left: this.presence.left };
    this.#link.attach(linked);
    const detach = () => this.#link.detach(linked);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#link.ask('hello', node.id),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`clusterPubSub(): no Vela primary answered over the IPC channel within ${HELLO_TIMEOUT_MS} ms: run the app with \`vela start\`, or leave pubsub out of bootstrap.`)),
            HELLO_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (error) {
      detach();
      release();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    this.#leave = () => {
      detach();
      release();
    };
  }

  /** Up while the IPC channel to the primary is: without it broadcasts, members and presence stop at this worker. */
  health(): HealthState {
    return this.#leave ? this.#link.health() : { up: false, primary: 'not started' };
  }

  /** Not async: an envelope JSON cannot carry throws PubSubEncodingError here, in the caller. */
  publish(envelope: Envelope): Promise<void> {
    const node = this.#node;
    if (!node || !this.#leave) return DONE; // not started, or stopped
    this.#link.post({ vela: CLUSTER_TAG, t: 'pub', node: node.id, w: encodeWire(node.id, envelope, undefined, node.bus?.clock() || undefined) });
    return DONE;
  }

  /** History channels, kept by the primary: it numbers a message and relays it with its position in one step. */
  readonly history: PubSubHistory = {
    append: (message, options, tc) => this.#keep(message, options, tc),
    since: (channel, position) => this.#since(channel, position),
    sizes: () => this.#link.ask<ChannelSizes>('history.sizes'),
  };

  #keep(message: PubSubMessage, options: HistoryOptions, tc: TraceCarrier | undefined): Promise<string> {
    const node = this.#node!;
    const envelope: Envelope = tc ? { type: 'message', message, tc } : { type: 'message', message };
    const wire = encodeWire(node.id, envelope, undefined, node.bus?.clock() || undefined); // throws before anything is kept
    return this.#link.ask<string>('history.append', node.id, message.channel, wire, options.size, options.ttl);
  }

  async #since(channel: string, position: string): Promise<readonly PubSubMessage[] | undefined> {
    const kept = await this.#link.ask<[string, string][] | null>('history.since', channel, position);
    if (kept === null) return undefined;
    const messages: PubSubMessage[] = [];
    for (const [wire, at] of kept) {
      const decoded = decodeWire(wire);
      if (!decoded.ok || decoded.envelope.type !== 'message') return undefined; // cannot cover the gap
      messages.push(Object.freeze({ ...decoded.envelope.message, position: at }));
    }
    return messages;
  }

  remoteMembers(channel: string): Promise<string[]> {
    return this.#node && this.#leave ? this.#link.ask<string[]>('members', this.#node.id, channel) : Promise.resolve([]);
  }

  membershipChanged(channel: string): void {
    this.#dirty.add(channel);
    if (this.#flushing) return;
    this.#flushing = true;
    // One message for all the joins and leaves of this turn of the event loop (a burst of connections).
    setImmediate(() => this.#flushMembership());
  }

  #flushMembership(): void {
    this.#flushing = false;
    const node = this.#node;
    if (!node || !this.#leave || this.#dirty.size === 0) return; // not started, or stopped: the primary forgot it
    const channels = [...this.#dirty].map((channel) => [channel, node.localMembers(channel)] as const);
    this.#dirty.clear();
    this.#link.post({ vela: CLUSTER_TAG, t: 'members', node: node.id, channels });
  }

  /** Answers to requests, in the primary: a repeat is answered on whichever worker it lands. */
  answers(): ClusterAnswers {
    return (this.#answers ??= new ClusterAnswers(this.#link, () => this.#node?.id ?? ''));
  }

  async stop(): Promise<void> {
    const node = this.#node;
    const leave = this.#leave;
    if (!node || !leave) return;
    this.#leave = undefined;
    this.#dirty.clear();
    try {
      // The primary forgets this node's members (and its pending answers) at once.
      await this.#link.ask('bye', node.id);
    } catch (error) {
      node.logger.warn('could not tell the primary this worker is leaving; it forgets its members when the worker exits', { error });
    } finally {
      leave();
    }
  }
}
