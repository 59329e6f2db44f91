// What travels through pub/sub: the message members receive, and the envelopes nodes exchange.
import type { Frame } from '../ws/frames.js';

/**
 * What a member receives in `@OnInfo` (Nova's `{nova_pubsub, Channel, Sender, Topic, Payload}`).
 * One frozen object is shared by every member: do not mutate the payload.
 */
export interface PubSubMessage<T = unknown> {
  readonly channel: string;
  /** The connection id that broadcast it, or null when it came from elsewhere (a controller, a job). */
  readonly sender: string | null;
  readonly topic: string;
  readonly payload: T;
  /**
   * Where the message is in its channel's history (an opaque string of at most 100 characters), on
   * channels that keep history (`@Module({ channels })`); undefined elsewhere.
   */
  readonly position?: string;
}

/**
 * Trace context as strings by name, as the app's OpenTelemetry propagator writes it (`traceparent`,
 * `tracestate` under W3C Trace Context).
 */
export type TraceCarrier = Readonly<Record<string, string>>;

/** What one node asks the others to deliver locally. Adapters carry envelopes; they never read them. */
export type Envelope =
  /**
   * `tc`: the broadcast's trace context, only when an OpenTelemetry SDK traces it (see
   * telemetry/bus-spans.ts): the receiving node's deliver span joins the publisher's trace. A node
   * that does not know the field ignores it, so adding it changed no wire version.
   */
  | { readonly type: 'message'; readonly message: PubSubMessage; readonly tc?: TraceCarrier }
  /** Comms' envelopes; `tc` as a broadcast's: the send's trace context (telemetry/comms-spans.ts). */
  | { readonly type: 'session-send'; readonly sessionId: string; readonly frame: Frame; readonly tc?: TraceCarrier }
  | { readonly type: 'session-info'; readonly sessionId: string; readonly message: unknown; readonly tc?: TraceCarrier }
  | { readonly type: 'send-all'; readonly frame: Frame; readonly exceptSession?: string; readonly tc?: TraceCarrier };
