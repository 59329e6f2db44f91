// The wire format of a gateway, both ways. Outbound: what gateway callbacks return (Nova's
// `{reply, Frame, State}` and `{stop, State}`) and how a frame becomes bytes on the socket. Inbound:
// event frames, `{ "event": name, "data": value }`, parsed once at the edge into a named shape.
import { parse as parseJson } from '@hapi/bourne';
import type { JsonResult } from '../http/results.js';
import { isTagged } from '../http/results.js';
import { deeperThan } from '../http/json-depth.js';

/** A string is sent as a text frame, bytes as a binary frame, `json(value)` as JSON text. */
export type Frame = string | Buffer | Uint8Array | JsonResult;

/**
 * The app-level heartbeat of `vela/client`, reserved text frames: a gateway answers a `vela:ping`
 * frame with `vela:pong` itself, before its mailbox, and never hands the ping to a handler. Unlike
 * a protocol ping, it is a data frame, so it crosses proxies that answer or drop control frames.
 */
export const HEARTBEAT_PING = 'vela:ping';
export const HEARTBEAT_PONG = 'vela:pong';

export type ReplyResult = readonly ['reply', readonly (Frame | AckResult)[]];
export type StopResult = readonly ['stop', number, string];
export type AckResult<T = unknown> = readonly ['ack', T];

/**
 * Sends these frames, in order. In the handler of a request, an `ack(value)` last answers it after
 * the frames. @example return reply('pong'); return reply(json(comment), ack({ id }));
 */
export function reply(...frames: [Frame, ...Frame[]] | [...Frame[], AckResult]): ReplyResult {
  return ['reply', frames];
}

/**
 * Answers the request being handled (a frame with a `ref`) with `{ "ref", "ok": value }`.
 * Returned for a plain event or from @OnInfo, there is no one to answer: nothing is sent.
 * @example return ack({ id: comment.id });
 */
export function ack<T>(value: T): AckResult<T> {
  return ['ack', value];
}

export function isAck(value: unknown): value is AckResult {
  return Array.isArray(value) && value[0] === 'ack' && value.length === 2;
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
   * FrameEncoder): each socket then gets one ready-made write instead of ws framing it again.
   */
  wire?: Buffer;
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
 * a FrameEncodingError for `json(value)` whose value has no JSON text. Caches nothing: see FrameEncoder.
 */
export function encodeFrame(frame: unknown): EncodedFrame {
  if (typeof frame === 'string') return { data: frame, binary: false };
  if (frame instanceof Uint8Array) return { data: frame, binary: true };
  if (isTagged(frame) && frame[0] === 'json') return { data: toJson(frame[1]), binary: false };
  throw new TypeError(`${describe(frame)} is not a frame: send a string, a Buffer or Uint8Array, or json(value).`);
}

/** What a broadcast has encoded so far: strings and `json(value)` values, each turned into a frame once. */
interface BroadcastCache {
  strings: Map<string, EncodedFrame>;
  values: Map<unknown, EncodedFrame | FrameEncodingError>;
  /** Frames of the protocol made from the broadcast's message (see encodeShared); made on first use. */
  shared?: Map<object, EncodedFrame[]>;
  /**
   * `json({ event, data })` envelopes by event name, then data: each member makes its own envelope
   * object around the same payload, so the value cache alone would encode it once per member.
   */
  events?: Map<string, Map<unknown, EncodedFrame | FrameEncodingError>>;
}

/**
 * Encodes the frames of one pub/sub node (its Hub owns one and hands it to its connections). Inside
 * a broadcast, every member usually replies with the same string or the same `json(value)`: within
 * `encodingOnce`, it is turned into a frame once and every socket gets the same bytes. The cache only
 * lives for the synchronous delivery loop, so a value mutated later is encoded afresh.
 */
export class FrameEncoder {
  #cache: BroadcastCache | undefined;

