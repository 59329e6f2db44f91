// Pub/sub's metrics: broadcasts and deliveries per channel pattern (the `@Module({ channels })` key
// a channel falls under, or 'other': a channel per user or room must not make a series each), how
// long a broadcast takes to reach this node's last member, how long the bus takes between nodes, and
// what the bus lost. Times are epoch milliseconds with sub-ms precision (`clock()`), so a publish
// time carried from another node on this machine compares with this one's.
import { performance } from 'node:perf_hooks';
import type { Attributes, BatchObservableResult, Histogram, Meter, Observable, ObservableCounter } from '@opentelemetry/api';
import { INTEGER } from './noop-meter.js';

/** Fan-out and bus lag, in seconds: a local fan-out takes µs to ms, a hop over Redis about a ms. */
const LAG_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** What a pub/sub adapter reports to the metrics of its node (`PubSubNode.bus`). */
export interface BusMeter {
  /** Envelopes this node could not carry to the others while the bus was away. */
  dropped: number;
  /** Envelopes of other nodes that never arrived here (gaps in their running numbers). */
  missed: number;
  /** The publish time to carry with an envelope (see PubSubNode.receive), or 0 when this node measures nothing. */
  clock(): number;
}

/** The `@Module({ channels })` key a channel falls under, or 'other': never the channel's own name. */
export const CHANNEL_PATTERN = 'vela.channel.pattern';

interface PatternCounts {
  readonly attributes: Attributes;
  broadcasts: number;
  deliveries: number;
}

/** Now, in epoch ms with sub-ms precision: comparable across the processes of one machine. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Seconds since `at` (epoch ms); never negative (another machine's clock may run ahead). */
function since(at: number): number {
  return Math.max(0, now() - at) / 1_000;
}

export class PubSubMeter implements BusMeter {
  readonly enabled: boolean;
  dropped = 0;
  missed = 0;
  /** The observable instruments `report` fills, registered by VelaMetrics with its batch callback. */
  readonly observables: Observable[];
  readonly #patternOf: (channel: string) => string;
  /** Bounded by the app's channel keys, plus 'other'. */
  readonly #patterns = new Map<string, PatternCounts>();
  readonly #fanout: Histogram;
  readonly #bus: Histogram;
  readonly #broadcasts: ObservableCounter;
  readonly #deliveries: ObservableCounter;
  readonly #dropped: ObservableCounter;
  readonly #missed: ObservableCounter;

  constructor(meter: Meter, enabled: boolean, patternOf: (channel: string) => string) {
    this.enabled = enabled;
    this.#patternOf = patternOf;
    const lag = { unit: 's', advice: { explicitBucketBoundaries: LAG_BUCKETS } };
    this.#fanout = meter.createHistogram('vela.pubsub.fanout.lag', { ...lag, description: "From a broadcast's publish to its delivery to this node's last member" });
    this.#bus = meter.createHistogram('vela.pubsub.bus.lag', { ...lag, description: 'From a publish on another node to its arrival here' });
    const int = INTEGER;
    this.#broadcasts = meter.createObservableCounter('vela.pubsub.broadcasts', { ...int, unit: '{message}', description: 'Broadcasts published on this node' });
    this.#deliveries = meter.createObservableCounter('vela.pubsub.deliveries', { ...int, unit: '{delivery}', description: "Messages handed to this node's members" });
    this.#dropped = meter.createObservableCounter('vela.pubsub.bus.dropped', { ...int, unit: '{message}', description: 'Messages not carried to other nodes while the bus was away' });
    this.#missed = meter.createObservableCounter('vela.pubsub.bus.missed', { ...int, unit: '{message}', description: 'Messages of other nodes that never arrived here' });
    this.observables = [this.#broadcasts, this.#deliveries, this.#dropped, this.#missed];
  }

  /** A publish time for `delivered` and for the bus, or 0 (not measured) without an SDK. */
  clock(): number {
    return this.enabled ? now() : 0;
  }

  /** A broadcast on `channel` was published on this node. */
  broadcast(channel: string): void {
    if (this.enabled) this.#countsOf(channel).broadcasts += 1;
  }

  /** `count` members on this node got a message published at `publishedAt` (0: unknown, no lag recorded). */
  delivered(channel: string, count: number, publishedAt: number): void {
    if (!this.enabled || count === 0) return;
    const counts = this.#countsOf(channel);
    counts.deliveries += count;
    if (publishedAt > 0) this.#fanout.record(since(publishedAt), counts.attributes);
  }

  /** An envelope published at `publishedAt` on another node has arrived. */
  carried(publishedAt: number): void {
    if (this.enabled) this.#bus.record(since(publishedAt));
  }

  /** Observes the counts, in VelaMetrics's batch callback. */
  report(result: BatchObservableResult): void {
    for (const counts of this.#patterns.values()) {
      result.observe(this.#broadcasts, counts.broadcasts, counts.attributes);
      result.observe(this.#deliveries, counts.deliveries, counts.attributes);
    }
    result.observe(this.#dropped, this.dropped);
    result.observe(this.#missed, this.missed);
  }

  #countsOf(channel: string): PatternCounts {
    const pattern = this.#patternOf(channel);
    let counts = this.#patterns.get(pattern);
    if (!counts) this.#patterns.set(pattern, (counts = { attributes: Object.freeze({ [CHANNEL_PATTERN]: pattern }), broadcasts: 0, deliveries: 0 }));
    return counts;
  }
}
