// How envelopes travel between nodes over Redis: versioned JSON that carries the sender node's id.
// Bytes (Buffer / Uint8Array frames or payloads) travel as base64 strings whose places are listed
// beside the envelope (`b`), never as a marker inside it: whatever keys a payload has, it arrives as sent.
import type { Envelope } from '../pubsub/message.js';
import { portableEnvelope, type PathKey } from '../pubsub/portable-envelope.js';

/**
 * Bumped when the shape changes; a node drops (and logs) messages of a version it does not know.
 * 2: bytes listed in `b` (version 1 marked them in place as `{"$vela:bytes": …}`, which a payload
 * with that key was mistaken for). Nodes of versions 1 and 2 do not read each other.
 * Not bumped for a field that a node which does not know it can ignore: a message envelope's trace
 * context, `e.tc` (see Envelope), is such a field.
 */
export const WIRE_VERSION = 2;

interface WireMessage {
  v: number;
  node: string;
  /**
   * The sending node's running number for this envelope on the Redis channel it travels on (the bus,
   * or a shard: sequences.ts), from 1 (a message without one is read as before). A receiver that
   * sees a gap knows how many it missed.
   */
  seq?: number;
  e: Envelope;
  /** Paths (keys and indexes from `e`) of the base64 strings that are bytes; absent when there are none. */
  b?: PathKey[][];
  /** The history position of a message envelope, put in by the script that kept it (redis-history.ts). */
  p?: string;
  /**
   * When it was published, in the sender's epoch ms (sub-ms precision): the receivers' bus and
   * fan-out lag. Optional, and ignored when malformed: it only feeds metrics.
   */
  t?: number;
}

/** Throws PubSubEncodingError (before anything is sent) for an envelope JSON cannot carry. */
export function encodeWire(node: string, envelope: Envelope, seq?: number, publishedAt?: number): string {
  const { json, bytes } = portableEnvelope(envelope);
  const message = { v: WIRE_VERSION, node, seq, t: publishedAt, e: json as Envelope, b: bytes.length === 0 ? undefined : bytes } satisfies WireMessage;
  return JSON.stringify(message);
}

export type Decoded = { ok: true; node: string; seq?: number; publishedAt?: number; envelope: Envelope } | { ok: false; reason: string };

/** Never throws: a message another program (or another version) wrote is reported, not crashed on. */
export function decodeWire(raw: string): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const message = value as Partial<WireMessage> | null;
  if (typeof message !== 'object' || message === null) return { ok: false, reason: 'not an object' };
  // JSON.stringify: a version "2" (a string) must not read as "wire version 2, this node speaks 2".
  if (message.v !== WIRE_VERSION) return { ok: false, reason: `wire version ${String(JSON.stringify(message.v))}, this node speaks ${WIRE_VERSION}` };
  if (typeof message.node !== 'string' || typeof message.e !== 'object' || message.e === null || typeof message.e.type !== 'string') {
    return { ok: false, reason: 'missing node or envelope' };
  }
  if (message.seq !== undefined && !(Number.isSafeInteger(message.seq) && message.seq > 0)) {
    return { ok: false, reason: `seq must be a positive integer, got ${String(JSON.stringify(message.seq))}` };
  }
  if (message.b !== undefined) {
    const problem = restoreBytes(message.e, message.b);
    if (problem) return { ok: false, reason: `malformed bytes list: ${problem}` };
  }
  // Checked here because the Hub trusts envelopes: a 'message' without a message, or a frame that is
  // not one, used to throw inside ioredis's data handler — an uncaught exception that ended the process.
  const problem = envelopeProblem(message.e as unknown as Record<string, unknown>);
  if (problem) return { ok: false, reason: `malformed ${message.e.type} envelope: ${problem}` };
  if (message.p !== undefined) {
    if (typeof message.p !== 'string' || message.e.type !== 'message') return { ok: false, reason: 'p must be the position of a message' };
    // The envelope's other fields (its trace context) stay.
    message.e = { ...message.e, message: { ...message.e.message, position: message.p } };
  }
  const decoded: Decoded = message.seq === undefined ? { ok: true, node: message.node, envelope: message.e } : { ok: true, node: message.node, seq: message.seq, envelope: message.e };
  if (typeof message.t === 'number' && Number.isFinite(message.t) && message.t > 0) decoded.publishedAt = message.t;
  return decoded;
}

/** What is wrong with an envelope of a known type, or undefined (unknown types go on: the Hub logs them). */
function envelopeProblem(e: Record<string, unknown>): string | undefined {
  switch (e.type) {
    case 'message': {
      const m = e.message as Record<string, unknown> | null | undefined;
      if (typeof m !== 'object' || m === null) return 'no message';
      if (typeof m.channel !== 'string' || typeof m.topic !== 'string') return 'channel and topic must be strings';
      if (m.sender !== null && typeof m.sender !== 'string') return 'sender must be a string or null';
      return undefined;
    }
    case 'session-send':
    case 'send-all':
      if (e.type === 'session-send' && typeof e.sessionId !== 'string') return 'sessionId must be a string';
      if (e.type === 'send-all' && e.exceptSession !== undefined && typeof e.exceptSession !== 'string') return 'exceptSession must be a string';
      return isFrame(e.frame) ? undefined : 'frame must be a string, bytes or json(value)';
    case 'session-info':
      return typeof e.sessionId === 'string' ? undefined : 'sessionId must be a string';
    default:
      return undefined;
  }
}

function isFrame(frame: unknown): boolean {
  return typeof frame === 'string' || frame instanceof Uint8Array || (Array.isArray(frame) && frame[0] === 'json' && frame.length >= 2);
}

/** Turns the base64 strings at `paths` back into Buffers; what is wrong with the list, or undefined. */
function restoreBytes(envelope: object, paths: unknown): string | undefined {
  if (!Array.isArray(paths)) return 'b must be an array of paths';
  for (const path of paths as unknown[]) {
    if (!Array.isArray(path) || path.length === 0) return `${JSON.stringify(path)} is not a path`;
    let holder: unknown = envelope;
    for (let i = 0; i < path.length - 1; i += 1) holder = child(holder, path[i]);
    const last: unknown = path[path.length - 1];
    const text = child(holder, last);
    if (typeof text !== 'string') return `${JSON.stringify(path)} does not lead to a base64 string`;
    (holder as Record<PathKey, unknown>)[last as PathKey] = Buffer.from(text, 'base64');
  }
  return undefined;
}

/**
 * The own child of an array (by index) or an object (by key), else undefined. Own only: a path
 * through `__proto__` or `constructor` must not reach, and write into, a shared prototype.
 */
function child(holder: unknown, key: unknown): unknown {
  if (typeof holder !== 'object' || holder === null) return undefined;
  const fits = Array.isArray(holder) ? Number.isSafeInteger(key) : typeof key === 'string';
  return fits && Object.hasOwn(holder, key as PathKey) ? (holder as Record<PathKey, unknown>)[key as PathKey] : undefined;
}
