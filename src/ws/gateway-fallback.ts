// The gateway side of @FallbackController: what becomes of a callback's return that is not a gateway
// result (nothing, reply(...frames) or stop(code, reason)). The fallback resolves it into one, or
// the callback fails with a message that says what to return instead.
import { describeValue } from '../app/errors.js';
import type { Fallback } from '../http/fallback.js';
import { isThenable } from '../http/thenable.js';
import type { Connection } from './connection.js';

/**
 * Resolves `returned` (what `where`, e.g. `ChatGateway.onMessage`, returned) through `fallback`;
 * `perform` carries out the resolved value and says whether it was a gateway result. Throws when
 * there is no fallback or, synchronously or through the promise, when it resolved to no result.
 * Returns a promise only when the fallback went async.
 */
export function resolveByFallback(
  fallback: Fallback | undefined,
  conn: Connection,
  returned: unknown,
  where: string,
  perform: (value: unknown) => boolean,
): void | Promise<void> {
  if (!fallback) {
    throw new TypeError(
      `${where} returned ${describeValue(returned)}; a gateway callback returns nothing, reply(...frames) or stop(code, reason). ` +
        `Add a @FallbackController to the gateway or its module to resolve other values.`,
    );
  }
  const unresolved = (value: unknown) =>
    new TypeError(
      `${fallback.constructor.name}.resolve returned ${describeValue(value)} for what ${where} returned (${describeValue(returned)}); ` +
        `on a gateway it must return nothing, reply(...frames) or stop(code, reason).`,
    );
  const resolved = fallback.resolve(conn, returned);
  if (!isThenable(resolved)) {
    if (!perform(resolved)) throw unresolved(resolved);
    return;
  }
  return Promise.resolve(resolved).then((value) => {
    if (!perform(value)) throw unresolved(value);
  });
}
