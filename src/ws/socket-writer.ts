// The write path of one gateway socket: a frame from a handler, a reply or a broadcast, encoded
// (once per broadcast, by the hub's FrameEncoder) and written, batched within a tick, with the
// socket's buffer held to the gateway's limits (a slow consumer is closed).
//
// Batching: a socket's first frame of a tick leaves at once, as a plain ws loop would send it, so a
// single broadcast reaches the first sockets while its loop still runs. From its second frame in the
// same tick on (a burst of broadcasts, a reply of several frames, replies to frames that came in one
// read) the socket is corked, and every socket corked in the tick is uncorked together when the tick
// ends, before any I/O: the rest leave in one writev instead of one syscall and TCP segment each, and
// wait no longer.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Logger } from '../logging/logger.js';
import type { CloseCause, GatewayMeter } from '../telemetry/metrics.js';
import { FrameEncodingError, type EncodedFrame, type Frame, type FrameEncoder } from './frames.js';
import type { GatewayDefinition } from './gateway-table.js';

/** What the write path needs from its gateway (GatewayRuntime has it all). */
export interface WriterRuntime {
  definition: Pick<GatewayDefinition, 'maxBufferedBytes' | 'drainTimeout' | 'bufferedBytesCap'>;
  hub: { readonly encoder: FrameEncoder };
  logger: Logger;
  /** The gateway's metrics: frames counted, cuts recorded. */
  meter: GatewayMeter;
}

const TEXT = { binary: false };
const BINARY = { binary: true };

/** Numbers the ticks in which something was written; stays a small integer (wraps). */
let tick = 0;
let ending = false;
let corked: Socket[] = [];

/**
 * The number of the current tick, for a caller about to write: a socket whose last write has the
 * same number is being written to a second time in this tick.
 */
function writeTick(): number {
  if (!ending) {
    ending = true;
    process.nextTick(endTick);
  }
  return tick;
}

/** One pass for every socket of the tick (a broadcast writes to thousands). */
function endTick(): void {
  tick = (tick + 1) & 0x3fffffff;
  ending = false;
  const sockets = corked;
  corked = [];
  for (const socket of sockets) socket.uncork();
}

/**
 * The base of a connection's process. A base class rather than an object of its own: its state
 * lives in the process's own fields, and an idle connection pays for no second object.
 */
export abstract class SocketWriter<R extends WriterRuntime = WriterRuntime> {
  protected readonly ws: WebSocket;
  protected readonly runtime: R;
  /** When the socket opened, for the session duration its gateway records at the end (0 with metrics off). */
  readonly openedAt: number;
  /** Armed while the socket's unsent data is over maxBufferedBytes: it must drain before it fires. */
  #drainTimer?: NodeJS.Timeout;
  /** The tick of the last frame written, and of the last cork; -1 before the first. */
  #writtenIn = -1;
  #corkedIn = -1;
  /** Whether permessage-deflate was negotiated: then every frame goes through ws's Sender, in its queue. */
  readonly #deflates: boolean;

  protected constructor(ws: WebSocket, runtime: R) {
    this.ws = ws;
    this.runtime = runtime;
    // Settled by the handshake, before the socket is handed over.
    this.#deflates = ws.extensions !== '';
    this.openedAt = runtime.meter.opened();
  }

  /** Whether frames may still be written: no close asked for, and the socket open. */
  abstract get open(): boolean;

  abstract close(code?: number, reason?: string): void;

  /** The log fields that name the connection. */
  protected abstract fields(extra?: Record<string, unknown>): Record<string, unknown>;

  /** A frame that cannot be encoded is logged and skipped (false), like a reply of one. */
  send(frame: Frame): boolean {
    let encoded: EncodedFrame;
    try {
      encoded = this.encode(frame);
    } catch (error) {
      if (!(error instanceof FrameEncodingError)) throw error;
      this.unencodable('conn.send', error);
      return false;
    }
    return this.write(encoded);
  }

  /**
   * Sends a reply's frames. A wrong-typed frame (a number, an object not wrapped in json()) is a bug
   * in the handler and throws, as it always has (→ 1011). A json(value) that cannot be encoded may
   * come from data a client sent: nothing is sent, and the error is returned for the caller to log
   * with its handler; the connection stays open.
   */
  protected writeReply(frames: readonly unknown[], marker?: EncodedFrame): FrameEncodingError | undefined {
    try {
      // The usual reply of one frame needs no array of encoded frames.
      if (frames.length === 1 && !marker) return void this.write(this.encode(frames[0]));
      // Encode all first: a bad frame fails the whole reply (its marker included) rather than half of it.
      const encoded = frames.map((one) => this.encode(one));
      if (!marker) {
        for (const frame of encoded) this.write(frame);
        return;
      }
      // The marker and its frames in one write (a TCP segment, not one more per member).
      const socket = socketOf(this.ws);
      socket?.cork();
      try {
        this.write(marker);
        for (const frame of encoded) this.write(frame);
      } finally {
        socket?.uncork();
      }
    } catch (error) {
      if (!(error instanceof FrameEncodingError)) throw error;
      return error;
    }
  }

