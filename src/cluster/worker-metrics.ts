// A worker's end of the cluster-wide scrape (metrics-relay.ts is the primary's): it answers the
// primary's `collect` with the collection of every app of this process that serves metrics, and
// asks the primary for every worker's when a scrape reaches one of those apps. One listener per
// process, shared by its apps, as the IPC channel is.
import { CLUSTER_TAG, isClusterMessage, type ClusterPort, type ToWorker } from './ipc.js';
import type { GatheredMetrics } from './metrics-relay.js';
import { ClusterLink, portOf } from './worker-link.js';

/** One app's collection, as it crosses the channel (plain JSON). */
export type Collect = () => Promise<unknown>;

interface Offered {
  readonly apps: Set<Collect>;
  readonly listener: (message: unknown) => void;
}

const offered = new Map<ClusterPort, Offered>();

/**
 * Answers the primary's `collect` with `collect()`'s result (with those of the other apps of this
 * process) until the returned function is called. The process listens on its channel (which keeps
 * it alive) while any app offers.
 */
export function offerMetrics(collect: Collect, given?: ClusterPort): () => void {
  const port = portOf(given, 'bootstrap({ metrics }) in a `vela start` worker');
  let entry = offered.get(port);
  if (!entry) {
    const apps = new Set<Collect>();
    offered.set(port, (entry = { apps, listener: answerer(port, apps) }));
    port.on('message', entry.listener);
  }
  const { apps, listener } = entry;
  apps.add(collect);
  return () => {
    if (!apps.delete(collect) || apps.size > 0) return;
    port.off('message', listener);
    offered.delete(port);
  };
}

/**
 * Every worker's collections, this one's included, as the primary gathered them. It answers within
 * its own timeout; `timeoutMs` bounds the wait for a primary that is itself stuck (a rejection).
 */
export async function gatherMetrics(timeoutMs: number, given?: ClusterPort): Promise<GatheredMetrics> {
  const link = ClusterLink.of(portOf(given, 'a scrape in a `vela start` worker'));
  const release = link.use();
  let timer: NodeJS.Timeout | undefined;
  try {
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the primary did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    return await Promise.race([link.ask<GatheredMetrics>('metrics'), late]);
  } finally {
    clearTimeout(timer);
    release();
  }
}

function answerer(port: ClusterPort, apps: Set<Collect>): (message: unknown) => void {
  return (message) => {
    if (!isClusterMessage<ToWorker>(message) || message.t !== 'collect' || apps.size === 0) return;
    // An app whose collection fails is left out of this worker's answer; the others still count.
    const collections = [...apps].map((collect) => collect().catch(() => undefined));
    void Promise.all(collections).then((results) => {
      const answer = { vela: CLUSTER_TAG, t: 'collected', id: message.id, collections: results.filter((result) => result !== undefined) } as const;
      try {
        port.send(answer, undefined, undefined, () => {});
      } catch {
        // The channel closed: the primary is gone, and nobody waits for this answer.
      }
    });
  };
}
