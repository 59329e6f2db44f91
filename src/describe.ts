// How an unexpected value is shown in an error message: short, one line, enough to recognise it.
import { inspect } from 'node:util';

export function describeValue(value: unknown): string {
  const text = inspect(value, { depth: 2, breakLength: Infinity, maxArrayLength: 5, maxStringLength: 80 });
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
