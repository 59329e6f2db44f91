// Validation of WebSocket events: an `@OnMessage('event', { data })` handler gets the schema's
// output, and data that fails it never reaches the handler. What the client hears is tied to the
// frame that caused it, and the socket stays open:
//   a request (a frame with a `ref`)  → its answer, `{ ref, error: { code: 'invalid', message, issues } }`
//   a plain event                     → one `{ event: 'vela:error', data: { event, code: 'invalid', message, issues } }`
// A schema that throws is a bug in the app: logged, and answered `internal` the same two ways.
// Built per gateway at bootstrap (gateway-table.ts) and called by the connection's mailbox
// (gateway-process.ts) only for a gateway that has schemas; an async schema holds the mailbox as an
// async handler does, so a later frame never overtakes an earlier one.
import type { Logger } from '../logging/logger.js';
import { isThenable } from '../http/thenable.js';
import type { Schema } from '../validation/schema.js';
import { issuesOf, runSchema, summarize, type SchemaResult } from '../validation/validate.js';
import type { Connection } from './connection.js';
import { WsError } from './ws-error.js';

/** The event a gateway sends when a plain event (no `ref`) could not be handled: vela/client's `'error'`. */
export const ERROR_EVENT = 'vela:error';

/** A frame for a handler, as the mailbox holds it: a plain event (`message`) or a request. */
export interface EventJob {
  readonly kind: string;
  readonly handler?: string;
  readonly payload: unknown;
}

interface EventInput {
  handler: string;
  event: string;
  schema: Schema;
  /** `ChatGateway.post`, for log lines. */
  label: string;
}

type Handlers = Record<string, ((data: unknown, conn: Connection) => unknown) | undefined>;

export class EventInputs {
  /** By handler name: the mailbox's jobs name the handler, not the event. */
  readonly #inputs = new Map<string, EventInput>();
  readonly #gateway: string;

  constructor(gateway: string) {
    this.#gateway = gateway;
  }

  get size(): number {
    return this.#inputs.size;
  }

  add(handler: string, event: string, schema: Schema): void {
    this.#inputs.set(handler, { handler, event, schema, label: `${this.#gateway}.${handler}` });
  }

  /**
   * Runs the job's handler on its payload, validated first when the handler has a schema. Returns
   * what the handler returned (or its promise), like a direct call; synchronous when the schema is.
   * Throws (or rejects) only where the mailbox answers a request: invalid data (a WsError) and a
   * schema that failed.
   */
  call(gateway: object, job: EventJob, conn: Connection, logger: Logger): unknown {
    const handlers = gateway as Handlers;
    const handler = job.handler!;
    const input = this.#inputs.get(handler);
    if (!input) return handlers[handler]!(job.payload, conn);
    const request = job.kind === 'request';
    let result: SchemaResult | Promise<SchemaResult>;
    try {
      result = runSchema(input.schema, job.payload, `the data schema of event '${input.event}' (${input.label})`);
    } catch (error) {
      return this.#broken(error, input, request, conn, logger);
    }
    if (!isThenable(result)) return this.#settle(result, input, request, handlers, conn, logger);
    return result.then(
      (settled) => this.#settle(settled, input, request, handlers, conn, logger),
      (error: unknown) => this.#broken(error, input, request, conn, logger),
    );
  }

  #settle(result: SchemaResult, input: EventInput, request: boolean, handlers: Handlers, conn: Connection, logger: Logger): unknown {
    if (!result.issues) return handlers[input.handler]!(result.value, conn);
    const issues = issuesOf(result.issues);
    const message = `invalid data for event '${input.event}': ${summarize(issues)}`;
    if (request) throw new WsError('invalid', message, issues);
    logger.debug('websocket event refused: its data failed the schema', this.#fields(conn, input, { issues }));
    conn.send(JSON.stringify({ event: ERROR_EVENT, data: { event: input.event, code: 'invalid', message, issues } }));
    return undefined;
  }

  /** A schema that threw: a request's answer is the mailbox's (internal, logged); a plain event's is ours. */
  #broken(error: unknown, input: EventInput, request: boolean, conn: Connection, logger: Logger): undefined {
    if (request) throw error;
    logger.error('gateway callback failed', this.#fields(conn, input, { error }));
    conn.send(JSON.stringify({ event: ERROR_EVENT, data: { event: input.event, code: 'internal', message: 'internal error' } }));
    return undefined;
  }

  #fields(conn: Connection, input: EventInput, extra: Record<string, unknown>): Record<string, unknown> {
    return { gateway: this.#gateway, connection: conn.id, handler: input.label, ...extra };
  }
}
