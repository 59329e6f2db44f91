// How vela/client calls the app's listeners: one that throws must not stop the others, nor the
// socket or the presence list that called it. Its error is rethrown later, where the page's error
// reporting (window.onerror, the console) still sees it.

/** Calls `listener`; a throw is reported on a later microtask instead of reaching the caller. */
export function call<A extends unknown[]>(listener: (...args: A) => void, ...args: A): void {
  try {
    listener(...args);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

/** Calls every listener in `set`, on a copy: a listener may unsubscribe (itself or another) while this runs. */
export function callAll<A extends unknown[]>(set: ReadonlySet<(...args: A) => void>, ...args: A): void {
  for (const listener of [...set]) call(listener, ...args);
}

/** Adds `listener` to `set`; returns the function that removes it. */
export function subscribe<T>(set: Set<T>, listener: T): () => void {
  set.add(listener);
  return () => void set.delete(listener);
}
