// Spans of pub/sub, and the trace context that crosses the bus with a broadcast. A broadcast is one
// PRODUCER span, `publish {pattern}`, child of whatever was active (an HTTP request, a gateway
// handler); its context travels in the envelope's `tc` to the other nodes. Every node that delivers
// it to members, the publisher's own included, makes one CONSUMER span, `deliver {pattern}`, child of
// the publish and linked to it, with the number of members reached (a node with none in the channel
// makes none, though every node hears every broadcast): a span per member would cost more than the
// delivery itself (a broadcast is one encode and a write per socket), and a member's @OnInfo spans,
// when it runs at once, are children of the deliver span anyway.
//
// Messaging semantic conventions, with `vela` as `messaging.system`; the span name is the operation
// and the channel's pattern (channelPattern), never its raw name, so a system with a channel per
// room still has few span names; the raw name is `messaging.destination.name`.
import type { Attributes, Context, Link, Span } from '@opentelemetry/api';
import type { PubSubMessage, TraceCarrier } from '../pubsub/message.js';
import { activeContext, carrierOf, extractFrom, otel, recordFailure, velaTracer, withSpan } from './tracer.js';

/** What a node tells its spans about itself. */
export interface BusNode {
  readonly id: string;
  /** The `@Module({ channels })` key a channel falls under (see ChannelTable.patternOf). */
  readonly patternOf: (channel: string) => string | undefined;
}

/**
 * A bounded name for `channel`: the `@Module({ channels })` key it falls under ('room:*'); else, by
 * the `kind:id` convention, its name up to the first ':' and a star ('room:42' → 'room:*'); else
 * its name ('comments'). An app whose dynamic channels have no ':' lists their pattern, even without
 * history: `channels: { 'user-*': {} }`.
 */
export function channelPattern(channel: string, declared: (channel: string) => string | undefined): string {
  const pattern = declared(channel);
  if (pattern !== undefined) return pattern;
  const colon = channel.indexOf(':');
  return colon === -1 ? channel : `${channel.slice(0, colon + 1)}*`;
}

/** A broadcast's span, the context its delivery here runs in, and the carrier for the other nodes. */
export interface PublishTrace {
  readonly span: Span;
  readonly context: Context;
  /** Absent for a local broadcast, or when the app's propagator writes nothing. */
  readonly carrier: TraceCarrier | undefined;
}

/** Starts `publish {pattern}` under the active context. Call only when tracingOn(). */
export function startPublish(message: PubSubMessage, node: BusNode, local: boolean): PublishTrace {
  const pattern = channelPattern(message.channel, node.patternOf);
  const attributes = messagingAttributes(message, pattern, node, 'send', 'publish');
  if (message.sender !== null) attributes['vela.sender'] = message.sender;
  if (local) attributes['vela.local'] = true;
  const parent = activeContext();
  const span = velaTracer().startSpan(`publish ${pattern}`, { kind: otel().SpanKind.PRODUCER, attributes }, parent);
  const context = withSpan(parent, span);
  return { span, context, carrier: local ? undefined : carrierOf(context) };
}

/**
 * Ends the publish span once the adapter has carried the message (or failed to: a refused payload
 * is recorded). `carried` is returned to the caller untouched, so a refusal the caller does not
 * await stays the handled rejection the Hub made it.
 */
export function endPublish(span: Span, carried: Promise<void>): void {
  carried.then(
    () => span.end(),
    (error: unknown) => {
      recordFailure(span, error);
      span.end();
    },
  );
}

/**
 * Starts `deliver {pattern}` for one message on this node. `from`: undefined for the publisher's own
 * delivery (the publish span is active), else what came with the envelope (null: no trace context,
 * the span starts a trace). Call only when tracingOn().
 */
export function startDeliver(message: PubSubMessage, node: BusNode, from: TraceCarrier | null | undefined, members: number): { span: Span; context: Context } {
  const parent = from === undefined ? activeContext() : extractFrom(from);
  const publish = otel().trace.getSpanContext(parent);
  const links: Link[] = publish && otel().isSpanContextValid(publish) ? [{ context: publish }] : [];
  const pattern = channelPattern(message.channel, node.patternOf);
  const attributes = messagingAttributes(message, pattern, node, 'process', 'deliver');
  attributes['vela.members'] = members;
  if (message.position !== undefined) attributes['vela.position'] = message.position;
  const span = velaTracer().startSpan(`deliver ${pattern}`, { kind: otel().SpanKind.CONSUMER, attributes, links }, parent);
  return { span, context: withSpan(parent, span) };
}

function messagingAttributes(message: PubSubMessage, pattern: string, node: BusNode, type: string, name: string): Attributes {
  return {
    'messaging.system': 'vela',
    'messaging.operation.type': type,
    'messaging.operation.name': name,
    'messaging.destination.name': message.channel,
    'messaging.destination.template': pattern,
    'vela.topic': message.topic,
    'vela.node.id': node.id,
  };
}
