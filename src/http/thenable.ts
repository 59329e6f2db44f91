// Vela keeps synchronous work synchronous: a handler that returns a plain value is answered in the
// same tick, without a promise of Vela's own (each one costs on the hot path, more so while an
// AsyncLocalStorage is active). This is the one test for "did it return a promise?".

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
