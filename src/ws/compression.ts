// permessage-deflate (RFC 7692) for one gateway: `@WebSocket(path, { compression })` validated at
// bootstrap and turned into ws's perMessageDeflate settings. Off unless asked: each socket that has
// compressed or inflated a message keeps its zlib streams (~240 KiB of RSS at the defaults,
// BENCHMARKS §13) until it closes, and compression's CPU is paid per socket per message, broadcasts
// included.
import type { PerMessageDeflateOptions } from 'ws';
import { ConfigError, describeValue } from '../app/errors.js';
import type { Class } from '../di/token.js';

/**
 * `compression: true` takes every default below; an object changes some of them. Every socket still
 * has the gateway's `maxPayload` checked against the *inflated* size of what it sends (a small frame
 * that inflates past it closes that socket with 1009).
 */
export interface CompressionOptions {
  /** Messages smaller than this many bytes go uncompressed (not worth the CPU). Default 1024. */
  threshold?: number;
  /** zlib level, 0 (store) to 9 (smallest, slowest). Default 6 (zlib's default). */
  level?: number;
  /** zlib memLevel, 1–9: the deflate state's size (2^(memLevel+9) bytes, and more). Default 8: 128 KiB. */
  memLevel?: number;
  /**
   * The server's deflate window, 9–15 (2^bits bytes; the deflate stream holds about 4 × that).
   * Default 15 (32 KiB window, 128 KiB of deflate state). A client that asks for a smaller one gets it.
   */
  serverMaxWindowBits?: number;
  /**
   * The window the server asks clients to deflate with, 8–15, which bounds the server's inflate
   * window (2^bits bytes). Only clients that offer `client_max_window_bits` (browsers and ws do) are
   * then compressed; others connect uncompressed. Default: the client's choice (up to 15, 32 KiB).
   */
  clientMaxWindowBits?: number;
  /**
   * Whether each side keeps its compression window from one message to the next. Default false:
   * every message is compressed on its own (`server_no_context_takeover`,
   * `client_no_context_takeover`), so one message's history never shapes another's, and messages
   * under `threshold` can be sent uncompressed (ws compresses every message with takeover on).
   * True compresses a stream of similar messages better. Memory is the same either way: ws keeps a
   * socket's zlib streams once used and only resets them between messages.
   */
  contextTakeover?: boolean;
  // No `concurrencyLimit`: ws runs zlib jobs in ONE queue for the whole process, sized by the first
  // permessage-deflate socket it makes (10 at once by default). A per-gateway number would be
  // ignored for every gateway but one, so Vela leaves ws's 10.
}

/** Defaults kept here, where they are documented. */
const DEFAULTS = { threshold: 1024, level: 6, memLevel: 8, contextTakeover: false } as const;

type NumberOption = Exclude<keyof CompressionOptions, 'contextTakeover'>;

/** The inclusive range each number option takes (zlib's; raw deflate cannot use an 8-bit window). */
const RANGES: Record<NumberOption, readonly [number, number]> = {
  threshold: [0, Number.MAX_SAFE_INTEGER],
  level: [0, 9],
  memLevel: [1, 9],
  serverMaxWindowBits: [9, 15],
  clientMaxWindowBits: [8, 15],
};

/** ws's perMessageDeflate setting for `@WebSocket({ compression })`, or false (the default: off). */
export function compressionOf(compression: unknown, cls: Class): PerMessageDeflateOptions | false {
  const wrong = (what: string) =>
    new ConfigError(`${cls.name}: @WebSocket compression ${what}; write compression: true, or e.g. compression: { threshold: 1024, level: 6 }.`);
  if (compression === undefined || compression === false) return false;
  if (compression === true) return settings({});
  if (typeof compression !== 'object' || compression === null || Array.isArray(compression)) {
    throw wrong(`must be true, false or an object, got ${describeValue(compression)}`);
  }
  const given = compression as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(key in RANGES) && key !== 'contextTakeover') throw wrong(`has no option '${key}'`);
  }
  if (given.contextTakeover !== undefined && typeof given.contextTakeover !== 'boolean') {
    throw wrong(`.contextTakeover must be true or false, got ${describeValue(given.contextTakeover)}`);
  }
  for (const [key, [min, max]] of Object.entries(RANGES)) {
    const value = given[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`;
      throw wrong(`.${key} must be ${range}, got ${describeValue(value)}`);
    }
  }
  return settings(given as CompressionOptions);
}

function settings(options: CompressionOptions): PerMessageDeflateOptions {
  const { threshold, level, memLevel, contextTakeover } = { ...DEFAULTS, ...options };
  return {
    threshold,
    serverNoContextTakeover: !contextTakeover,
    clientNoContextTakeover: !contextTakeover,
    // A number is the most the server will use; without it the client's offer decides (up to 15).
    ...(options.serverMaxWindowBits !== undefined ? { serverMaxWindowBits: options.serverMaxWindowBits } : {}),
    ...(options.clientMaxWindowBits !== undefined ? { clientMaxWindowBits: options.clientMaxWindowBits } : {}),
    zlibDeflateOptions: { level, memLevel },
  };
}
