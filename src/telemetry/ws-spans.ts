// The span of each frame a client sends to a handler: a CONSUMER span `process {event}` (messaging
// semantic conventions, `vela` as `messaging.system`, the gateway's path template as the destination),
// with the handler running inside it, so the spans the app makes there are its children. A frame
// starts a trace of its own, unless it carries the client's (`traceparent` beside `ref`): a socket
// lives for hours, and its frames are not parts of its upgrade.
//
// The name takes the event only when a handler declares it: a client cannot mint span names with
// made-up events. A text or binary frame without an event is `process {path template}`.
import type { Attributes, Span } from '@opentelemetry/api';
import type { Connection } from '../ws/connection.js';
import type { GatewayDefinition } from '../ws/gateway-table.js';
import type { Job } from '../ws/mailbox-job.js';
import { WsError } from '../ws/ws-error.js';
import { activeContext, extractFrom, otel, recordFailure, runIn, tracingOn, velaTracer, withSpan } from './tracer.js';

type Inbound = Extract<Job, { kind: 'message' | 'request' }>;

/**
 * Runs `step` (the mailbox's own) for `job`, inside the job's span when it is a client's frame and an
 * SDK is registered; otherwise just runs it, with no span, context or promise of its own. The span
 * ends once the job has settled: its reply written, its request answered.
 */
export function runJob<T extends { readonly connection: Connection }>(
  owner: T,
  definition: GatewayDefinition,
  job: Job,
  step: (this: T, job: Job) => void | Promise<void>,
): void | Promise<void> {
  if (job.kind === 'info' && job.context) return runIn(job.context, step, owner, job);
  if ((job.kind !== 'message' && job.kind !== 'request') || !tracingOn()) return step.call(owner, job);
  const parent = extractFrom(job.frame);
  const span = (job.span = velaTracer().startSpan(spanName(definition, job), { kind: otel().SpanKind.CONSUMER, attributes: attributesOf(definition, job, owner.connection) }, parent));
  const pending = runIn(withSpan(parent, span), step, owner, job);
  if (!pending) return span.end();
  return pending.then(() => span.end());
}

/**
 * A job about to wait behind a busy mailbox. An @OnInfo keeps the context it was posted in (the
 * deliver span of its broadcast, the request that sent it) rather than running in that of whatever
 * frees the mailbox later. Without an SDK the job is returned untouched and the API is not loaded.
 */
export function queued(job: Job): Job {
  if (job.kind === 'info' && tracingOn()) job.context = activeContext();
  return job;
}

/**
 * Records why a job failed on its span. A WsError that answers a request is the handler's answer,
 * not a failure: its code goes in `vela.error.code` and the span's status stays unset.
 */
export function jobFailed(job: Job, error: unknown): void {
  const span = (job as { span?: Span }).span;
  if (!span?.isRecording()) return;
  if (job.kind === 'request' && error instanceof WsError) span.setAttribute('vela.error.code', error.code);
  else recordFailure(span, error);
}

function spanName(definition: GatewayDefinition, job: Inbound): string {
  const event = declaredEvent(job);
  return `process ${event ?? definition.path}`;
}

/** The job's event, when a handler takes it (undefined for a request no handler declares). */
function declaredEvent(job: Inbound): string | undefined {
  if (job.kind === 'request') return job.handler === undefined ? undefined : job.event;
  return job.frame?.event;
}

function attributesOf(definition: GatewayDefinition, job: Inbound, connection: Connection): Attributes {
  const attributes: Attributes = {
    'messaging.system': 'vela',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': connection.request.path,
    'messaging.destination.template': definition.path,
    'vela.connection.id': connection.id,
  };
  if (job.handler !== undefined) attributes['code.function.name'] = `${definition.gateway.name}.${job.handler}`;
  const event = declaredEvent(job);
  if (event !== undefined) attributes['vela.event'] = event;
  if (job.kind === 'request') attributes['vela.request.ref'] = job.ref;
  return attributes;
}
