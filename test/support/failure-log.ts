// The one log line a request that failed with 500 leaves, asserted alike by the HTTP and upgrade tests.
import { expect } from 'vitest';
import type { MemoryLogger } from 'vela/testing';

/**
 * Asserts that `logs` holds exactly one entry, the `request failed` error of a GET to `path` that
 * `controller` (Class.method) answered with 500, and that its error says `error`.
 */
export function expectOneFailedRequest(
  logs: MemoryLogger,
  expected: { path: string; controller: string; error: string },
): void {
  expect(logs.entries).toHaveLength(1);
  expect(logs.entries[0]).toMatchObject({
    level: 'error',
    message: 'request failed',
    fields: { method: 'GET', path: expected.path, status: 500, controller: expected.controller },
  });
  expect((logs.entries[0]!.fields.error as Error).message).toBe(expected.error);
}
