// The sum of the workers' metrics that one scrape of a `vela start` app serves: each worker's
// collection (its MetricReader's, as it crossed the IPC channel) merged series by series, with no
// `worker` attribute, so that the totals are what a user asks Prometheus for (requests, open
// sockets, deliveries of the whole machine) and a restarted worker adds no series.
//
// Counters, up-down counters and histograms add up. Gauges add up too: Vela's count what each
// worker holds (presence keys of its connections), and so do most an app records per process;
// `vela.history.messages` is the exception, a count of the one shared store every worker reads,
// which the merge takes the largest reading of. Exponential histograms are left out, as the
// Prometheus serializer leaves them out.
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { DataPoint, MetricData, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';

/** What one app of one worker sends: its collection, without the Resource object (its attributes only). */
export interface WorkerCollection {
  readonly resource: Attributes;
  readonly scopeMetrics: readonly ScopeMetrics[];
}

// DataPointType's values (a numeric enum of the SDK's stable API), without loading the SDK here.
const HISTOGRAM = 0;
const GAUGE = 2;
const SUM = 3;

/** Gauges that read one store all workers share, so each worker reports the same count. */
const SHARED_GAUGES: ReadonlySet<string> = new Set(['vela.history.messages']);

interface Histogram {
  buckets: { boundaries: number[]; counts: number[] };
  sum?: number;
  count: number;
  min?: number;
  max?: number;
}

type Point = { startTime: HrTime; endTime: HrTime; attributes: Attributes; value: number | Histogram };

interface Series {
  readonly metric: MetricData;
  readonly points: Map<string, Point>;
}

/** One collection of every worker's metrics, ready for the PrometheusSerializer. The resource is the first worker's. */
export function mergeCollections(collections: readonly WorkerCollection[]): ResourceMetrics {
  const scopes = new Map<string, { scope: ScopeMetrics['scope']; series: Map<string, Series> }>();
  for (const collection of collections) {
    for (const { scope, metrics } of collection.scopeMetrics) {
      const scopeKey = `${scope.name}\n${scope.version ?? ''}\n${scope.schemaUrl ?? ''}`;
      let entry = scopes.get(scopeKey);
      if (!entry) scopes.set(scopeKey, (entry = { scope, series: new Map() }));
      for (const metric of metrics) add(entry.series, metric);
    }
  }
  const scopeMetrics: ScopeMetrics[] = [...scopes.values()].map(({ scope, series }) => ({
    scope,
    metrics: [...series.values()].map(({ metric, points }) => ({ ...metric, dataPoints: [...points.values()] }) as MetricData),
  }));
  return { resource: { attributes: collections[0]?.resource ?? {} } as ResourceMetrics['resource'], scopeMetrics };
}

function add(series: Map<string, Series>, metric: MetricData): void {
  if (metric.dataPointType !== SUM && metric.dataPointType !== GAUGE && metric.dataPointType !== HISTOGRAM) return;
  const name = metric.descriptor.name;
  let entry = series.get(name);
  if (!entry) series.set(name, (entry = { metric, points: new Map() }));
  // Another kind under the same name (workers on different versions of the app): the first one's stays.
  if (entry.metric.dataPointType !== metric.dataPointType) return;
  const combine = metric.dataPointType === HISTOGRAM ? addHistograms : metric.dataPointType === GAUGE && SHARED_GAUGES.has(name) ? Math.max : addNumbers;
  for (const point of metric.dataPoints as DataPoint<number | Histogram>[]) {
    const key = attributesKey(point.attributes);
    const known = entry.points.get(key);
    if (!known) {
      entry.points.set(key, copy(point));
      continue;
    }
    const value = (combine as (a: Point['value'], b: Point['value']) => Point['value'] | undefined)(known.value, point.value);
    if (value === undefined) continue;
    known.value = value;
    if (compare(point.startTime, known.startTime) < 0) known.startTime = point.startTime;
    if (compare(point.endTime, known.endTime) > 0) known.endTime = point.endTime;
  }
}

const addNumbers = (a: number, b: number): number => a + b;

/** Two histograms with the same buckets, added; undefined when the buckets differ (the first one's stays). */
function addHistograms(a: Histogram, b: Histogram): Histogram | undefined {
  const bounds = a.buckets.boundaries;
  if (bounds.length !== b.buckets.boundaries.length || bounds.some((bound, index) => bound !== b.buckets.boundaries[index])) return undefined;
  return {
    buckets: { boundaries: bounds, counts: a.buckets.counts.map((count, index) => count + (b.buckets.counts[index] ?? 0)) },
    sum: a.sum === undefined || b.sum === undefined ? undefined : a.sum + b.sum,
    count: a.count + b.count,
    min: extreme(Math.min, a.min, b.min),
    max: extreme(Math.max, a.max, b.max),
  };
}

/** min or max of what each side has (JSON turns an unset ±Infinity into null). */
function extreme(pick: (a: number, b: number) => number, a: number | null | undefined, b: number | null | undefined): number | undefined {
  if (typeof a !== 'number') return typeof b === 'number' ? b : undefined;
  return typeof b === 'number' ? pick(a, b) : a;
}

function copy(point: DataPoint<number | Histogram>): Point {
  const value = typeof point.value === 'number' ? point.value : { ...point.value, buckets: { ...point.value.buckets, counts: [...point.value.buckets.counts] } };
  return { startTime: point.startTime, endTime: point.endTime, attributes: point.attributes, value };
}

/** The same attributes in any order make the same key. */
function attributesKey(attributes: Attributes): string {
  return JSON.stringify(Object.keys(attributes).sort().map((key) => [key, attributes[key]]));
}

function compare(a: HrTime, b: HrTime): number {
  return a[0] - b[0] || a[1] - b[1];
}
