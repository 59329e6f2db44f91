// What a Vela primary and its workers say to each other over Node's IPC channel (node:cluster's, or
// any forked child's): the message shapes, the port both ends send them through, and the asking
// side's requests with answers. Every message is a plain JSON object tagged `vela`, so an app's own
// process.send() traffic on the same channel passes by untouched. IPC keeps order and loses nothing
// while the channel is up, so this protocol needs no sequence numbers: a worker that dies takes its
// unsent messages with it, which is at most once.
import type { PresenceRow } from '../presence/presence-list.js';

/** The tag (and version) every Vela cluster message carries. */
export const CLUSTER_TAG = 1;

/**
 * One end of an IPC channel: `process` in a forked child, a `ChildProcess` or a `cluster.Worker` in
 * its parent. The 4-argument send is the form all three accept.
 */
export interface ClusterPort {
  send(message: object, sendHandle: undefined, options: undefined, callback: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'disconnect', listener: () => void): unknown;
}

/** A presence meta a primary removed for a node that died, for a live node to broadcast as a leave. */
export interface LeftRow {
  readonly channel: string;
  readonly row: PresenceRow;
}

/** From a worker to the primary. */
export type ToPrimary =
  /** An envelope in the wire format (redis/wire.ts), for every other node. */
  | { readonly vela: 1; readonly t: 'pub'; readonly node: string; readonly w: string }
  /** This node's members of some channels now (an empty list: none left). */
  | { readonly vela: 1; readonly t: 'members'; readonly node: string; readonly channels: readonly (readonly [string, readonly string[]])[] }
  /** A request that the primary answers with the same `id` (see PrimaryOperations). */
  | { readonly vela: 1; readonly t: 'ask'; readonly id: number; readonly op: string; readonly args: readonly unknown[] }
  /** This worker's metrics for the primary's `collect` of the same `id`: one collection per app (metrics-relay.ts). */
  | { readonly vela: 1; readonly t: 'collected'; readonly id: number; readonly collections: readonly unknown[] };

/** From the primary to a worker. */
export type ToWorker =
  /** An envelope from node `from`, for every node on this channel but that one; `p`: its history position. */
  | { readonly vela: 1; readonly t: 'pub'; readonly from: string; readonly w: string; readonly p?: string }
  | { readonly vela: 1; readonly t: 'answer'; readonly id: number; readonly value?: unknown; readonly error?: string }
  /** Presence metas of dead nodes, for `node` to broadcast as leaves. */
  | { readonly vela: 1; readonly t: 'left'; readonly node: string; readonly rows: readonly LeftRow[] }
  /** The primary gathers every worker's metrics for a scrape: answer with `collected` and this `id`. */
  | { readonly vela: 1; readonly t: 'collect'; readonly id: number };

/** A message of this protocol (anything else on the channel is the app's own). */
export function isClusterMessage<T extends ToPrimary | ToWorker>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && (message as { vela?: unknown }).vela === CLUSTER_TAG && typeof (message as { t?: unknown }).t === 'string';
}

/** Thrown by a request whose channel closed before it was answered, or that the primary refused. */
export class ClusterRequestError extends Error {
  override readonly name = 'ClusterRequestError';
}

interface Pending {
  readonly op: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** The asking side of a port: numbered requests, each settled by the answer of the same number. */
export class PortRequests {
  readonly #send: (message: ToPrimary) => boolean;
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #closed: string | undefined;

  constructor(send: (message: ToPrimary) => boolean) {
    this.#send = send;
  }

  /** Why the channel is gone (its requests fail with this), or undefined while it is up. */
  get closed(): string | undefined {
    return this.#closed;
  }

  /** Requests in flight: a link stops listening once none are left and nobody uses it. */
  get size(): number {
    return this.#pending.size;
  }

  ask<T>(op: string, args: readonly unknown[]): Promise<T> {
    if (this.#closed) return Promise.reject(new ClusterRequestError(`cluster ${op}: ${this.#closed}`));
    const id = (this.#next += 1);
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { op, resolve: resolve as (value: unknown) => void, reject });
      this.#send({ vela: CLUSTER_TAG, t: 'ask', id, op, args });
    });
  }

  answered(message: Extract<ToWorker, { t: 'answer' }>): void {
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if (message.error === undefined) pending.resolve(message.value);
    else pending.reject(new ClusterRequestError(`cluster ${pending.op}: the primary answered "${message.error}"`));
  }

  /** The channel is gone: every request in flight fails, and so does every later one. */
  close(reason: string): void {
    this.#closed = reason;
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(new ClusterRequestError(`cluster ${pending.op}: ${reason}`));
    }
  }

  /** A send failed (the channel closed under it): that request fails now rather than never. */
  failed(id: number, error: Error): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    pending.reject(new ClusterRequestError(`cluster ${pending.op}: ${error.message}`));
  }
}
