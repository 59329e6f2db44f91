// Spans of Comms (pubsub/comms.ts): a message to a session's sockets, or to every socket, wherever
// they are. As for a broadcast (bus-spans.ts), the send is one PRODUCER span, child of whatever was
// active (a request, a handler, a job), whose context travels to the other nodes in the envelope's
// `tc`; every node with sockets to reach, the sender's own included, makes one CONSUMER `deliver`
// span, child of the send and linked to it, with how many sockets it reached.
//
// The session id is never an attribute: it is the bearer secret of the session cookie, and trace
// backends are read by more people than the session store. The destination is named by its kind
// (`session`, `all`) only, in `messaging.destination.template`.
import type { Attributes, Context, Link, Span } from '@opentelemetry/api';
import type { Envelope, TraceCarrier } from '../pubsub/message.js';
import { activeContext, carrierOf, extractFrom, otel, velaTracer, withSpan } from './tracer.js';

/** What Comms puts on the bus: to a session's sockets (`send`, `info`) or to every socket. */
export type CommsEnvelope = Extract<Envelope, { type: 'session-send' | 'session-info' | 'send-all' }>;

/** The span name's operation and destination per envelope: `send session`, `info session`, `send all`. */
const NAMES = {
  'session-send': { operation: 'send', destination: 'session' },
  'session-info': { operation: 'info', destination: 'session' },
  'send-all': { operation: 'send', destination: 'all' },
} as const;

/** Starts the PRODUCER span of a Comms send under the active context. Call only when tracingOn(). */
export function startCommsSend(envelope: CommsEnvelope, node: string): { span: Span; context: Context; carrier: TraceCarrier | undefined } {
  const { operation, destination } = NAMES[envelope.type];
  const parent = activeContext();
  const attributes = commsAttributes(destination, node, 'send', operation);
  const span = velaTracer().startSpan(`${operation} ${destination}`, { kind: otel().SpanKind.PRODUCER, attributes }, parent);
  const context = withSpan(parent, span);
  return { span, context, carrier: carrierOf(context) };
}

/**
 * Starts `deliver session` or `deliver all` on this node. `from`: undefined on the sender's node (its
 * send span is active), else the envelope's `tc` (null: none, the span starts a trace). Call only when tracingOn().
 */
export function startCommsDeliver(envelope: CommsEnvelope, node: string, from: TraceCarrier | null | undefined): { span: Span; context: Context } {
  const parent = from === undefined ? activeContext() : extractFrom(from);
  const send = otel().trace.getSpanContext(parent);
  const links: Link[] = send && otel().isSpanContextValid(send) ? [{ context: send }] : [];
  const { operation, destination } = NAMES[envelope.type];
  const attributes = commsAttributes(destination, node, 'process', 'deliver');
  attributes['vela.comms'] = operation;
  const span = velaTracer().startSpan(`deliver ${destination}`, { kind: otel().SpanKind.CONSUMER, attributes, links }, parent);
  return { span, context: withSpan(parent, span) };
}

function commsAttributes(destination: string, node: string, type: string, name: string): Attributes {
  return {
    'messaging.system': 'vela',
    'messaging.operation.type': type,
    'messaging.operation.name': name,
    'messaging.destination.template': destination,
    'vela.node.id': node,
  };
}
