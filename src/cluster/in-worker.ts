// What bootstrap does differently in a worker of `vela start` (loaded only there): the defaults
// become the ones every worker shares through the primary (clusterPubSub, clusterSessionStore), so
// an app written for one process runs unchanged on every core; and the app drains on the SIGTERM or
// SIGINT the primary forwards, then the worker exits.
import type { Logger } from '../logging/logger.js';
import type { PubSubAdapter } from '../pubsub/adapter.js';
import type { SessionStore } from '../session/store.js';
import { clusterPubSub } from './cluster-adapter.js';
import { clusterSessionStore } from './cluster-stores.js';

/**
 * Set by `vela start` in each worker's environment: the worker's number, from 1. Bootstrap reads it
 * by this name (application.ts) to load this file only in a worker.
 */
export const WORKER_ENV = 'VELA_WORKER';

/** The pub/sub adapter of a worker: the app's own if it gave one (a warning if that one cannot span workers). */
export function workerPubSub(given: PubSubAdapter | undefined, logger: Logger): PubSubAdapter {
  return given ? warnIfMemory(given, logger, "memoryPubSub(): each worker is a cluster of its own, and broadcasts and members() stop at the worker's edge. Leave pubsub out of bootstrap to share the workers' bus, or use redisPubSub().") : clusterPubSub();
}

/** The session store of a worker: the app's own if it gave one (a warning if that one cannot span workers). */
export function workerSessionStore(given: SessionStore | undefined, logger: Logger): SessionStore {
  return given ? warnIfMemory(given, logger, "a memorySessionStore(): each worker keeps its own sessions, so a request served by another worker does not see them. Leave sessions.store out of bootstrap to share the primary's, or use redisSessionStore().") : clusterSessionStore();
}

function warnIfMemory<T extends { readonly name: string }>(given: T, logger: Logger, consequence: string): T {
  if (given.name === 'memory') logger.warn(`this app runs on \`vela start\` workers with ${consequence}`);
  return given;
}

interface Closable {
  close(): Promise<void>;
  readonly logger: Logger;
}

const apps = new Set<Closable>();
let draining = false;

/**
 * Closes every app of this worker on SIGTERM or SIGINT, then exits: 0 once all closed, 1 if one
 * failed. The primary forwards its SIGTERM, and a terminal's Ctrl-C reaches the worker as well as
 * the primary, so a signal that comes during the drain is ignored: the primary kills a worker that
 * has not exited within its shutdown timeout.
 */
export function drainOnSignals(app: Closable): void {
  if (apps.size === 0) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, drainAll);
  }
  apps.add(app);
}

function drainAll(): void {
  if (draining) return;
  draining = true;
  const closing = [...apps].map((app) =>
    app.close().then(
      () => true,
      (error: unknown) => {
        app.logger.error('shutdown failed', { error });
        return false;
      },
    ),
  );
  void Promise.all(closing).then((closed) => process.exit(closed.every(Boolean) ? 0 : 1));
}
