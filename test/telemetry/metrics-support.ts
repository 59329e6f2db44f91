// What the metrics tests share: the real OpenTelemetry SDK (a MeterProvider with a reader the test
// collects from, as an exporter would), and lookups of what one collection holds.
import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';

/** A pull reader: `collect()` when the test wants to look, nothing on a timer. */
class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }

  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface TestMeter {
  /** Give it as bootstrap({ metrics: { meterProvider } }), or register it globally. */
  readonly meterProvider: MeterProvider;
  /** One collection, as an exporter would get it now. */
  read(): Promise<Collected>;
}

/**
 * `delta`: each collection reports what changed since the last one, and an observable instrument no
 * callback observed anymore reports nothing (cumulative readers keep its last value).
 */
export function testMeter({ delta = false } = {}): TestMeter {
  const reader = new TestReader(delta ? { aggregationTemporalitySelector: () => AggregationTemporality.DELTA } : undefined);
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    meterProvider,
    async read() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new AggregateError(errors, 'metrics collection failed');
      return new Collected(resourceMetrics);
    },
  };
}

/** The metrics of one collection, by name. */
export class Collected {
  readonly #metrics = new Map<string, MetricData>();

  constructor(resource: ResourceMetrics) {
    for (const scope of resource.scopeMetrics) for (const metric of scope.metrics) this.#metrics.set(metric.descriptor.name, metric);
  }

  get names(): string[] {
    return [...this.#metrics.keys()].sort();
  }

  metric(name: string): MetricData {
    const metric = this.#metrics.get(name);
    if (!metric) throw new Error(`no metric ${name}; collected: ${this.names.join(', ')}`);
    return metric;
  }

  /** The points of `name` whose attributes include `attributes`. */
  points(name: string, attributes: Attributes = {}): DataPoint<unknown>[] {
    const points = (this.#metrics.get(name)?.dataPoints ?? []) as DataPoint<unknown>[];
    return points.filter((point) => Object.entries(attributes).every(([key, value]) => point.attributes[key] === value));
  }

  /** The value of the one point of a counter or gauge `name` with exactly `attributes`; 0 when none. */
  value(name: string, attributes: Attributes = {}): number {
    const exact = this.points(name, attributes).filter((point) => Object.keys(point.attributes).length === Object.keys(attributes).length);
    if (exact.length > 1) throw new Error(`${name}: ${exact.length} points for ${JSON.stringify(attributes)}`);
    return (exact[0]?.value as number | undefined) ?? 0;
  }

  /** The histogram points of `name` whose attributes include `attributes`, merged: their count, sum and boundaries. */
  histogram(name: string, attributes: Attributes = {}): { count: number; sum: number; boundaries: number[] } {
    const metric = this.#metrics.get(name);
    if (metric && metric.dataPointType !== DataPointType.HISTOGRAM) throw new Error(`${name} is not a histogram`);
    const points = this.points(name, attributes) as DataPoint<Histogram>[];
    return {
      count: points.reduce((total, point) => total + point.value.count, 0),
      sum: points.reduce((total, point) => total + (point.value.sum ?? 0), 0),
      boundaries: points[0]?.value.buckets.boundaries ?? [],
    };
  }

  /** Every value an attribute `key` takes in `name`'s points. */
  attributeValues(name: string, key: string): unknown[] {
    return [...new Set(this.points(name).map((point) => point.attributes[key]))];
  }
}
