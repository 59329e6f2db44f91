// What `track` and `update` accept. A key and a meta often come from a client (a name, a device), and
// every member of the channel, on every node, receives them in lists and diffs: they are bounded, and
// refused at the call with an error naming the limit, before anything is stored or broadcast.
import { parse as parseJson } from '@hapi/bourne';
import { deeperThan } from '../http/json-depth.js';
import type { PresenceMeta } from './presence-list.js';

export const MAX_KEY_LENGTH = 256;
/** The encoded meta, in bytes of UTF-8 JSON. */
export const MAX_META_BYTES = 4 * 1024;
export const MAX_META_DEPTH = 16;
/** (channel, key) pairs one connection may track at once. */
export const MAX_TRACKED_PER_CONNECTION = 100;

export function requireKey(key: unknown): string {
  if (typeof key !== 'string' || key === '') throw new TypeError(`A presence key must be a non-empty string, got ${JSON.stringify(key) ?? typeof key}.`);
  if (key.length > MAX_KEY_LENGTH) throw new RangeError(`A presence key may have at most ${MAX_KEY_LENGTH} characters, got ${key.length}: use a short id.`);
  return key;
}

/**
 * A copy of `meta` as every node will see it (its JSON, parsed again, frozen), or a TypeError or
 * RangeError saying which limit it breaks.
 */
export function presenceMeta(meta: unknown): PresenceMeta {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta) || ![Object.prototype, null].includes(Object.getPrototypeOf(meta))) {
    throw new TypeError(`A presence meta must be a plain object such as { name: 'Ada' }, got ${Array.isArray(meta) ? 'an array' : describe(meta)}.`);
  }
  let text: string;
  try {
    text = JSON.stringify(meta);
  } catch (error) {
    throw new TypeError(`A presence meta must be plain JSON data: ${(error as Error).message}.`);
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_META_BYTES) throw new RangeError(`A presence meta may take at most ${MAX_META_BYTES} bytes as JSON, got ${bytes}: keep it to a few fields and look the rest up by key.`);
  if (/"constructor"\s*:/.test(text)) throw new TypeError('A presence meta may not have a "constructor" key: send plain data.');
  let copy: PresenceMeta;
  try {
    // The rules of JSON bodies and event frames: no `__proto__` key, at any depth.
    copy = parseJson(text) as PresenceMeta;
  } catch {
    throw new TypeError('A presence meta may not have a "__proto__" key: send plain data.');
  }
  if (deeperThan(copy, MAX_META_DEPTH)) throw new RangeError(`A presence meta may nest at most ${MAX_META_DEPTH} levels deep: flatten it.`);
  return deepFreeze(copy);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an instance of ${(value as object).constructor?.name ?? 'a class'}`;
  return typeof value;
}

/** Frozen, since one copy is shared by every list and diff this node builds. Depth is bounded above. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
