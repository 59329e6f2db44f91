// What a connection's mailbox runs (gateway-process.ts), one job at a time, and how a job is named
// in log lines: the gateway and the handler it ran.
import type { Context, Span } from '@opentelemetry/api';
import type { CloseReason } from './connection.js';
import type { EventFrame } from './frames.js';
import { infoHandlerFor, type GatewayDefinition } from './gateway-table.js';

/** A gateway method, as the mailbox calls it. */
export type Callable = (...args: unknown[]) => unknown;

/**
 * A frame from the client, for a handler. `frame`: the event frame it came in, if any (its
 * `traceparent` continues the client's trace); `span`: its `process` span, while traced (ws-spans.ts).
 */
interface Inbound {
  frame?: EventFrame;
  span?: Span;
}

export type Job =
  | { kind: 'init' }
  | ({ kind: 'message'; handler: string; payload: string | Buffer | unknown } & Inbound)
  | ({ kind: 'request'; handler: string | undefined; event: string; payload: unknown; ref: string; answer?: string } & Inbound)
  /** `context`: the one it was posted in, kept while it waits behind a busy mailbox (ws-spans.ts's queued). */
  | { kind: 'info'; message: unknown; context?: Context }
  | { kind: 'terminate'; reason: CloseReason };

/** `Gateway.handler` for a log line: the method the job ran (or would have), else its kind. */
export function jobLabel(definition: GatewayDefinition, job: Job): string {
  const name = definition.gateway.name;
  if (job.kind === 'message') return `${name}.${job.handler}`;
  if (job.kind === 'request') return `${name}.${job.handler ?? job.event}`;
  if (job.kind === 'info') return `${name}.${infoHandlerFor(definition, job.message)?.handlerName ?? 'info'}`;
  return `${name}.${job.kind}`;
}
