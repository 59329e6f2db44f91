// Vela's metrics, through the OpenTelemetry metrics API only: one set of instruments per app, made at
// bootstrap from the MeterProvider the app chose (the global one by default: the API's no-op until
// an SDK is registered). Without an SDK, `enabled` is false and the hot paths skip even their clock
// reads. The counts made most often (frames in and out, broadcasts, deliveries) are plain numbers
// that observable instruments read when a reader collects: a busy socket pays an increment per
// frame, never an SDK call that hashes attributes. Names and units are listed in docs/telemetry.md (Metrics).
import { performance } from 'node:perf_hooks';
import type { Attributes, BatchObservableCallback, Counter, Histogram, Meter, Observable, ObservableCallback, ObservableGauge } from '@opentelemetry/api';
import { INTEGER, NOOP_METER } from './noop-meter.js';
import { HttpMeter } from './metrics-http.js';
import { CHANNEL_PATTERN, PubSubMeter } from './metrics-pubsub.js';

/** The attribute that names a gateway: its path as declared, e.g. `/rooms/:room` (bounded, unlike the paths clients ask for). */
export const GATEWAY = 'vela.gateway';
/** Why the server cut a socket (`vela.websocket.closes`). */
export const CLOSE_CAUSE = 'vela.close.cause';

/** Session durations in seconds: from a bounce to a tab left open all day. */
const SESSION_BUCKETS = [1, 5, 15, 30, 60, 300, 900, 1_800, 3_600, 7_200, 14_400, 28_800, 86_400];

/** Server-side cuts of a socket that tell of trouble: a reader too slow, a sender too fast, a peer gone. */
export type CloseCause = 'slow_consumer' | 'rate_limit' | 'heartbeat';
const CAUSES: readonly CloseCause[] = ['slow_consumer', 'rate_limit', 'heartbeat'];

/** Sync instruments a gateway records to; shared by every gateway of the app. */
interface GatewayInstruments {
  readonly enabled: boolean;
  readonly closes: Counter;
  readonly sessions: Histogram;
}

/**
 * One gateway's counts: made at bootstrap, shared by its connections. `received`, `sent` and `open`
 * are read when a reader collects.
 */
export class GatewayMeter {
  /** Data frames read from the gateway's sockets (heartbeat pings included). */
  received = 0;
  /** Frames written to them: replies, deliveries, answers, pongs. */
  sent = 0;
  /** Connections accepted and not yet terminated. */
  open = 0;
  readonly attributes: Attributes;
  readonly #instruments: GatewayInstruments;
  readonly #causes: Record<CloseCause, Attributes>;

  constructor(path: string, instruments: GatewayInstruments) {
    this.attributes = Object.freeze({ [GATEWAY]: path });
    this.#instruments = instruments;
    // Built once: a cut records with an attribute object made at bootstrap.
    this.#causes = Object.fromEntries(CAUSES.map((cause) => [cause, Object.freeze({ [GATEWAY]: path, [CLOSE_CAUSE]: cause })])) as unknown as Record<CloseCause, Attributes>;
  }

  /** A connection's opening time for `ended`: 0 with metrics off, so a socket then holds a small integer, not a boxed double. */
  opened(): number {
    return this.#instruments.enabled ? performance.now() : 0;
  }

  /** The server cut a socket of this gateway for `cause`. */
  cut(cause: CloseCause): void {
    this.#instruments.closes.add(1, this.#causes[cause]);
  }

  /** A connection opened at `openedAt` (from `opened()`) has terminated. */
  ended(openedAt: number): void {
    if (this.#instruments.enabled) this.#instruments.sessions.record((performance.now() - openedAt) / 1_000, this.attributes);
  }
}

/** Sizes per channel, as an adapter or the presence tracker reports them. */
export type ChannelSizes = Iterable<readonly [channel: string, size: number]>;

/** A disabled meter for code built without an app (a Hub in a unit test): records nothing. */
export const METRICS_OFF = (): VelaMetrics => new VelaMetrics(NOOP_METER, () => 'other', false);

/**
 * Every instrument of one app. `stop()` (app.close) unregisters its observable callbacks, so a
 * closed app is no longer reported by a provider that outlives it (the global one).
 */
export class VelaMetrics {
  /** False when the meter is the API's no-op (no SDK registered): hot paths then skip their clocks. */
  readonly enabled: boolean;
  readonly http: HttpMeter;
  readonly pubsub: PubSubMeter;
  readonly #meter: Meter;
  readonly #gatewayInstruments: GatewayInstruments;
  readonly #gateways: GatewayMeter[] = [];
  readonly #patternOf: (channel: string) => string;
  readonly #unregister: (() => void)[] = [];
  /** Gauges asked for before start(), registered by it. */
  readonly #gauges: (() => void)[] = [];

