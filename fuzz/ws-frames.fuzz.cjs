// jsfuzz target (CommonJS, as jsfuzz requires it): arbitrary bytes become WebSocket frames handed to
// Vela's own frame dispatch (GatewayProcess from dist/, bundled to fuzz/.build by fuzz/run.mjs so
// istanbul can instrument it for coverage). The gateway has JSON event handlers only, as in API.md:
// a JSON object with a string `event` that names a handler is dispatched with its `data`, an event
// no handler takes is ignored, one nested deeper than jsonDepth or with a __proto__ key and anything
// else closes the socket with 1007; binary frames are ignored
// (no binary handler); `vela:ping` is answered `vela:pong`. Any other outcome, or any exception,
// is a crash. Run it with `npm run fuzz`.
//
// The socket under the process is a stand-in with ws's surface (message events, send, close):
// the real ws validates UTF-8 and framing before Vela sees a frame, so text that is not UTF-8 is
// not handed over here, as ws would not hand it over either.
'use strict';
const { EventEmitter } = require('node:events');
const { isUtf8 } = require('node:buffer');
const { isDeepStrictEqual } = require('node:util');
const { GatewayProcess } = require('./.build/gateway-process.js');

/** Frames within one input are separated by this byte; the first byte of a frame picks text or binary. */
const SEPARATOR = 0x1e;
const CLOSE_1007 = 'expected JSON {"event": name, "data": value}';
/** Small, so that generated frames reach it: event frames nested deeper are refused with 1007. */
const JSON_DEPTH = 4;

class FakeSocket extends EventEmitter {
  readyState = 1; // OPEN
  bufferedAmount = 0;
  /** Text of every frame sent, in order. */
  sent = [];
  /** Close codes asked for, in order. */
  closes = [];

  send(data) {
    this.sent.push(Buffer.isBuffer(data) ? data.toString() : String(data));
  }

  close(code, reason) {
    this.closes.push({ code, reason });
    this.readyState = 2; // CLOSING
  }

  ping() {}

  terminate() {
    this.readyState = 3;
  }
}

/** Calls to the gateway's handlers, in order: [event, data]. */
let calls = [];

class FuzzGateway {
  echo(data) {
    calls.push(['echo', data]);
    return ['reply', [['json', { echo: data }]]];
  }

  note(data) {
    calls.push(['note', data]);
  }

  onText(text) {
    calls.push(['text', text]);
  }

  onBinary(bytes) {
    calls.push(['binary', Buffer.from(bytes)]);
  }
}

/** Event handlers only: what API.md's 1007 rule is about. */
const eventsOnly = {
  gateway: FuzzGateway,
  path: '/fuzz',
  match: () => false,
  security: false,
  middleware: [],
  maxPayload: 1 << 20,
  heartbeat: 0,
  idleTimeout: 0,
  maxBufferedBytes: 1 << 20,
  text: undefined,
  binary: undefined,
  events: new Map([
    ['echo', 'echo'],
    ['note', 'note'],
  ]),
  infos: [],
  hasInit: false,
  hasTerminate: false,
};
/** Event handlers plus `@OnMessage()` and `@OnMessage({ binary: true })`: text no event handler takes goes to onText. */
const withFallbackHandlers = { ...eventsOnly, text: 'onText', binary: 'onBinary' };
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const runtime = (definition) => ({
  definition,
  createGateway: () => new FuzzGateway(),
  hub: { connected() {}, disconnected() {} },
  jsonDepth: JSON_DEPTH,
  logger: {
    ...silent,
    // Only a gateway callback failing logs an error; the handlers here never fail.
    error(message, fields) {
      throw new Error(`unexpected error log: ${message} ${String(fields?.error?.stack ?? '')}`);
    },
  },
});
const runtimes = [runtime(eventsOnly), runtime(withFallbackHandlers)];

function fail(what, detail) {
  throw new Error(`invariant violated: ${what}\n${JSON.stringify(detail, null, 1)}`);
}

