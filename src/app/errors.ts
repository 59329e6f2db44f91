// Errors Vela raises about the application itself (not about a request): thrown at bootstrap so a
// misconfigured app never starts serving. Messages name the class, the member and the fix, and show
// the value they refused the same way everywhere (describeValue).
import { inspect } from 'node:util';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** How an unexpected value is shown in an error message: short, one line, enough to recognise it. */
export function describeValue(value: unknown): string {
  const text = inspect(value, { depth: 2, breakLength: Infinity, maxArrayLength: 5, maxStringLength: 80 });
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
