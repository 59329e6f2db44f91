// The raw-ws peer's telemetry in bench/telemetry.mjs (`ws-sdk`, bench/broadcast.mjs server raw-otel):
// per broadcast, what an instrumentation of a hand-written ws broadcast loop would do, and what Vela
// does per broadcast on the publishing node: a PRODUCER span with the messaging attributes, its
// context entered around the loop that writes to every socket (AsyncLocalStorage under the bench's
// SDK), the context injected into a carrier as it would travel to other nodes, the span ended. No
// work per socket, as Vela does none per member.
import { createRequire } from 'node:module';

/**
 * `send(payloads)` wrapped so that each payload's loop runs inside a publish span, built on
 * @opentelemetry/api as Vela's dev dependencies resolve it (the module bench/telemetry-variant.mjs
 * registers the SDK with).
 */
export function tracedBroadcast(sendOne, channel) {
  const { SpanKind, context, propagation, trace } = createRequire(new URL('../package.json', import.meta.url))('@opentelemetry/api');
  const tracer = trace.getTracer('vela-bench-ws');
  return (payloads) => {
    for (const payload of payloads) {
      const parent = context.active();
      const attributes = {
        'messaging.system': 'ws',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.destination.name': channel,
      };
      const span = tracer.startSpan(`publish ${channel}`, { kind: SpanKind.PRODUCER, attributes }, parent);
      const active = trace.setSpan(parent, span);
      const carrier = {};
      propagation.inject(active, carrier);
      context.with(active, sendOne, undefined, payload);
      span.end();
    }
  };
}
