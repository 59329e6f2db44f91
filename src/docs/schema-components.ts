// Where converted schemas live in a document. A library's JSON Schema is a document of its own:
// zod puts named and recursive parts in `$defs` (`definitions` for draft-07) and points at them,
// or at itself, with `#/…` references, which mean the root of the API document once embedded.
// Those parts become `components.schemas` entries and the references are rewritten to them.
import type { JsonSchema } from './json-schema.js';
import { keySafe } from './names.js';

const COMPONENTS = '#/components/schemas/';
const DEFS = /^#\/(?:\$defs|definitions)\/([^/]+)(.*)$/;

/** The `components.schemas` of one document, filled as its schemas are placed. */
export class SchemaComponents {
  readonly #schemas: Record<string, JsonSchema> = {};
  /** Component name → its text before rewriting, to share identical leaf definitions (a zod `.meta({ id })` used twice). */
  readonly #sources = new Map<string, string>();

  /**
   * The schema to embed for `schema`: its definitions moved to the components, its references
   * rewritten, and the whole of it moved there too (named after `hint`) when it refers to itself.
   */
  place(schema: JsonSchema, hint: string): JsonSchema {
    const { $defs, definitions, ...root } = schema;
    const defs = { ...asRecord(definitions), ...asRecord($defs) };
    const names = new Map<string, string>();
    for (const [key, definition] of Object.entries(defs)) names.set(key, this.#claim(key, definition));
    const selfReferring = refersToRoot(root);
    const rootName = selfReferring ? this.#claim(hint, undefined) : undefined;
    const rewrite = (value: unknown) => rewriteRefs(value, names, rootName);
    for (const [key, definition] of Object.entries(defs)) this.#schemas[names.get(key)!] ??= rewrite(definition) as JsonSchema;
    if (!rootName) return rewrite(root) as JsonSchema;
    this.#schemas[rootName] = rewrite(root) as JsonSchema;
    return { $ref: COMPONENTS + rootName };
  }

  /** Adds a schema of Vela's own under `name` (or a free variant of it) and returns its reference. */
  define(name: string, schema: JsonSchema): JsonSchema {
    const claimed = this.#claim(name, undefined);
    this.#schemas[claimed] = schema;
    return { $ref: COMPONENTS + claimed };
  }

  get schemas(): Record<string, JsonSchema> {
    return this.#schemas;
  }

  /**
   * A free component name for `key`: its own when free, the same when the same leaf definition
   * already has it, else with a number.
   */
  #claim(key: string, definition: unknown): string {
    const base = keySafe(key);
    const source = definition === undefined || JSON.stringify(definition).includes('"$ref"') ? undefined : JSON.stringify(definition);
    for (let n = 1; ; n++) {
      const name = n === 1 ? base : `${base}_${n}`;
      const taken = this.#sources.get(name);
      if (taken === undefined) {
        this.#sources.set(name, source ?? `\0${name}`);
        return name;
      }
      if (source !== undefined && taken === source) return name;
    }
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Whether a `$ref` inside points at the root itself (`#`, `#/properties/…`) rather than at a definition. */
function refersToRoot(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(refersToRoot);
  if (typeof value !== 'object' || value === null) return false;
  for (const [key, inner] of Object.entries(value)) {
    if (key === '$ref' && typeof inner === 'string' && inner.startsWith('#') && !DEFS.test(inner)) return true;
    if (refersToRoot(inner)) return true;
  }
  return false;
}

/** A copy of `value` with each local `$ref` pointing into the document's components. */
function rewriteRefs(value: unknown, names: ReadonlyMap<string, string>, rootName: string | undefined): unknown {
  if (Array.isArray(value)) return value.map((item) => rewriteRefs(item, names, rootName));
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    copy[key] = key === '$ref' && typeof inner === 'string' ? rewriteRef(inner, names, rootName) : rewriteRefs(inner, names, rootName);
  }
  return copy;
}

function rewriteRef(ref: string, names: ReadonlyMap<string, string>, rootName: string | undefined): string {
  const definition = DEFS.exec(ref);
  if (definition) {
    const name = names.get(decodePointer(definition[1]!));
    return name ? COMPONENTS + name + definition[2]! : ref;
  }
  if (ref.startsWith('#') && rootName) return COMPONENTS + rootName + ref.slice(1);
  return ref;
}

/** One JSON Pointer token as written in a URI fragment: percent-encoded, `~1` for `/`, `~0` for `~`. */
function decodePointer(token: string): string {
  let text = token;
  try {
    text = decodeURIComponent(token);
  } catch {
    // Kept as written: a name that is not percent-encoding.
  }
  return text.replace(/~1/g, '/').replace(/~0/g, '~');
}
