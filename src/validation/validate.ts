// Running any Standard Schema (zod, valibot, arktype…) the same way for HTTP and WebSocket input.
// Bootstrap refuses a value that is not a schema, so a typo fails before the port opens rather than
// at the first request; a schema that throws is told apart from input that fails (a bug in the app,
// answered 500 or `internal`, not a 400); and the libraries' issues become one plain shape, so a
// client reads the same `{ path, message }` whichever library the server uses.
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { ConfigError, describeValue } from '../app/errors.js';
import { isThenable } from '../http/thenable.js';
import type { Schema } from './schema.js';

/** One problem with the input: where it is (keys from the validated value's root) and what is wrong. */
export interface Issue {
  path: (string | number)[];
  message: string;
}

export type SchemaResult = StandardSchemaV1.Result<unknown>;

/** Whether `value` implements Standard Schema v1 (`~standard` with version 1 and a validate function). */
export function isStandardSchema(value: unknown): value is Schema {
  const props = (value as { '~standard'?: Partial<StandardSchemaV1.Props> } | null | undefined)?.['~standard'];
  // arktype's types are functions, zod's and valibot's schemas objects: both carry '~standard'.
  return (typeof value === 'object' || typeof value === 'function') && props?.version === 1 && typeof props.validate === 'function';
}

/**
 * `value` when it is a Standard Schema, else a ConfigError naming `where` (the handler and the
 * option, e.g. `UsersController.create (@Route body)`) and the fix.
 */
export function requireSchema(value: unknown, where: string): Schema {
  if (isStandardSchema(value)) return value;
  throw new ConfigError(
    `${where}: ${describeValue(value)} is not a Standard Schema (an object with '~standard' holding version 1 and a validate function). ` +
      `Pass a zod (≥ 3.24), valibot (≥ 1) or arktype (≥ 2) schema, e.g. z.object({ name: z.string() }), or leave the option out.`,
  );
}

/** A schema that threw or rejected: a bug in the schema or its library, not input to refuse. */
export class SchemaError extends Error {
  override name = 'SchemaError';

  constructor(where: string, cause: unknown) {
    super(`${where} threw instead of returning issues: ${cause instanceof Error ? cause.message : describeValue(cause)}`, { cause });
  }
}

/**
 * `schema`'s result for `value`, synchronously when the schema answers synchronously (no promise of
 * Vela's own). A throw or a rejection becomes a SchemaError naming `where`.
 */
export function runSchema(schema: Schema, value: unknown, where: string): SchemaResult | Promise<SchemaResult> {
  let result: SchemaResult | Promise<SchemaResult>;
  try {
    result = schema['~standard'].validate(value);
  } catch (error) {
    throw new SchemaError(where, error);
  }
  if (!isThenable(result)) return result;
  return Promise.resolve(result).catch((error: unknown) => {
    throw new SchemaError(where, error);
  });
}

/**
 * The libraries' issues as plain `{ path, message }`, a path segment object (`{ key }`) reduced to its
 * key. Array.from, not map: a library's arrays may be subclasses whose constructor map() would misuse
 * (arktype's empty path came back from map() as `[0]`).
 */
export function issuesOf(issues: readonly StandardSchemaV1.Issue[]): Issue[] {
  return Array.from(issues, (issue) => ({ path: Array.from(issue.path ?? [], keyOf), message: String(issue.message) }));
}

function keyOf(segment: PropertyKey | StandardSchemaV1.PathSegment): string | number {
  const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
  // A symbol cannot travel as JSON; its description can.
  return typeof key === 'symbol' ? (key.description ?? String(key)) : key;
}

/**
 * A one-line account of the issues for a message or a log line: `body.name: Required; body.age:
 * Expected number (and 2 more)`. An issue's `in` (the request part, for HTTP) leads its path.
 */
export function summarize(issues: readonly (Issue & { in?: string })[]): string {
  const shown = issues.slice(0, 3).map((issue) => {
    const where = [...(issue.in === undefined ? [] : [issue.in]), ...issue.path].join('.');
    return where ? `${where}: ${issue.message}` : issue.message;
  });
  const more = issues.length > shown.length ? ` (and ${issues.length - shown.length} more)` : '';
  return `${shown.join('; ')}${more}`;
}