/** What the documented dispatch must do with one text frame; `text`: the gateway has a text handler. */
function expected(text, hasText) {
  if (text === 'vela:ping') return { kind: 'pong' };
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return hasText ? { kind: 'call', event: 'text', data: text } : { kind: 'close' };
  }
  if (typeof value !== 'object' || value === null || typeof value.event !== 'string') {
    return hasText ? { kind: 'call', event: 'text', data: text } : { kind: 'close' };
  }
  if (hasProtoKey(value)) return { kind: 'close', reason: 'event JSON has a __proto__ key: send plain data' };
  if (depthOf(value) > JSON_DEPTH) return { kind: 'close', reason: `event JSON is nested deeper than ${JSON_DEPTH} levels` };
  if (value.event === 'echo' || value.event === 'note') return { kind: 'call', event: value.event, data: value.data };
  return hasText ? { kind: 'call', event: 'text', data: text } : { kind: 'ignore' };
}

/** Whether an object anywhere in `value` has an own `__proto__` key (JSON.parse makes it a plain one). */
function hasProtoKey(value) {
  if (typeof value !== 'object' || value === null) return false;
  return Object.hasOwn(value, '__proto__') || Object.values(value).some(hasProtoKey);
}

/** How deep arrays and objects nest in `value`: 0 for a scalar, 1 for `{}` or `[]`. */
function depthOf(value) {
  if (typeof value !== 'object' || value === null) return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}

let id = 0;

function fuzz(buf) {
  if (buf.length === 0) return;
  calls = [];
  // The first byte picks the gateway: event handlers only, or with text and binary handlers too.
  const config = runtimes[buf[0] & 1];
  const hasHandlers = config.definition.text !== undefined;
  buf = buf.subarray(1);
  const ws = new FakeSocket();
  const process = new GatewayProcess(ws, config, { id: `c${++id}`, request: { path: '/fuzz', query: {}, params: {}, headers: {} }, auth: undefined, sessionId: undefined });
  let closed = false;
  let start = 0;
  for (let i = 0; i <= buf.length; i++) {
    if (i < buf.length && buf[i] !== SEPARATOR) continue;
    const piece = buf.subarray(start, i);
    start = i + 1;
    if (piece.length === 0) continue;
    const binary = (piece[0] & 1) === 1;
    const payload = Buffer.from(piece.subarray(1));
    if (!binary && !isUtf8(payload)) continue; // ws closes with 1007 itself before Vela sees it
    const before = { calls: calls.length, sent: ws.sent.length, closes: ws.closes.length };
    ws.emit('message', payload, binary);
    const got = { calls: calls.slice(before.calls), sent: ws.sent.slice(before.sent), closes: ws.closes.slice(before.closes) };
    const text = payload.toString();
    const want = closed
      ? { kind: 'ignore' }
      : binary
        ? hasHandlers
          ? { kind: 'call', event: 'binary', data: payload }
          : { kind: 'ignore' }
        : expected(text, hasHandlers);
    const detail = { frame: binary ? `binary ${payload.toString('hex')}` : text, want, got };
    switch (want.kind) {
      case 'ignore':
        if (got.calls.length || got.sent.length || got.closes.length) fail('a frame no handler takes was not ignored', detail);
        break;
      case 'pong':
        if (got.calls.length || got.closes.length || !isDeepStrictEqual(got.sent, ['vela:pong'])) fail('vela:ping was not answered vela:pong', detail);
        break;
      case 'close':
        if (got.calls.length || got.sent.length || !isDeepStrictEqual(got.closes, [{ code: 1007, reason: want.reason ?? CLOSE_1007 }])) {
          fail('a frame that is not a JSON event, or one over the limits, did not close with 1007', detail);
        }
        closed = true;
        break;
      case 'call': {
        if (got.closes.length || got.calls.length !== 1) fail('an event frame was not dispatched exactly once', detail);
        const [event, data] = got.calls[0];
        if (event !== want.event || !isDeepStrictEqual(data, want.data)) fail('the frame went to the wrong handler or with the wrong data', detail);
        const reply = want.event === 'echo' ? [JSON.stringify({ echo: want.data })] : [];
        if (!isDeepStrictEqual(got.sent, reply)) fail('the reply is not the handler\'s', detail);
        break;
      }
    }
  }
  // The socket goes away: the process must wind down without throwing.
  ws.readyState = 3;
  ws.emit('close', 1006, Buffer.alloc(0));
  if (!process.connection) fail('the connection vanished', {});
}

module.exports = { fuzz };
