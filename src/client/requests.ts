// Requests with answers, the client's half: `socket.request()` waits for the one answer the server
// sends under its ref, and survives reconnects (an unanswered request is sent again under the same
// ref, and the server answers a repeat from memory: its handler runs once). `socket.onRequest()`
// answers the server's own requests. Wire: `{ event, data, ref }` asks, `{ ref, ok }` or
// `{ ref, error: { code, message, issues? } }` answers.

/** One problem with what was sent, as the server's schema saw it: where (keys from `data`'s root) and what. */
export interface Issue {
  path: (string | number)[];
  message: string;
}

/**
 * Why a request failed: the server's `WsError` code (`invalid` when the event's data failed its
 * schema, with the `issues`), or `timeout`, `closed`, `overloaded`.
 */
export class RequestError extends Error {
  /** What was wrong with the data, when the server said (code `invalid`). */
  declare readonly issues?: Issue[];

  constructor(
    readonly code: string,
    message: string,
    issues?: Issue[],
  ) {
    super(message);
    this.name = 'RequestError';
    // Only when given, so an error without issues compares equal to one made without them.
    if (issues !== undefined) (this as { issues?: Issue[] }).issues = issues;
  }
}

export interface RequestOptions {
  /** Reject with code `timeout` when no answer came within this many ms (reconnects included). Default 10 000. */
  timeout?: number;
  /**
   * The trace the request is part of, as W3C Trace Context (the page's OpenTelemetry span, say): sent
   * beside `ref`, so the server's span for the request continues it. A repeat carries the same.
   */
  traceparent?: string;
  tracestate?: string;
}

/** Answers the server's `conn.request(event, data)`: the value returned (or resolved) is the answer. */
export type RequestHandler = (data: unknown) => unknown;

/** A frame that answers a request: a JSON object with a string `ref` and no `event`. */
export interface AnswerFrame {
  ref: string;
  ok?: unknown;
  error?: { code?: unknown; message?: unknown; issues?: unknown };
}

interface Pending {
  frame: string;
  resolve: (value: unknown) => void;
  reject: (error: RequestError) => void;
  timer: ReturnType<typeof setTimeout>;
}

const DEFAULT_TIMEOUT = 10_000;
/** Unanswered requests one socket may hold; past it a request is refused at once. */
export const MAX_PENDING_REQUESTS = 1_000;

/** The requests this client sent and is still waiting for, by ref. */
export class PendingRequests {
  readonly #pending = new Map<string, Pending>();
  #lastRef = 0;

  get size(): number {
    return this.#pending.size;
  }

  /** Starts a request: its frame, and the promise of its answer. `send` is tried at once. */
  start(event: string, data: unknown, options: RequestOptions, send: (frame: string) => void): Promise<unknown> {
    const timeout = options.timeout ?? DEFAULT_TIMEOUT;
    if (typeof timeout !== 'number' || !(timeout > 0)) {
      throw new RangeError(`request('${event}'): timeout must be a number of ms above 0, got ${String(timeout)}.`);
    }
    if (this.#pending.size >= MAX_PENDING_REQUESTS) {
      return Promise.reject(new RequestError('overloaded', `request('${event}'): ${MAX_PENDING_REQUESTS} requests are already waiting for an answer.`));
    }
    const ref = String(++this.#lastRef);
    // Undefined trace fields are left out by JSON.stringify.
    const frame = JSON.stringify({ event, data, ref, traceparent: options.traceparent, tracestate: options.tracestate });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(ref);
        reject(new RequestError('timeout', `request('${event}') got no answer within ${timeout} ms.`));
      }, timeout);
      this.#pending.set(ref, { frame, resolve, reject, timer });
      send(frame);
    });
  }

  /** Settles the request `answer` is for; false when none waits for it (late, or not ours). */
  settle(answer: AnswerFrame): boolean {
    const pending = this.#pending.get(answer.ref);
    if (!pending) return false;
    this.#pending.delete(answer.ref);
    clearTimeout(pending.timer);
    if (answer.error === undefined) pending.resolve(answer.ok ?? null);
    else pending.reject(toRequestError(answer.error));
    return true;
  }

  /** Every unanswered request's frame, oldest first: sent again after a reconnect, under the same refs. */
  frames(): string[] {
    return [...this.#pending.values()].map((pending) => pending.frame);
  }

  /** Rejects every unanswered request (the socket was closed for good). */
  rejectAll(code: string, message: string): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new RequestError(code, message));
    }
    this.#pending.clear();
  }
}

/** The answer to the server's request `ref`, from what the client's handler returned or threw. */
export async function answerFor(ref: string, handler: RequestHandler | undefined, event: string, data: unknown): Promise<string> {
  if (!handler) return JSON.stringify({ ref, error: { code: 'not_found', message: `this client has no onRequest('${event}') handler` } });
  try {
    const ok = await handler(data);
    return JSON.stringify({ ref, ok: ok === undefined ? null : ok });
  } catch (error) {
    const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : 'internal';
    const message = error instanceof Error ? error.message : String(error);
    return JSON.stringify({ ref, error: { code, message } });
  }
}

/** What a gateway reports about a plain event (`emit`) it could not handle: the `'error'` listeners' argument. */
export interface EventError {
  /** The event that was sent. */
  event: string;
  /** `invalid`: its data failed the event's schema (see `issues`); `internal`: the server failed (and logged it). */
  code: string;
  message: string;
  issues?: Issue[];
}

/** The gateway's `vela:error` event, whose `data` says which event failed and why. */
export const ERROR_EVENT = 'vela:error';

/** A `vela:error` event's data as an EventError, or undefined when it is not shaped as one. */
export function eventError(data: unknown): EventError | undefined {
  const { event, code, message, issues } = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  if (typeof event !== 'string' || typeof code !== 'string' || typeof message !== 'string') return undefined;
  return { event, code, message, ...(Array.isArray(issues) ? { issues: issues as Issue[] } : {}) };
}

function toRequestError(error: AnswerFrame['error']): RequestError {
  const code = typeof error?.code === 'string' ? error.code : 'internal';
  const message = typeof error?.message === 'string' ? error.message : code;
  return new RequestError(code, message, Array.isArray(error?.issues) ? (error.issues as Issue[]) : undefined);
}
