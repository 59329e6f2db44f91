// The span of a request the server makes of a client (ws/server-requests.ts). Apart from
// ws-spans.ts, which reads the gateway table: a connection's request path must not import it.
import type { Attributes } from '@opentelemetry/api';
import { WsError } from '../ws/ws-error.js';
import { otel, recordFailure, velaTracer } from './tracer.js';

/**
 * `await conn.request(event, data)`: a CLIENT span `request {event}` (the server asks, the client
 * answers) from the frame's send to the answer, `answer` returned as it is. A rejection (the client's
 * error answer, a timeout, a closed connection) sets status ERROR with the WsError's code as
 * `error.type` and `vela.error.code`. Call only when tracingOn().
 */
export function traceServerRequest<T>(event: string, ref: string, connectionId: string, answer: Promise<T>): Promise<T> {
  const attributes: Attributes = { 'vela.event': event, 'vela.request.ref': ref, 'vela.connection.id': connectionId };
  const span = velaTracer().startSpan(`request ${event}`, { kind: otel().SpanKind.CLIENT, attributes });
  answer.then(
    () => span.end(),
    (error: unknown) => {
      if (error instanceof WsError && span.isRecording()) {
        span.setAttributes({ 'vela.error.code': error.code, 'error.type': error.code });
        span.setStatus({ code: otel().SpanStatusCode.ERROR, message: error.message });
      } else recordFailure(span, error);
      span.end();
    },
  );
  return answer;
}
