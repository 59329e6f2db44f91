// The stores a worker reaches in the primary, for clusterPubSub() and clusterSessionStore(): each
// call is one request over the IPC channel, answered by the memory store that lives in the primary
// (primary-stores.ts), so every worker reads and writes the same presence, answers and sessions.
import type { AnswerStore, Claim } from '../pubsub/answer-store.js';
import type { PresenceRow } from '../presence/presence-list.js';
import type { PresenceNode, PresenceStore } from '../presence/presence-store.js';
import type { SaveOptions, SessionData, SessionStore } from '../session/store.js';
import type { ClusterPort, LeftRow } from './ipc.js';
import { ClusterLink, portOf } from './worker-link.js';

/** Presence metas of every worker, kept by the primary. */
export class ClusterPresence implements PresenceStore {
  readonly #link: ClusterLink;
  #node?: PresenceNode;

  constructor(link: ClusterLink) {
    this.#link = link;
  }

  start(node: PresenceNode): void {
    this.#node = node;
  }

  put(node: string, channel: string, row: PresenceRow, replaces?: string): Promise<void> {
    return this.#link.ask('presence.put', node, channel, row, replaces ?? null);
  }

  remove(node: string, channel: string, ref: string): Promise<void> {
    return this.#link.ask('presence.remove', node, channel, ref);
  }

  list(channel: string): Promise<readonly PresenceRow[]> {
    return this.#link.ask('presence.list', channel);
  }

  count(channel: string): Promise<number> {
    return this.#link.ask('presence.count', channel);
  }

  /** Resolves also when the primary is gone: it took every meta with it. */
  stop(node: string): Promise<void> {
    return this.#link.ask<void>('presence.stop', node).catch(() => {});
  }

  /** A worker died: the primary removed its metas and picked this node to broadcast them as leaves. */
  readonly left = (rows: readonly LeftRow[]): void => {
    this.#node?.removed(rows);
  };
}

/** Answers to requests, kept by the primary. A claim of a worker that dies is settled as unavailable. */
export class ClusterAnswers implements AnswerStore {
  readonly #link: ClusterLink;
  readonly #node: () => string;

  constructor(link: ClusterLink, node: () => string) {
    this.#link = link;
    this.#node = node;
  }

  claim(client: string, ref: string, window: number): Promise<Claim> {
    return this.#link.ask('answers.claim', this.#node(), client, ref, window);
  }

  settle(client: string, ref: string, answer: string | undefined, window: number): Promise<void> {
    return this.#link.ask('answers.settle', client, ref, answer ?? null, window);
  }
}

/**
 * Sessions kept by the primary, in one memory store for every worker: a cookie signed by one worker
 * is read by all (they share the store's secret), and a session written on one is loaded on the next.
 * Bootstrap picks it by itself in a `vela start` worker when `sessions.store` is not given. Lost when
 * the primary stops, as a memory store is; use redisSessionStore() for sessions that outlive it.
 *
 * @example
 * await bootstrap(AppModule, { sessions: { store: clusterSessionStore() } }); // what a worker gets by default
 */
export function clusterSessionStore(options: { port?: ClusterPort } = {}): SessionStore {
  const link = ClusterLink.of(portOf(options.port, 'clusterSessionStore()'));
  const release = link.use();
  return {
    name: 'cluster',
    load: (id: string) => link.ask<SessionData | null>('session.load', id).then((data) => data ?? undefined),
    save: (id: string, data: SessionData, ttlMs: number, saveOptions?: SaveOptions) => link.ask('session.save', id, data, ttlMs, saveOptions ?? {}),
    update: (id: string, data: SessionData, ttlMs: number) => link.ask<boolean>('session.update', id, data, ttlMs),
    touch: (id: string, ttlMs: number) => link.ask('session.touch', id, ttlMs),
    destroy: (id: string) => link.ask('session.destroy', id),
    secret: () => link.ask<string>('session.secret'),
    // Down once the primary that keeps the sessions is gone: no session can be read or written.
    health: () => link.health(),
    close: release,
  };
}
