// The ConfigError a misconfigured app fails bootstrap with, for the tests that assert its message.
import { expect } from 'vitest';
import { ConfigError, type BootstrapOptions, type Class } from 'vela';
import { startTestApp } from 'vela/testing';

/** The ConfigError that bootstrap rejects with; fails the test when it resolves or throws anything else. */
export async function bootError(root: Class, options?: BootstrapOptions): Promise<ConfigError> {
  const error: unknown = await startTestApp(root, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}
