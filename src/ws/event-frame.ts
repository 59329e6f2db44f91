// Event frames, `{ "event": name, "data": value }`, parsed once at the edge with the rules HTTP
// JSON bodies have: no `__proto__` key (@hapi/bourne, as co-body uses) and no nesting deeper than
// the app's `body.jsonDepth`. A handler, and every member its data is broadcast to, can then
// encode what it got: 4,200 levels of `[` once made every member's reply throw and close it.
import { parse as parseJson } from '@hapi/bourne';
import { deeperThan } from '../json-depth.js';

export interface EventFrame {
  event: string;
  data: unknown;
}

/**
 * An event frame the server will not hand to a handler, and why (the close reason, ≤ 123 bytes).
 * A class, told apart with instanceof: a client's event may carry any key.
 */
export class RefusedFrame {
  constructor(readonly reason: string) {}
}

/**
 * The event in `text`; a RefusedFrame for an event over the limits; undefined for anything that is
 * not an event (not JSON, or JSON of another shape), which a text handler may still take.
 */
export function parseEvent(text: string, maxDepth: number): EventFrame | RefusedFrame | undefined {
  let value: unknown;
  let protoKey = false;
  try {
    // JSON.parse, plus a scan for `__proto__` only when the text holds one (a regex test, no walk).
    value = parseJson(text);
  } catch {
    // Bourne throws alike for bad JSON and for a __proto__ key; only the latter parses without it.
    // Taken only on the refusal path, so the common frame parses once.
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
    protoKey = true;
  }
  if (typeof value !== 'object' || value === null || typeof (value as { event?: unknown }).event !== 'string') return undefined;
  if (protoKey) return new RefusedFrame('event JSON has a __proto__ key: send plain data');
  // Nesting n deep takes at least 2n characters: the common short frame needs no walk.
  if (text.length > 2 * maxDepth && deeperThan(value, maxDepth)) {
    return new RefusedFrame(`event JSON is nested deeper than ${maxDepth} levels`);
  }
  return value as EventFrame;
}
