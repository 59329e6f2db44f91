// Requests from a client: an event frame with a `ref` gets exactly one answer frame, `{ "ref",
// "ok" }` or `{ "ref", "error": { code, message } }`, written here. With the client's id
// (`vela_client`), the answer is remembered for the app's repeat window, so a request re-sent
// after a reconnect under the same ref is answered again without running its handler twice.
import type { Logger } from '../logging/logger.js';
import { ConfigError, describeValue } from '../app/errors.js';
import type { AnswerStore, Claim } from '../pubsub/answer-store.js';
import { FrameEncodingError } from './frames.js';
import { WsError } from './ws-error.js';
import { isThenable } from '../http/thenable.js';

export interface RequestsOptions {
  /** How long an answer is remembered for a repeat of its request, in ms. Default 120 000. */
  window?: number;
}

export const DEFAULT_WINDOW = 120_000;

/** What the answer to a failed request says when the failure was not a WsError: nothing of it. */
const INTERNAL = new WsError('internal', 'internal error');

/** The request being handled: its ref, and its answer frame once given. */
export interface AnsweredRequest {
  readonly ref: string;
  answer?: string;
}

/** `{ "ref", "ok": value }`; throws FrameEncodingError when the value has no JSON text. */
export function okAnswer(ref: string, ok: unknown): string {
  try {
    return JSON.stringify({ ref, ok: ok ?? null });
  } catch (error) {
    throw new FrameEncodingError(error);
  }
}

/**
 * `{ "ref", "error": { code, message } }` (with `issues` when the WsError has them): a WsError's
 * own, 'internal' with a generic message for anything else.
 */
export function errorAnswer(ref: string, error: unknown): string {
  const { code, message, issues } = error instanceof WsError ? error : INTERNAL;
  return JSON.stringify({ ref, error: issues ? { code, message, issues } : { code, message } });
}

export function notFound(event: string): WsError {
  return new WsError('not_found', `no handler for event '${event}'`);
}

/** The `requests` bootstrap option, with its default, or a ConfigError naming what is wrong. */
export function requestsOptions(options: RequestsOptions | undefined): Required<RequestsOptions> {
  if (options === undefined) return { window: DEFAULT_WINDOW };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError(`bootstrap requests must be an object such as { window: 120_000 }, got ${describeValue(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'window') throw new ConfigError(`bootstrap requests has no option '${key}': use window (milliseconds).`);
  }
  const { window = DEFAULT_WINDOW } = options;
  if (typeof window !== 'number' || !Number.isSafeInteger(window) || window < 1) {
    throw new ConfigError(`bootstrap requests.window must be a whole number of milliseconds ≥ 1, got ${describeValue(window)}.`);
  }
  return { window };
}

/** The app's memory of answers: its store (from the pub/sub adapter) and window. */
export class RequestMemory {
  constructor(
    readonly store: AnswerStore,
    readonly window: number,
    readonly logger: Logger,
  ) {}

  /**
   * Runs `handle` for the request, unless `client` sent it before within the window: then the first's
   * answer is sent instead, once it has one. An answer over `maxPayload` bytes is not remembered
   * (its repeat is answered `unavailable`). Never rejects: `handle` must not either. Synchronous
   * when the store and the handler are (the memory store, a handler that returns at once): the
   * connection's mailbox then goes on without a turn of the queue, as for a plain event.
   */
  once(client: string, request: AnsweredRequest, conn: { send(frame: string): boolean }, maxPayload: number, handle: () => unknown): void | Promise<void> {
    let claim: Claim | Promise<Claim>;
    try {
      claim = this.store.claim(client, request.ref, this.window);
    } catch (error) {
      return this.#unremembered(client, request, error, handle);
    }
    if (isThenable(claim)) {
      return Promise.resolve(claim).then(
        (settled) => this.#answer(settled, client, request, conn, maxPayload, handle),
        (error: unknown) => this.#unremembered(client, request, error, handle),
      );
    }
    return this.#answer(claim, client, request, conn, maxPayload, handle);
  }

  #answer(claim: Claim, client: string, request: AnsweredRequest, conn: { send(frame: string): boolean }, maxPayload: number, handle: () => unknown): void | Promise<void> {
    if (claim.kind === 'answer') return void conn.send(claim.answer);
    if (claim.kind === 'unavailable') {
      return void conn.send(errorAnswer(request.ref, new WsError('unavailable', 'the first of these requests was handled, but its answer is gone')));
    }
    const remember = () => this.#remember(client, request, maxPayload);
    let handled: unknown;
    try {
      handled = handle();
    } catch (error) {
      remember();
      throw error;
    }
    if (isThenable(handled)) return Promise.resolve(handled).finally(remember).then(() => undefined);
    return remember();
  }

  /** Keeps the answer the handler gave for the window; a store that fails is logged, never thrown. */
  #remember(client: string, request: AnsweredRequest, maxPayload: number): void | Promise<void> {
    const { answer } = request;
    const kept = answer !== undefined && Buffer.byteLength(answer) <= maxPayload ? answer : undefined;
    const failed = (error: unknown) =>
      this.logger.warn('request answer could not be remembered: a repeat would run it again', { client, ref: request.ref, error });
    try {
      const stored = this.store.settle(client, request.ref, kept, this.window);
      if (isThenable(stored)) return Promise.resolve(stored).then(undefined, failed);
    } catch (error) {
      failed(error);
    }
  }

  /** Availability first, as pub/sub in an outage: handled, but a repeat would run it again. */
  #unremembered(client: string, request: AnsweredRequest, error: unknown, handle: () => unknown): void | Promise<void> {
    this.logger.warn('request answers unreachable: handled without remembering the answer', { client, ref: request.ref, error });
    const handled = handle();
    if (isThenable(handled)) return Promise.resolve(handled).then(() => undefined);
  }
}
