// Requests from the server to a client, `await conn.request(event, data, { timeout })`: the frame
// `{ "event", "data", "ref" }` with refs of the server's own ("s1", "s2", … per connection, never
// a client's), and the promises waiting for the client's `{ "ref", "ok" }` or `{ "ref", "error" }`.
// Made on a connection's first request, so an idle socket holds nothing of it.
import { ClientAnswer, FrameEncodingError } from './frames.js';
import { isErrorCode, WsError } from './ws-error.js';
import { tracingOn } from '../telemetry/tracer.js';
import { traceServerRequest } from '../telemetry/request-spans.js';

export interface RequestOptions {
  /** How long to wait for the client's answer, in ms; then the request rejects with code 'timeout'. Default 10 000. */
  timeout?: number;
}

/** `conn.request(event, data, options)`: resolves with the client's `ok` value, rejects with a WsError. */
export type RequestFn = <T = unknown>(event: string, data?: unknown, options?: RequestOptions) => Promise<T>;

export const DEFAULT_REQUEST_TIMEOUT = 10_000;
/** The most requests to one client waiting for an answer at once: one more rejects with 'overloaded'. */
export const MAX_PENDING_REQUESTS = 1_000;
/** setTimeout's longest delay. */
const LONGEST_TIMEOUT = 2 ** 31 - 1;

interface Pending {
  resolve(value: unknown): void;
  reject(error: WsError): void;
  timer: NodeJS.Timeout;
}

/** The connection requests go out on: its id names the request's span. */
interface Asker {
  readonly id: string;
  send(frame: string): boolean;
}

export class ServerRequests {
  readonly #connection: Asker;
  readonly #pending = new Map<string, Pending>();
  #sent = 0;

  constructor(connection: Asker) {
    this.#connection = connection;
  }

  request(event: string, data: unknown, { timeout = DEFAULT_REQUEST_TIMEOUT }: RequestOptions = {}): Promise<unknown> {
    if (typeof event !== 'string' || event === '') return Promise.reject(new TypeError('conn.request needs an event name (a non-empty string).'));
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > LONGEST_TIMEOUT) {
      return Promise.reject(new RangeError(`conn.request timeout must be a whole number of ms from 1 to ${LONGEST_TIMEOUT}, got ${String(timeout)}.`));
    }
    if (this.#pending.size >= MAX_PENDING_REQUESTS) {
      return Promise.reject(new WsError('overloaded', `${MAX_PENDING_REQUESTS} requests to this client are already waiting for an answer`));
    }
    const ref = `s${++this.#sent}`;
    let frame: string;
    try {
      frame = JSON.stringify({ event, data, ref });
    } catch (error) {
      return Promise.reject(new FrameEncodingError(error));
    }
    const answer = new Promise<unknown>((resolve, reject) => {
      if (!this.#connection.send(frame)) return reject(new WsError('closed', 'the connection closed before the request was sent'));
      const timer = setTimeout(() => {
        this.#pending.delete(ref);
        reject(new WsError('timeout', `no answer to '${event}' within ${timeout} ms`));
      }, timeout);
      timer.unref();
      this.#pending.set(ref, { resolve, reject, timer });
    });
    return tracingOn() ? traceServerRequest(event, ref, this.#connection.id, answer) : answer;
  }

  /** Settles the request `answer` is for; false when none waits for it (answered already, timed out, or never sent). */
  settle(answer: ClientAnswer): boolean {
    const pending = this.#pending.get(answer.ref);
    if (!pending) return false;
    this.#pending.delete(answer.ref);
    clearTimeout(pending.timer);
    const { ok, error } = answer.frame;
    if (error === undefined) pending.resolve(ok ?? null);
    else pending.reject(fromClient(error));
    return true;
  }

  /** The connection closed: every request still waiting rejects with 'closed'. */
  close(): void {
    for (const { reject, timer } of this.#pending.values()) {
      clearTimeout(timer);
      reject(new WsError('closed', 'the connection closed before the client answered'));
    }
    this.#pending.clear();
  }
}

/** The client's `error`, as a WsError; a code that is not one (a client may send anything) reads 'internal'. */
function fromClient(error: unknown): WsError {
  const { code, message } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  return new WsError(isErrorCode(code) ? code : 'internal', typeof message === 'string' ? message : 'the client answered with an error');
}
