// JSON Schema from Standard Schemas of the three libraries, as the documents embed them: through
// `~standard.jsonSchema`, the side asked for, marked when it cannot be had; and their definitions
// moved to the document's components.
import { describe, expect, it } from 'vitest';
import { type } from 'arktype';
import * as v from 'valibot';
import { z } from 'zod';
import type { Schema } from '../../src/index.js';
import { toJsonSchema } from '../../src/docs/json-schema.js';
import { isStandardSchema } from '../../src/validation/validate.js';
import { SchemaComponents } from '../../src/docs/schema-components.js';

/** A Standard Schema whose converter does what `convert` does. */
function handMade(convert: () => unknown): Schema {
  const standard = { version: 1, vendor: 'handmade', validate: (value: unknown) => ({ value }), jsonSchema: { input: convert, output: convert } };
  return { '~standard': standard } as unknown as Schema;
}

describe('toJsonSchema', () => {
  it('converts zod and arktype schemas, input or output side, without $schema', () => {
    const age = z.object({ age: z.string().transform(Number) });
    expect(toJsonSchema(age, 'input', 'draft-2020-12')).toEqual({ type: 'object', properties: { age: { type: 'string' } }, required: ['age'] });
    const id = type({ id: 'string.numeric.parse' });
    expect(toJsonSchema(id, 'output', 'draft-07')).toEqual({ type: 'object', properties: { id: { type: 'number' } }, required: ['id'] });
  });

  it('marks a valibot schema, which offers no converter of its own', () => {
    expect(toJsonSchema(v.object({ a: v.string() }), 'input', 'draft-2020-12')).toEqual({
      description: 'not convertible: valibot schema without ~standard.jsonSchema',
      'x-vela-unconvertible': 'valibot',
    });
  });

  it('marks a schema whose converter throws, with its reason: zod cannot write a transform’s output', () => {
    expect(toJsonSchema(z.string().transform(Number), 'output', 'draft-2020-12')).toEqual({
      description: 'not convertible: zod schema: Transforms cannot be represented in JSON Schema',
      'x-vela-unconvertible': 'zod',
    });
    expect(toJsonSchema(handMade(() => { throw 'no'; }), 'input', 'draft-07')).toEqual({ description: 'not convertible: handmade schema: no', 'x-vela-unconvertible': 'handmade' });
    expect(toJsonSchema(handMade(() => null), 'input', 'draft-07')).toEqual({
      description: 'not convertible: handmade schema: ~standard.jsonSchema.input() returned null',
      'x-vela-unconvertible': 'handmade',
    });
  });

  it('tells Standard Schemas from other values', () => {
    expect([z.string(), v.string(), type('string')].every(isStandardSchema)).toBe(true);
    expect([undefined, null, {}, { '~standard': {} }, 'string'].some(isStandardSchema)).toBe(false);
  });
});

describe('SchemaComponents', () => {
  it('moves definitions to the components, sharing one used twice and renaming a different one of the same name', () => {
    const components = new SchemaComponents();
    const Cat = z.object({ name: z.string() }).meta({ id: 'Cat' });
    const first = components.place(toJsonSchema(z.object({ cat: Cat }), 'input', 'draft-2020-12'), 'first');
    const second = components.place(toJsonSchema(z.array(Cat), 'input', 'draft-07'), 'second');
    const other = components.place(toJsonSchema(z.object({ cat: z.object({ lives: z.number() }).meta({ id: 'Cat' }) }), 'input', 'draft-2020-12'), 'third');
    expect(first).toEqual({ type: 'object', properties: { cat: { $ref: '#/components/schemas/Cat' } }, required: ['cat'] });
    expect(second).toEqual({ type: 'array', items: { $ref: '#/components/schemas/Cat' } });
    expect(other.properties).toEqual({ cat: { $ref: '#/components/schemas/Cat_2' } });
    expect(Object.keys(components.schemas)).toEqual(['Cat', 'Cat_2']);
  });

  it('moves a schema that refers to itself there whole, named after where it is used', () => {
    const components = new SchemaComponents();
    const Tree: z.ZodType = z.object({ get children() { return z.array(Tree); } });
    expect(components.place(toJsonSchema(Tree, 'input', 'draft-07'), 'Gateway.event:data')).toEqual({ $ref: '#/components/schemas/Gateway.event_data' });
    expect(components.schemas['Gateway.event_data']).toMatchObject({ properties: { children: { items: { $ref: '#/components/schemas/Gateway.event_data' } } } });
  });
});
