// The scrape endpoint of an app on `vela start` workers: one scrape answers for every worker of
// the machine (node:cluster hands the scrape to any one of them). The worker it reached asks the
// primary, which gathers every worker's collection (cluster/metrics-relay.ts); this worker sums
// them (metrics-merge.ts) and serializes the sum as the PrometheusExporter would. Loaded only in a
// worker whose app serves metrics: the single-process endpoint is prometheus.ts's, unchanged.
import type { Context } from 'koa';
import type { DataPoint, GaugeMetricData, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { GATHER_TIMEOUT_MS, type GatheredMetrics } from '../cluster/metrics-relay.js';
import { gatherMetrics, offerMetrics } from '../cluster/worker-metrics.js';
import { mergeCollections, type WorkerCollection } from './metrics-merge.js';
import type { PrometheusReader } from './prometheus.js';

/** A PrometheusExporter as this file uses it: a MetricReader, collected on demand. */
export interface CollectingReader extends PrometheusReader {
  collect(): Promise<{ resourceMetrics: ResourceMetrics; errors: unknown[] }>;
}

export function canCollect(reader: PrometheusReader): reader is CollectingReader {
  return typeof (reader as Partial<CollectingReader>).collect === 'function';
}

/** How long a scrape waits for the primary beyond the primary's own wait for the workers. */
const PRIMARY_GRACE_MS = 1_000;

export interface ClusterScrape {
  /** Answers a scrape with every worker's metrics summed. */
  scrape(ctx: Context): Promise<void>;
  /** This worker no longer answers the primary for this app. */
  close(): void;
}

/** Offers `exporter`'s collection to the other workers' scrapes, and serves the sum of all of them. */
export async function clusterScrape(exporter: CollectingReader): Promise<ClusterScrape> {
  const { PrometheusSerializer } = await import('@opentelemetry/exporter-prometheus');
  const serializer = new PrometheusSerializer();
  const collect = async (): Promise<WorkerCollection> => {
    const { resourceMetrics } = await exporter.collect();
    return { resource: resourceMetrics.resource.attributes, scopeMetrics: resourceMetrics.scopeMetrics };
  };
  const close = offerMetrics(collect);
  return {
    close,
    async scrape(ctx) {
      let gathered: GatheredMetrics;
      let notes: string[];
      try {
        gathered = await gatherMetrics(GATHER_TIMEOUT_MS + PRIMARY_GRACE_MS);
        notes = gathered.missing.map((pid) => `# vela: worker pid ${pid || 'unknown'} did not answer within ${gathered.timeoutMs} ms: its metrics are not in this scrape`);
      } catch (error) {
        // The primary is gone or stuck: this worker's own metrics, said to be only that.
        gathered = { asked: 1, collections: [[await collect()]], missing: [], timeoutMs: 0 };
        notes = [`# vela: the primary did not gather the workers' metrics (${(error as Error).message}): this scrape is worker pid ${process.pid}'s alone`];
      }
      const merged = mergeCollections(gathered.collections.flat() as WorkerCollection[]);
      addWorkerCounts(merged, gathered.asked, gathered.collections.length);
      ctx.status = 200;
      ctx.type = 'text/plain; version=0.0.4; charset=utf-8';
      ctx.body = (notes.length > 0 ? `${notes.join('\n')}\n` : '') + serializer.serialize(merged);
    },
  };
}

/** `vela.cluster.workers` and `vela.cluster.workers.scraped`: how many workers there are, and how many this scrape sums. */
function addWorkerCounts(merged: ResourceMetrics, asked: number, answered: number): void {
  let vela = merged.scopeMetrics.find(({ scope }) => scope.name === 'vela');
  if (!vela) merged.scopeMetrics.push((vela = { scope: { name: 'vela' }, metrics: [] } satisfies ScopeMetrics));
  const now = Date.now();
  const time: [number, number] = [Math.floor(now / 1_000), (now % 1_000) * 1_000_000];
  const gauge = (name: string, description: string, value: number): GaugeMetricData => ({
    descriptor: { name, description, unit: '{worker}', valueType: 0 },
    // DataPointType.GAUGE and AggregationTemporality.CUMULATIVE (numeric enums of the SDK).
    dataPointType: 2 as GaugeMetricData['dataPointType'],
    aggregationTemporality: 1 as GaugeMetricData['aggregationTemporality'],
    dataPoints: [{ startTime: time, endTime: time, attributes: {}, value } satisfies DataPoint<number>],
  });
  vela.metrics.push(
    gauge('vela.cluster.workers', 'Workers of this machine the scrape asked for their metrics', asked),
    gauge('vela.cluster.workers.scraped', 'Workers whose metrics this scrape sums: fewer than vela.cluster.workers when one did not answer in time', answered),
  );
}