  /**
   * `patternOf` maps a channel to its `@Module({ channels })` key, or 'other'. `enabled`: false when
   * `meter` is a no-op (no SDK registered).
   */
  constructor(meter: Meter, patternOf: (channel: string) => string, enabled: boolean) {
    this.#meter = meter;
    this.#patternOf = patternOf;
    this.enabled = enabled;
    this.http = new HttpMeter(meter, this.enabled);
    this.pubsub = new PubSubMeter(meter, this.enabled, patternOf);
    this.#gatewayInstruments = {
      enabled: this.enabled,
      closes: meter.createCounter('vela.websocket.closes', {
        description: 'WebSockets the server cut: slow consumers, rate limits, missed heartbeats',
        unit: '{connection}',
        ...INTEGER,
      }),
      sessions: meter.createHistogram('vela.websocket.session.duration', {
        description: 'How long WebSocket connections stayed open',
        unit: 's',
        advice: { explicitBucketBoundaries: SESSION_BUCKETS },
      }),
    };
  }

  /** The counts of the gateway at `path` (its path as declared). */
  gateway(path: string): GatewayMeter {
    const meter = new GatewayMeter(path, this.#gatewayInstruments);
    this.#gateways.push(meter);
    return meter;
  }

  /** `vela.presence.keys`: the keys this node's connections track, per channel, read at each collection. */
  observePresence(sizes: () => ChannelSizes): void {
    this.#gauge('vela.presence.keys', 'Presence keys tracked by this node\'s connections', '{key}', sizes);
  }

  /** `vela.history.messages`: the messages history channels hold, per channel, read at each collection. */
  observeHistory(sizes: () => ChannelSizes | Promise<ChannelSizes>): void {
    this.#gauge('vela.history.messages', 'Messages held in channel histories', '{message}', sizes);
  }

  /** Registers the callbacks of the observable instruments: the app is starting. */
  start(): void {
    if (this.enabled && this.#unregister.length === 0) this.#observe();
    for (const gauge of this.#gauges.splice(0)) gauge();
  }

  /** Unregisters this app's callbacks (its provider may be the global one, which outlives it). */
  stop(): void {
    for (const unregister of this.#unregister.splice(0)) unregister();
  }

  #observe(): void {
    const meter = this.#meter;
    const int = INTEGER;
    const connections = meter.createObservableUpDownCounter('vela.websocket.connections', { ...int, description: 'Open WebSockets', unit: '{connection}' });
    const received = meter.createObservableCounter('vela.websocket.messages.received', { ...int, description: 'Data frames read from WebSockets', unit: '{message}' });
    const sent = meter.createObservableCounter('vela.websocket.messages.sent', { ...int, description: 'Frames written to WebSockets', unit: '{message}' });
    const observables: Observable[] = [connections, received, sent, ...this.pubsub.observables];
    const callback: BatchObservableCallback = (result) => {
      for (const gateway of this.#gateways) {
        result.observe(connections, gateway.open, gateway.attributes);
        result.observe(received, gateway.received, gateway.attributes);
        result.observe(sent, gateway.sent, gateway.attributes);
      }
      this.pubsub.report(result);
    };
    meter.addBatchObservableCallback(callback, observables);
    this.#unregister.push(() => meter.removeBatchObservableCallback(callback, observables));
  }

  /** A gauge summing `sizes` per channel pattern. */
  #gauge(name: string, description: string, unit: string, sizes: () => ChannelSizes | Promise<ChannelSizes>): void {
    if (this.enabled) this.#gauges.push(() => this.#register(name, description, unit, sizes));
  }

  #register(name: string, description: string, unit: string, sizes: () => ChannelSizes | Promise<ChannelSizes>): void {
    const gauge: ObservableGauge = this.#meter.createObservableGauge(name, { description, unit, ...INTEGER });
    const attributes = new Map<string, Attributes>();
    const callback: ObservableCallback = async (result) => {
      const totals = new Map<string, number>();
      for (const [channel, size] of await sizes()) {
        const pattern = this.#patternOf(channel);
        totals.set(pattern, (totals.get(pattern) ?? 0) + size);
      }
      for (const [pattern, total] of totals) {
        let attrs = attributes.get(pattern);
        if (!attrs) attributes.set(pattern, (attrs = Object.freeze({ [CHANNEL_PATTERN]: pattern })));
        result.observe(total, attrs);
      }
    };
    gauge.addCallback(callback);
    this.#unregister.push(() => gauge.removeCallback(callback));
  }
}
