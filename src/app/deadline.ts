// Work that may take at most so long: a provider's onClose during shutdown, a health check. The work
// is not cancelled (JavaScript cannot), only no longer waited for.

/** `{ done: true, value }` if `work` settled within `ms` (a throw rejects), else `{ done: false }`. */
export async function withinDeadline<T>(work: () => T | Promise<T>, ms: number): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
    timer.unref();
  });
  try {
    // Through a promise, so a work that throws synchronously rejects here like an async one.
    return await Promise.race([Promise.resolve().then(work).then((value) => ({ done: true as const, value })), overrun]);
  } finally {
    clearTimeout(timer);
  }
}
