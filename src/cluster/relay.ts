// The primary's half of clusterPubSub(): it relays each envelope a worker posts to the other
// workers, knows every worker's members, and answers the requests of cluster-stores.ts from the
// stores it keeps (primary-stores.ts). It reads no envelope. One relay serves every worker of
// `vela start`; a test makes one in a forked child to run a cluster in the test's own process.
//
// A worker's IPC channel is a link; a link carries one node (app) per worker, or several when a
// test runs a cluster of apps in one process. An envelope goes once to each link that has a node
// other than its publisher: never back to a worker that has only the publisher on it.
import type { SessionStore } from '../session/store.js';
import type { PresenceChange } from '../presence/presence-store.js';
import { CLUSTER_TAG, isClusterMessage, type ClusterPort, type ToPrimary, type ToWorker } from './ipc.js';
import { MetricsGatherer } from './metrics-relay.js';
import { PrimaryStores } from './primary-stores.js';

interface Link {
  readonly port: ClusterPort;
  /** The nodes that said hello on this link and have not said bye. */
  readonly nodes: Set<string>;
}

export interface ClusterRelayOptions {
  /** Where the workers' sessions are kept (clusterSessionStore). Default: a memorySessionStore() in the primary. */
  sessions?: SessionStore;
  /** Told of what goes wrong with a worker's message: a line to log. */
  warn?(line: string): void;
}

export class ClusterRelay {
  readonly #links = new Set<Link>();
  /** Node id → the link it is on. */
  readonly #nodes = new Map<string, Link>();
  /** Node id → channel → that node's members of it. */
  readonly #members = new Map<string, Map<string, readonly string[]>>();
  readonly #stores: PrimaryStores;
  readonly #warn: (line: string) => void;
  readonly #metrics = new MetricsGatherer();

  constructor(options: ClusterRelayOptions = {}) {
    this.#stores = new PrimaryStores(options.sessions);
    this.#warn = options.warn ?? (() => {});
  }

  /**
   * Relays for the worker at the other end of `port` until its channel disconnects, or until the
   * returned function is called (its process exited): its nodes' members go at once, its presence
   * metas are broadcast as leaves by a node of another worker, its pending claims answer `unavailable`.
   */
  add(port: ClusterPort): () => void {
    const link: Link = { port, nodes: new Set() };
    const onMessage = (message: unknown) => this.#receive(link, message);
    let removed = false;
    const remove = () => {
      if (removed) return;
      removed = true;
      port.off('message', onMessage);
      port.off('disconnect', remove);
      this.#links.delete(link);
      for (const node of link.nodes) this.#leave(node, true);
    };
    port.on('message', onMessage);
    port.on('disconnect', remove);
    this.#links.add(link);
    return remove;
  }

  /** Nodes on every link: what a test or a log line counts. */
  get nodes(): number {
    return this.#nodes.size;
  }

  async close(): Promise<void> {
    await this.#stores.close();
  }

  #receive(link: Link, message: unknown): void {
    if (!isClusterMessage<ToPrimary>(message)) return; // the app's own traffic on the channel
    try {
      switch (message.t) {
        case 'pub':
          return this.#relay(message.node, message.w);
        case 'members':
          return this.#membersOf(link, message);
        case 'ask':
          return void this.#answer(link, message);
        case 'collected':
          return this.#metrics.collected(link.port, message);
      }
    } catch (error) {
      // Inside the IPC channel's message handler: a throw would end the primary, and every worker with it.
      this.#warn(`dropped a malformed '${message.t}' message from a worker: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** To each link with a node other than `from`, in the order the publishers' messages arrived. */
  #relay(from: string, w: string, p?: string): void {
    const message: ToWorker = p === undefined ? { vela: CLUSTER_TAG, t: 'pub', from, w } : { vela: CLUSTER_TAG, t: 'pub', from, w, p };
    const home = this.#nodes.get(from);
    for (const link of this.#links) {
      if (link.nodes.size > (link === home ? 1 : 0)) send(link.port, message);
    }
  }

