// A promise settled from elsewhere: how a gateway or controller under test tells the test that it
// got somewhere, so the test awaits that instead of sleeping.

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

/** A promise and the function that settles it. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
