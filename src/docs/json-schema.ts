// JSON Schema from a Standard Schema, for the API documents. Vela depends on no schema library:
// it asks the schema itself through the Standard JSON Schema interface (`~standard.jsonSchema`,
// offered by zod 4 and arktype 2; valibot through `toStandardJsonSchema` of
// @valibot/to-json-schema). A schema that cannot be converted is marked where it stands, with the
// reason, so a reader of the document sees a gap instead of a route that seems to take anything.
import type { StandardJSONSchemaV1 } from '@standard-schema/spec';
import { describeValue } from '../app/errors.js';
import type { Schema } from '../validation/schema.js';

/** A JSON Schema as plain data. */
export type JsonSchema = Record<string, unknown>;

/** Request parts and event data are documented by what the client sends; responses and pushes by what the app produces. */
export type SchemaSide = 'input' | 'output';

/** OpenAPI 3.1 schemas are JSON Schema 2020-12; AsyncAPI 3.0's default schema format is a superset of draft-07. */
export type SchemaTarget = 'draft-2020-12' | 'draft-07';

/** The extension key that marks a schema Vela could not convert; its value is the schema's vendor. */
export const UNCONVERTIBLE = 'x-vela-unconvertible';

/**
 * The JSON Schema of one side of `schema`, without `$schema` (it is embedded in a document). When
 * the library offers no converter, or its converter throws or returns something else, a marked
 * schema that accepts anything and says why.
 *
 * @example
 * toJsonSchema(z.object({ name: z.string() }), 'input', 'draft-2020-12');
 * // { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }
 */
export function toJsonSchema(schema: Schema, side: SchemaSide, target: SchemaTarget): JsonSchema {
  const standard = schema['~standard'] as Schema['~standard'] & Partial<StandardJSONSchemaV1.Props>;
  const vendor = typeof standard.vendor === 'string' && standard.vendor ? standard.vendor : 'unknown';
  const converter = standard.jsonSchema;
  if (typeof converter?.[side] !== 'function') return unconvertible(vendor, `${vendor} schema without ~standard.jsonSchema`);
  let converted: unknown;
  try {
    converted = converter[side]({ target });
  } catch (error) {
    return unconvertible(vendor, `${vendor} schema: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof converted !== 'object' || converted === null || Array.isArray(converted)) {
    return unconvertible(vendor, `${vendor} schema: ~standard.jsonSchema.${side}() returned ${describeValue(converted)}`);
  }
  const { $schema: _dialect, ...rest } = converted as JsonSchema;
  return rest;
}

function unconvertible(vendor: string, reason: string): JsonSchema {
  return { description: `not convertible: ${reason}`, [UNCONVERTIBLE]: vendor };
}
