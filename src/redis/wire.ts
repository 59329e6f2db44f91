// How envelopes travel between nodes over Redis: versioned JSON that carries the sender node's id,
// with bytes (Buffer / Uint8Array frames or payloads) as base64 so binary frames survive the trip.
import type { Envelope } from '../pubsub/message.js';

/** Bumped when the shape changes; a node drops (and logs) messages of a version it does not know. */
export const WIRE_VERSION = 1;

interface WireMessage {
  v: number;
  node: string;
  /**
   * The sending node's running number for this envelope, from 1 (added within version 1: a reader
   * that ignores it loses nothing, and a message without one is read as before). A receiver that
   * sees a gap knows how many it missed.
   */
  seq?: number;
  e: Envelope;
}

const BYTES = '$vela:bytes';

export function encodeWire(node: string, envelope: Envelope, seq?: number): string {
  return JSON.stringify({ v: WIRE_VERSION, node, seq, e: envelope } satisfies WireMessage, bytesAsBase64);
}

/** A replacer sees a Buffer only after its toJSON ran, so it looks at the holder's original value. */
function bytesAsBase64(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  if (!(original instanceof Uint8Array)) return value;
  return { [BYTES]: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') };
}

export type Decoded = { ok: true; node: string; seq?: number; envelope: Envelope } | { ok: false; reason: string };

/** Never throws: a message another program (or another version) wrote is reported, not crashed on. */
export function decodeWire(raw: string): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(raw, (_key, item: unknown) => {
      if (typeof item === 'object' && item !== null && typeof (item as Record<string, unknown>)[BYTES] === 'string') {
        return Buffer.from((item as Record<string, string>)[BYTES]!, 'base64');
      }
      return item;
    });
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const message = value as Partial<WireMessage> | null;
  if (typeof message !== 'object' || message === null) return { ok: false, reason: 'not an object' };
  // JSON.stringify: a version "1" (a string) must not read as "wire version 1, this node speaks 1".
  if (message.v !== WIRE_VERSION) return { ok: false, reason: `wire version ${String(JSON.stringify(message.v))}, this node speaks ${WIRE_VERSION}` };
  if (typeof message.node !== 'string' || typeof message.e !== 'object' || message.e === null || typeof message.e.type !== 'string') {
    return { ok: false, reason: 'missing node or envelope' };
  }
  if (message.seq !== undefined && !(Number.isSafeInteger(message.seq) && message.seq > 0)) {
    return { ok: false, reason: `seq must be a positive integer, got ${String(JSON.stringify(message.seq))}` };
  }
  // Checked here because the Hub trusts envelopes: a 'message' without a message, or a frame that is
  // not one, used to throw inside ioredis's data handler — an uncaught exception that ended the process.
  const problem = envelopeProblem(message.e as unknown as Record<string, unknown>);
  if (problem) return { ok: false, reason: `malformed ${message.e.type} envelope: ${problem}` };
  return message.seq === undefined ? { ok: true, node: message.node, envelope: message.e } : { ok: true, node: message.node, seq: message.seq, envelope: message.e };
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