  /** Runs `deliver` with frames encoded once for all the sockets it sends to. */
  encodingOnce<T>(deliver: () => T): T {
    if (this.#cache) return deliver();
    this.#cache = { strings: new Map(), values: new Map() };
    try {
      return deliver();
    } finally {
      this.#cache = undefined;
    }
  }

  /** encodeFrame, through the cache of the broadcast running now, if one is. */
  encode(frame: unknown): EncodedFrame {
    const cache = this.#cache;
    if (!cache) return encodeFrame(frame);
    if (typeof frame === 'string') return cached(cache.strings, frame);
    if (isTagged(frame) && frame[0] === 'json') return cachedJson(cache, frame[1]);
    return encodeFrame(frame);
  }

  /**
   * The text frame `text()` builds for (`key`, `variant`), built and encoded once per broadcast: the
   * `vela:at` marker of a history message is the same for every member that replies as many frames.
   */
  encodeShared(key: object, variant: number, text: () => string): EncodedFrame {
    const cache = this.#cache;
    if (!cache) return encodeFrame(text());
    let frames = (cache.shared ??= new Map()).get(key);
    if (!frames) cache.shared.set(key, (frames = []));
    return (frames[variant] ??= textFrame(text()));
  }
}

function cached(cache: Map<string, EncodedFrame>, text: string): EncodedFrame {
  let encoded = cache.get(text);
  if (!encoded) cache.set(text, (encoded = textFrame(text)));
  return encoded;
}

/** `json(value)` through the broadcast's cache: by the value itself, or by an event envelope's name and data. */
function cachedJson(cache: BroadcastCache, value: unknown): EncodedFrame {
  const envelope = eventEnvelope(value);
  return envelope ? cachedEvent(cache, envelope) : cachedJsonByKey(cache.values, value, value);
}

/**
 * The `{ event, data }` envelope a gateway wraps a broadcast's payload in, made anew by every member:
 * its name and its data, when it has exactly those two own keys (a plain object, the event a string).
 */
function eventEnvelope(value: unknown): { event: string; data: unknown } | undefined {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 2 || keys[0] !== 'event' || keys[1] !== 'data') return undefined;
  const envelope = value as { event: unknown; data: unknown };
  // Only data that is itself an object is shared between members; a string or number is cheap anyway.
  return typeof envelope.event === 'string' && typeof envelope.data === 'object' && envelope.data !== null
    ? (envelope as { event: string; data: unknown })
    : undefined;
}

function cachedEvent(cache: BroadcastCache, envelope: { event: string; data: unknown }): EncodedFrame {
  let byData = (cache.events ??= new Map()).get(envelope.event);
  if (!byData) cache.events.set(envelope.event, (byData = new Map()));
  return cachedJsonByKey(byData, envelope.data, envelope);
}

/** `value` encoded once per `key` (itself, or an envelope's data). A failure is kept too: a thousand members replying with a value 5,000 deep overflow the stack once. */
function cachedJsonByKey(cache: Map<unknown, EncodedFrame | FrameEncodingError>, key: unknown, value: unknown): EncodedFrame {
  let encoded = cache.get(key);
  if (!encoded) {
    try {
      encoded = textFrame(toJson(value));
    } catch (error) {
      encoded = error as FrameEncodingError;
    }
    cache.set(key, encoded);
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

/** A frame's text for a log line, cut at 80 characters. */
export function previewText(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/**
 * An event frame, as a client sends it to an @OnEvent handler; with a `ref`, a request to answer.
 * Beside them, a client traced with OpenTelemetry may send its trace context as the W3C headers are
 * named, `traceparent` (and `tracestate`): the handler's span continues that trace. Anything there
 * that is not a string is ignored, as a malformed header would be.
 */
export interface EventFrame {
  event: string;
  data: unknown;
  ref?: string;
  traceparent?: unknown;
  tracestate?: unknown;
}

/** The longest `ref` a request may carry (vela/client counts "1", "2", …). */
export const MAX_REF_LENGTH = 64;

/** The client's answer to a server request (`conn.request`): a JSON object with a string `ref` and no `event`. */
export class ClientAnswer {
  constructor(
    readonly ref: string,
    readonly frame: { ok?: unknown; error?: unknown },
  ) {}
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
 *
 * Parsed with the rules HTTP JSON bodies have: no `__proto__` key (@hapi/bourne, as co-body uses)
 * and no nesting deeper than the app's `body.jsonDepth`. A handler, and every member its data is
 * broadcast to, can then encode what it got: 4,200 levels of `[` once made every member's reply
 * throw and close it.
 */
export function parseEvent(text: string, maxDepth: number): EventFrame | ClientAnswer | RefusedFrame | undefined {
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
  if (typeof value !== 'object' || value === null) return undefined;
  const { event, ref } = value as { event?: unknown; ref?: unknown };
  const answer = event === undefined && typeof ref === 'string';
  if (typeof event !== 'string' && !answer) return undefined;
  // An answer goes to the app's code too (conn.request resolves with it): the same rules hold.
  if (protoKey) return new RefusedFrame('event JSON has a __proto__ key: send plain data');
  // Nesting n deep takes at least 2n characters: the common short frame needs no walk.
  if (text.length > 2 * maxDepth && deeperThan(value, maxDepth)) {
    return new RefusedFrame(`event JSON is nested deeper than ${maxDepth} levels`);
  }
  if (answer) return new ClientAnswer(ref as string, value);
  if (ref !== undefined && (typeof ref !== 'string' || ref === '' || ref.length > MAX_REF_LENGTH)) {
    return new RefusedFrame(`event ref must be a string of 1 to ${MAX_REF_LENGTH} characters`);
  }
  return value as EventFrame;
}
