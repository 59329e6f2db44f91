// A worker's end of the primary's relay: one per IPC channel, shared by every app of the process
// that uses it (one, under `vela start`; several in a test that makes a cluster in one process).
// It posts what the apps publish, asks the primary what only it knows (members elsewhere, history,
// presence, answers, sessions), and hands each envelope the primary relays to every app on the
// channel but its publisher, decoded once for all of them.
import type { Envelope } from '../pubsub/message.js';
import type { Logger } from '../logging/logger.js';
import { decodeWire } from '../redis/wire.js';
import { ConfigError } from '../app/errors.js';
import type { HealthState } from '../app/health-options.js';
import { ClusterRequestError, PortRequests, isClusterMessage, type ClusterPort, type LeftRow, type ToPrimary, type ToWorker } from './ipc.js';

/** An app on this link, as the link reaches it. */
export interface LinkedNode {
  readonly id: string;
  readonly logger: Logger;
  /** An envelope another node published (a message with its history position, when it has one). */
  receive(envelope: Envelope, publishedAt?: number): void;
  /** Presence metas of dead nodes, which this node was picked to broadcast as leaves. */
  left(rows: readonly LeftRow[]): void;
}

const links = new WeakMap<ClusterPort, ClusterLink>();

export class ClusterLink {
  readonly #port: ClusterPort;
  readonly #requests: PortRequests;
  readonly #nodes = new Map<string, LinkedNode>();
  /** Adapters and session stores using the link: it listens (which keeps the process alive) while any does. */
  #users = 0;
  readonly #onMessage = (message: unknown) => this.#receive(message);
  readonly #onDisconnect = () => this.#requests.close('the IPC channel to the primary closed (the primary process is gone)');

  private constructor(port: ClusterPort) {
    this.#port = port;
    this.#requests = new PortRequests((message) => this.post(message));
  }

  /** The link of `port`, made on first use: every app of a process shares its one channel. */
  static of(port: ClusterPort): ClusterLink {
    let link = links.get(port);
    if (!link) links.set(port, (link = new ClusterLink(port)));
    return link;
  }

  /** Starts listening for the caller; the returned function stops, once every user has called theirs. */
  use(): () => void {
    if (this.#users++ === 0) {
      this.#port.on('message', this.#onMessage);
      this.#port.on('disconnect', this.#onDisconnect);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#users > 0) return;
      this.#port.off('message', this.#onMessage);
      this.#port.off('disconnect', this.#onDisconnect);
    };
  }

  attach(node: LinkedNode): void {
    this.#nodes.set(node.id, node);
  }

  detach(node: LinkedNode): void {
    if (this.#nodes.get(node.id) === node) this.#nodes.delete(node.id);
  }

  /** Sends without waiting; a channel that closed under it fails the request it carried, if any. */
  post(message: ToPrimary): boolean {
    try {
      return this.#port.send(message, undefined, undefined, (error) => {
        if (error && message.t === 'ask') this.#requests.failed(message.id, error);
      });
    } catch (error) {
      // A closed channel throws at once on some ports (ERR_IPC_CHANNEL_CLOSED).
      if (message.t === 'ask') this.#requests.failed(message.id, error as Error);
      return false;
    }
  }

  /** Down once the IPC channel to the primary closed: nothing crosses workers any more, and the reason says why. */
  health(): HealthState {
    const closed = this.#requests.closed;
    if (!closed) return { up: true, primary: 'connected' };
    return { up: false, primary: 'gone', error: `${closed}: this process no longer reaches the other workers; restart the app (vela start)` };
  }

  /** Rejects with ClusterRequestError when the primary refuses or its channel closes first. */
  ask<T>(op: string, ...args: unknown[]): Promise<T> {
    // Not listening, the answer would never be read: fail now rather than never.
    if (this.#users === 0) return Promise.reject(new ClusterRequestError(`cluster ${op}: nothing in this process uses the primary now (its apps were closed, or not started)`));
    return this.#requests.ask<T>(op, args);
  }

  #receive(message: unknown): void {
    if (!isClusterMessage<ToWorker>(message)) return; // the app's own traffic on the channel
    switch (message.t) {
      case 'pub':
        return this.#relay(message);
      case 'answer':
        return this.#requests.answered(message);
      case 'left':
        return this.#nodes.get(message.node)?.left(message.rows);
    }
  }

  #relay({ from, w, p }: Extract<ToWorker, { t: 'pub' }>): void {
    if (this.#nodes.size === 0) return;
    const decoded = decodeWire(w);
    if (!decoded.ok) {
      this.#anyLogger()?.warn('dropped a pub/sub message from the primary that this worker cannot read', { reason: decoded.reason });
      return;
    }
    let envelope = decoded.envelope;
    if (p !== undefined && envelope.type === 'message') envelope = { ...envelope, message: { ...envelope.message, position: p } };
    for (const node of this.#nodes.values()) {
      if (node.id === from) continue;
      try {
        node.receive(envelope, decoded.publishedAt);
      } catch (error) {
        // Inside the IPC channel's message handler: a throw here would be an uncaught exception.
        node.logger.error('pub/sub could not deliver a message from another worker', { type: envelope.type, error });
      }
    }
  }

  #anyLogger(): Logger | undefined {
    return this.#nodes.values().next().value?.logger;
  }
}

/**
 * The IPC channel to the primary: the one given, else this process's own (a cluster worker's, or a
 * forked child's); a ConfigError when there is none.
 */
export function portOf(port: ClusterPort | undefined, caller: string): ClusterPort {
  if (port) return port;
  if (typeof process.send === 'function') return process as unknown as ClusterPort;
  throw new ConfigError(
    `${caller} talks to a Vela primary over this process's IPC channel, and this process has none: run the app with \`vela start\`, or pass the channel as { port }.`,
  );
}
