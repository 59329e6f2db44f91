// Shared by the API document tests: the reference validators, a $ref resolver, and the operations
// a document has, so each test asserts what a reader of the document would find.
import SwaggerParser from '@apidevtools/swagger-parser';
import { Parser } from '@asyncapi/parser';

export type Doc = Record<string, any>;

/** Resolves when SwaggerParser finds the OpenAPI document valid (it works on a copy: it dereferences in place). */
export async function validateOpenApi(doc: Doc): Promise<void> {
  await SwaggerParser.validate(structuredClone(doc) as never);
}

/** The error-severity diagnostics of the AsyncAPI reference parser (warnings and hints left out). */
export async function asyncApiErrors(doc: Doc): Promise<string[]> {
  const diagnostics = await new Parser().validate(JSON.stringify(doc));
  // Spectral's severities: 0 error, 1 warning, 2 information, 3 hint.
  return diagnostics.filter((d) => d.severity === 0).map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`);
}

/** The value a local `$ref` (`#/components/schemas/User`) points at, or the value itself. */
export function deref(doc: Doc, value: Doc): Doc {
  if (typeof value?.$ref !== 'string') return value;
  const found = value.$ref
    .slice(2)
    .split('/')
    .map((token: string) => token.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((at: Doc | undefined, token: string) => at?.[token], doc);
  if (found === undefined) throw new Error(`${value.$ref} points at nothing`);
  return deref(doc, found);
}

/**
 * A Koa path as an OpenAPI/AsyncAPI template, written here independently of src/docs for the
 * plain syntax (`:id`, `*rest`); optional groups are asserted case by case.
 */
export function template(path: string): string {
  if (path.includes('{')) throw new Error(`${path} has an optional group: assert its templates explicitly`);
  return path.replace(/[:*](\w+)/g, '{$1}');
}

/** The OpenAPI operation for `method` on `path` (a Koa path), also under x-vela-methods. */
export function operationOf(doc: Doc, method: string, path: string): Doc | undefined {
  const item = doc.paths?.[template(path)];
  return item?.[method.toLowerCase()] ?? item?.['x-vela-methods']?.[method];
}

/** Each AsyncAPI operation with its channel and messages resolved. */
export function asyncOperations(doc: Doc): { id: string; action: string; channel: Doc; messages: Doc[]; reply?: Doc[] }[] {
  return Object.entries(doc.operations as Record<string, Doc>).map(([id, op]) => ({
    id,
    action: op.action,
    channel: deref(doc, op.channel),
    messages: (op.messages as Doc[]).map((m) => deref(doc, m)),
    reply: (op.reply?.messages as Doc[] | undefined)?.map((m) => deref(doc, m)),
  }));
}

/** The event name a message's payload carries (`properties.event.const`), if it is an event frame. */
export function eventOf(doc: Doc, message: Doc): string | undefined {
  return deref(doc, message.payload)?.properties?.event?.const;
}