  /** encodeFrame, sharing the bytes of the broadcast being delivered, if one is. */
  protected encode(frame: unknown): EncodedFrame {
    return this.runtime.hub.encoder.encode(frame);
  }

  protected unencodable(handler: string, error: FrameEncodingError): void {
    this.runtime.logger.error('websocket frame skipped: it cannot be encoded', this.fields({ handler, error: error.message }));
  }

  protected write({ data, binary, wire }: EncodedFrame): boolean {
    if (!this.open) return false;
    this.runtime.meter.sent += 1;
    // Under the limit again since the last write: the frames of that burst went out.
    if (this.#drainTimer && this.ws.bufferedAmount <= this.runtime.definition.maxBufferedBytes) this.#drained();
    this.#coalesce();
    // A frame built once for a broadcast goes to the socket as it is, in one write: ws's send would
    // frame it again for every socket and write header and payload apart. Only where ws's Sender
    // holds nothing back, i.e. no permessage-deflate on this socket: while it deflates it queues the
    // frames sent after, and ours would overtake them. A compressed socket gets the same encoded
    // bytes through ws.send, which deflates them for this socket (see compression.ts for the cost).
    const socket = wire && !this.#deflates ? socketOf(this.ws) : undefined;
    if (socket) socket.write(wire!);
    else this.ws.send(data, binary ? BINARY : TEXT);
    if (this.ws.bufferedAmount > this.runtime.definition.maxBufferedBytes) this.#overLimit();
    return true;
  }

  /** The socket closed: nothing is written any more, so nothing needs to drain. */
  protected stopWriting(): void {
    clearTimeout(this.#drainTimer);
  }

  /**
   * A peer that stops reading would make the server buffer without bound, but a burst (a handler
   * broadcasting 200 × 64 KiB in one loop) lands in the buffer of a peer that reads as fast as it
   * can too. So over maxBufferedBytes, a socket gets drainTimeout to fall back under it; only past
   * bufferedBytesCap, which bounds the memory, is it cut at once. One timer, and only while over.
   */
  #overLimit(): void {
    const { bufferedBytesCap, drainTimeout } = this.runtime.definition;
    if (this.ws.bufferedAmount > bufferedBytesCap) return this.#slowConsumer('bufferedBytesCap');
    if (drainTimeout === 0) return this.#slowConsumer('drainTimeout');
    if (this.#drainTimer) return;
    this.#drainTimer = setTimeout(SocketWriter.#drainTimedOut, drainTimeout, this);
    this.#drainTimer.unref();
  }

  #drained(): void {
    clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
  }

  /** Any write since the timer was armed that found the buffer back under the limit disarmed it. */
  static #drainTimedOut(owner: SocketWriter): void {
    owner.#drainTimer = undefined;
    if (owner.open && owner.ws.bufferedAmount > owner.runtime.definition.maxBufferedBytes) owner.#slowConsumer('drainTimeout');
  }

  #slowConsumer(limit: 'bufferedBytesCap' | 'drainTimeout'): void {
    this.#drained();
    const { maxBufferedBytes, drainTimeout, bufferedBytesCap } = this.runtime.definition;
    const fields = { bufferedBytes: this.ws.bufferedAmount, limit, maxBufferedBytes, drainTimeout, bufferedBytesCap };
    this.cut('slow_consumer', 'websocket slow consumer closed', fields, 'slow consumer');
  }

  /**
   * The server cuts the socket for `cause`, logged with `fields` and counted in its gateway's
   * metrics: closed with 1008 and `reason`, or, for a peer that missed a heartbeat (which would
   * not answer a close), terminated at once.
   */
  protected cut(cause: CloseCause, message: string, fields: Record<string, unknown>, reason = ''): void {
    this.runtime.meter.cut(cause);
    if (cause === 'heartbeat') {
      this.runtime.logger.debug(message, this.fields(fields));
      this.ws.terminate();
      return;
    }
    this.runtime.logger.warn(message, this.fields(fields));
    this.close(1008, reason);
  }

  /** A socket's first frame of a tick is written at once; from its second on, it is corked until the tick ends. */
  #coalesce(): void {
    const now = writeTick();
    if (this.#writtenIn !== now) {
      this.#writtenIn = now;
      return;
    }
    if (this.#corkedIn === now) return;
    // `_socket` is ws's own field; without it (it never is) frames are simply written one by one.
    const socket = socketOf(this.ws);
    if (!socket) return;
    this.#corkedIn = now;
    // Held until the current tick ends; once per socket and tick.
    socket.cork();
    corked.push(socket);
  }
}

/** ws's socket under a WebSocket (`_socket` is ws's own field). */
export function socketOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket })._socket;
}
