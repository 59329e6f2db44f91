// What of an envelope can travel to another node as JSON, checked before anything is sent: the
// JSON tree JSON.stringify would write (toJSON called, undefined and functions left out), with bytes
// as base64 strings whose places are listed apart, so no user value can ever be taken for bytes.
// A walk of our own rather than a replacer: it knows where it is, so a BigInt, a cycle or a nesting
// too deep is refused with its path, at a depth fixed here rather than wherever the stack runs out.
import { PubSubEncodingError } from './encoding-error.js';
import type { Envelope } from './message.js';

/** The deepest nesting of arrays and objects an envelope may have (its payload sits 2 levels in). */
export const MAX_ENVELOPE_DEPTH = 512;

/** A step from a value into one of its children: an object key or an array index. */
export type PathKey = string | number;

export interface PortableEnvelope {
  /** The envelope as JSON values only; each byte array replaced by its base64 string. */
  readonly json: unknown;
  /** Where the base64 strings are in `json`, in the order met: paths of keys and indexes from the envelope. */
  readonly bytes: PathKey[][];
}

/**
 * The envelope as plain JSON values, or a PubSubEncodingError that names the culprit's path and the
 * fix. Buffers and Uint8Arrays (their own bytes only, even as views) become base64 strings.
 */
export function portableEnvelope(envelope: Envelope): PortableEnvelope {
  const walk = new Walk(envelope);
  try {
    return { json: walk.value(envelope, '', 0), bytes: walk.bytes };
  } catch (error) {
    throw walk.failure(error);
  }
}

class Walk {
  readonly bytes: PathKey[][] = [];
  readonly #envelope: Envelope;
  /** Keys from the envelope to the value being walked. */
  readonly #path: PathKey[] = [];
  /** The objects between the envelope and here: meeting one again is a cycle. */
  readonly #ancestors = new Set<object>();

  constructor(envelope: Envelope) {
    this.#envelope = envelope;
  }

  value(value: unknown, key: string, depth: number): unknown {
    if (value instanceof Uint8Array) {
      this.bytes.push([...this.#path]);
      return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    }
    if (typeof value === 'bigint' || (typeof value === 'object' && value !== null)) value = toJson(value, key);
    switch (typeof value) {
      case 'string':
      case 'number': // NaN and ±Infinity are written as null by JSON.stringify, as on this node's sockets
      case 'boolean':
        return value;
      case 'bigint':
        throw this.#fail('is a BigInt, which JSON has no way to write', 'Send it as a string (String(n)) or a number');
      case 'object':
        return value === null ? null : this.#container(value, depth);
      default:
        return undefined; // undefined, functions and symbols are left out, as JSON.stringify does
    }
  }

  #container(value: object, depth: number): unknown {
    if (value instanceof Number || value instanceof String || value instanceof Boolean) return value.valueOf();
    if (depth >= MAX_ENVELOPE_DEPTH) {
      throw this.#fail(`nests arrays and objects more than ${MAX_ENVELOPE_DEPTH - 2} levels deep`, 'Flatten it, or send it in parts');
    }
    if (this.#ancestors.has(value)) {
      throw this.#fail('refers back to an object that contains it (a cycle)', 'JSON has no references: send an id instead of the object itself');
    }
    this.#ancestors.add(value);
    let copy: unknown[] | Record<string, unknown>;
    if (Array.isArray(value)) {
      copy = new Array<unknown>(value.length);
      for (let index = 0; index < value.length; index += 1) {
        this.#path.push(index);
        copy[index] = this.value(value[index], String(index), depth + 1) ?? null;
        this.#path.pop();
      }
    } else {
      // No prototype: a `__proto__` key in the payload stays an ordinary key of the copy.
      copy = Object.create(null) as Record<string, unknown>;
      for (const key of Object.keys(value)) {
        this.#path.push(key);
        const item = this.value((value as Record<string, unknown>)[key], key, depth + 1);
        if (item !== undefined) copy[key] = item;
        this.#path.pop();
      }
    }
    this.#ancestors.delete(value);
    return copy;
  }

  /**
   * What a throw met during the walk becomes: ours as it is; any other (a getter, a toJSON() or a
   * Proxy of the caller's that threw) names where it happened, which the path still holds.
   */
  failure(error: unknown): PubSubEncodingError {
    if (error instanceof PubSubEncodingError) return error;
    const reason = error instanceof Error ? error.message : String(error);
    return this.#fail(`could not be read: a getter or toJSON() of it threw "${reason}"`, 'Send plain data');
  }

  #fail(problem: string, fix: string): PubSubEncodingError {
    return new PubSubEncodingError(this.#envelope, displayPath(this.#envelope, this.#path), problem, fix);
  }
}

/** `payload.items[3].name`: from what the caller passed (a message's payload, a frame), as they would write it. */
function displayPath(envelope: Envelope, path: readonly PathKey[]): string {
  const steps = envelope.type === 'message' && path[0] === 'message' ? path.slice(1) : path;
  let text = '';
  // A path hundreds of levels deep would drown the message: its start says where to look.
  for (const step of steps.slice(0, 8)) {
    if (typeof step === 'number') text += `[${step}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(step)) text += text === '' ? step : `.${step}`;
    else text += `[${JSON.stringify(step)}]`;
  }
  return steps.length > 8 ? `${text}…` : text;
}

/** Calls `toJSON` as JSON.stringify would (a Date becomes its ISO string). */
function toJson(value: object | bigint, key: string): unknown {
  const method = (value as { toJSON?: unknown }).toJSON;
  return typeof method === 'function' ? (method.call(value, key) as unknown) : value;
}
