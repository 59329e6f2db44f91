// What gateway callbacks return (Nova's `{reply, Frame, State}` and `{stop, State}`) and how a
// frame becomes bytes on the socket.
import type { JsonResult } from '../http/results.js';
import { isTagged } from '../http/results.js';

/** A string is sent as a text frame, bytes as a binary frame, `json(value)` as JSON text. */
export type Frame = string | Buffer | Uint8Array | JsonResult;

/**
 * The app-level heartbeat of `vela/client`, reserved text frames: a gateway answers a `vela:ping`
 * frame with `vela:pong` itself, before its mailbox, and never hands the ping to a handler. Unlike
 * a protocol ping, it is a data frame, so it crosses proxies that answer or drop control frames.
 */
export const HEARTBEAT_PING = 'vela:ping';
export const HEARTBEAT_PONG = 'vela:pong';

export type ReplyResult = readonly ['reply', readonly Frame[]];
export type StopResult = readonly ['stop', number, string];

/** Sends these frames, in order. @example return reply('pong'); */
export function reply(frame: Frame, ...frames: Frame[]): ReplyResult {
  return ['reply', [frame, ...frames]];
}

/** Closes the connection. @example return stop(4001, 'kicked'); */
export function stop(code = 1000, reason = ''): StopResult {
  checkClose(code, reason);
  return ['stop', code, reason];
}

/**
 * Throws where a close is asked for, rather than deep inside ws, when the code cannot be sent
 * (1005 and 1006 are reserved for "no code" and "no close frame") or the reason does not fit.
 */
export function checkClose(code: number, reason: string): void {
  const sendable =
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999));
  if (!sendable) {
    throw new RangeError(
      `Close code ${code} cannot be sent: use 1000 (normal), 1001 (going away), 1008 (policy), 1011 (error) or an application code 4000–4999.`,
    );
  }
  const bytes = Buffer.byteLength(reason);
  if (bytes > 123) throw new RangeError(`Close reason is ${bytes} bytes; a close frame holds at most 123.`);
}

export interface EncodedFrame {
  data: string | Buffer | Uint8Array;
  binary: boolean;
  /**
   * The whole WebSocket frame, header included, when the same bytes go to many sockets (see
   * encodingOnce): each socket then gets one ready-made write instead of ws framing it again.
   */
  wire?: Buffer;
}

/**
 * Inside a broadcast, every member usually replies with the same string or the same `json(value)`:
 * the cache turns it into a frame once and every socket gets the same bytes. It only lives for the
 * synchronous delivery loop, so a value mutated later is encoded afresh.
 */
let broadcastCache: { strings: Map<string, EncodedFrame>; values: Map<unknown, EncodedFrame | FrameEncodingError> } | undefined;

/** Runs `deliver` with frames encoded once for all the sockets it sends to. */
export function encodingOnce<T>(deliver: () => T): T {
  if (broadcastCache) return deliver();
  broadcastCache = { strings: new Map(), values: new Map() };
  try {
    return deliver();
  } finally {
    broadcastCache = undefined;
  }
}

/**
 * `json(value)` whose value JSON.stringify cannot encode (a BigInt, a cycle, nesting deep enough to
 * overflow the stack, a throwing toJSON). Unlike a wrong-typed frame, it can depend on data a client
 * sent, so a gateway skips the reply and logs it rather than closing the connection.
 */
export class FrameEncodingError extends TypeError {
  constructor(cause: unknown) {
    super(
      `json(value) cannot be encoded as JSON (${cause instanceof Error ? cause.message : String(cause)}): ` +
        `send plain data, without BigInt or cycles, at most a few thousand levels deep.`,
      { cause },
    );
    this.name = 'FrameEncodingError';
  }
}

/**
 * Throws a TypeError naming what was given, so a wrong frame is reported where it was returned, or
 * a FrameEncodingError for `json(value)` whose value has no JSON text.
 */
export function encodeFrame(frame: unknown): EncodedFrame {
  if (typeof frame === 'string') {
    if (!broadcastCache) return { data: frame, binary: false };
    return cached(broadcastCache.strings, frame);
  }
  if (frame instanceof Uint8Array) return { data: frame, binary: true };
  if (isTagged(frame) && frame[0] === 'json') {
    if (!broadcastCache) return { data: toJson(frame[1]), binary: false };
    return cachedJson(broadcastCache.values, frame[1]);
  }
  throw new TypeError(`${describe(frame)} is not a frame: send a string, a Buffer or Uint8Array, or json(value).`);
}

function cached(cache: Map<string, EncodedFrame>, text: string): EncodedFrame {
  let encoded = cache.get(text);
  if (!encoded) cache.set(text, (encoded = textFrame(text)));
  return encoded;
}

/** A failure is kept too: a thousand members replying with a value 5,000 deep overflow the stack once. */
function cachedJson(cache: Map<unknown, EncodedFrame | FrameEncodingError>, value: unknown): EncodedFrame {
  let encoded = cache.get(value);
  if (!encoded) {
    try {
      encoded = textFrame(toJson(value));
    } catch (error) {
      encoded = error as FrameEncodingError;
    }
    cache.set(value, encoded);
  }
  if (encoded instanceof FrameEncodingError) throw encoded;
  return encoded;
}

function textFrame(text: string): EncodedFrame {
  const data = Buffer.from(text);
  return { data, binary: false, wire: wireFrame(data, false) };
}

/**
 * A complete unmasked frame as a server sends it (RFC 6455 §5.2): FIN and the opcode, the payload
 * length in 7, 7 + 16 or 7 + 64 bits, then the payload. The same bytes ws's Sender writes for
 * `send(payload)` when compression is off, as Vela's gateways have it.
 */
export function wireFrame(payload: Uint8Array, binary: boolean): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x80 | (binary ? 0x2 : 0x1);
  if (length < 126) {
    frame[1] = length;
  } else if (length < 0x10000) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.set(payload, headerLength);
  return frame;
}

function toJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (error) {
    throw new FrameEncodingError(error);
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (typeof v === 'string' ? `'${v}'` : typeof v)).join(', ')}]`;
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