  #membersOf(link: Link, { node, channels }: Extract<ToPrimary, { t: 'members' }>): void {
    if (!link.nodes.has(node) || !Array.isArray(channels)) return; // a node that left (its last flush crossed its bye)
    let mine = this.#members.get(node);
    if (!mine) this.#members.set(node, (mine = new Map()));
    for (const [channel, ids] of channels) {
      if (ids.length === 0) mine.delete(channel);
      else mine.set(channel, ids);
    }
  }

  async #answer(link: Link, { id, op, args }: Extract<ToPrimary, { t: 'ask' }>): Promise<void> {
    let reply: ToWorker;
    try {
      const value = await this.#perform(link, op, Array.isArray(args) ? args : []);
      reply = { vela: CLUSTER_TAG, t: 'answer', id, value };
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      this.#warn(`a worker's cluster request '${op}' failed: ${text}`);
      reply = { vela: CLUSTER_TAG, t: 'answer', id, error: text };
    }
    send(link.port, reply);
  }

  #perform(link: Link, op: string, args: readonly unknown[]): unknown {
    switch (op) {
      case 'hello':
        return this.#hello(link, nodeId(args[0]));
      case 'bye':
        return this.#leave(nodeId(args[0]), false);
      case 'members':
        return this.#remoteMembers(nodeId(args[0]), args[1]);
      case 'metrics':
        return this.#metrics.gather([...this.#links].map(({ port }) => port));
      case 'history.append': {
        const [node, channel, wire, size, ttl] = args;
        if (typeof channel !== 'string' || typeof wire !== 'string' || typeof size !== 'number' || typeof ttl !== 'number') {
          throw new TypeError('history.append takes a channel, a wire string, a size and a ttl');
        }
        const position = this.#stores.append(channel, wire, size, ttl);
        this.#relay(nodeId(node), wire, position);
        return position;
      }
      default: {
        const operation = this.#stores.operation(op);
        if (!operation) throw new TypeError(`unknown operation '${op}' (is the worker running another version of Vela than the primary?)`);
        return operation(args);
      }
    }
  }

  #hello(link: Link, node: string): true {
    if (this.#nodes.has(node)) throw new Error(`node ${node} is already in the cluster`);
    this.#nodes.set(node, link);
    link.nodes.add(node);
    return true;
  }

  /** A node said bye (`died` false: it cleaned up its presence itself) or its worker went (`died`). */
  #leave(node: string, died: boolean): void {
    const link = this.#nodes.get(node);
    if (!link) return;
    this.#nodes.delete(node);
    link.nodes.delete(node);
    this.#members.delete(node);
    const left = this.#stores.forget(node);
    if (died && left.length > 0) this.#announce(left);
  }

  /** A dead worker's presence metas, for one live node to broadcast as leaves (a node broadcasts to all). */
  #announce(rows: PresenceChange[]): void {
    const [heir, link] = this.#nodes.entries().next().value ?? [];
    if (heir === undefined || !link) return; // nobody left to tell: the metas are gone all the same
    send(link.port, { vela: CLUSTER_TAG, t: 'left', node: heir, rows });
  }

  #remoteMembers(asker: string, channel: unknown): string[] {
    if (typeof channel !== 'string') throw new TypeError('members takes a channel name');
    const ids: string[] = [];
    for (const [node, channels] of this.#members) {
      if (node !== asker) for (const id of channels.get(channel) ?? []) ids.push(id);
    }
    return ids;
  }
}

function nodeId(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new TypeError('a node id must be a non-empty string');
  return value;
}

/** A worker that is gone cannot be sent to: its exit cleans up, so the failure needs no more. */
function send(port: ClusterPort, message: ToWorker): void {
  try {
    port.send(message, undefined, undefined, () => {});
  } catch {
    // ERR_IPC_CHANNEL_CLOSED on a port that throws instead of calling back: the same.
  }
}
