// The error a request's answer carries, both ways: thrown by an @OnMessage handler to answer
// `{ "ref", "error": { code, message } }` and keep the socket open, and what `conn.request` rejects
// with. The code is what a client branches on, so it is a stable machine-readable word, checked
// where the error is made rather than when the answer is written.
import type { Issue } from '../validation/validate.js';

const CODE = /^[a-z0-9_.-]+$/;

/**
 * @example throw new WsError('invalid', 'text is required');
 * @example throw new WsError('invalid', 'text is required', [{ path: ['text'], message: 'Required' }]);
 */
export class WsError extends Error {
  override readonly name = 'WsError';
  /** What was wrong with the input, by path: sent in the answer as `issues` (an event's `data` schema fills it). */
  declare readonly issues?: readonly Issue[];

  constructor(
    /** Non-empty, of `a-z 0-9 _ . -`: `invalid`, `not_found`, `timeout`, `auth.expired`. */
    readonly code: string,
    message: string,
    issues?: readonly Issue[],
  ) {
    if (typeof code !== 'string' || !CODE.test(code)) {
      throw new TypeError(`WsError code must be a non-empty string of a-z 0-9 _ . - (such as 'invalid' or 'not_found'), got ${JSON.stringify(code)}.`);
    }
    if (typeof message !== 'string') throw new TypeError(`WsError message must be a string, got ${typeof message}.`);
    super(message);
    // Only when given, so an error without issues compares equal to one made before they existed.
    if (issues !== undefined) (this as { issues?: readonly Issue[] }).issues = issues;
  }
}

/** Whether `code` may be a WsError's code (a client's answer may carry anything). */
export function isErrorCode(code: unknown): code is string {
  return typeof code === 'string' && CODE.test(code);
}
