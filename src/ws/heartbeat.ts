// Liveness, both ways. The server's (a gateway's `heartbeat` option): every interval, each socket is
// pinged, and one whose peer sent nothing since the previous ping is cut. The client's (vela/client
// sends `vela:ping` data frames, see frames.ts): answered with PONG by the process, before its mailbox.
import type { WebSocket } from 'ws';
import { HEARTBEAT_PONG, type EncodedFrame } from './frames.js';
import { socketOf } from './socket-writer.js';

/** Encoded once: ws sends a Buffer marked as text without copying it. */
export const PONG: EncodedFrame = { data: Buffer.from(HEARTBEAT_PONG), binary: false };

/**
 * Calls `heartbeat()` on each of `processes` (the live set, read at every beat) every `interval` ms;
 * nothing for 0. Stop it with clearInterval.
 */
export function startHeartbeat(interval: number, processes: Iterable<{ heartbeat(): void }>): NodeJS.Timeout | undefined {
  if (interval <= 0) return undefined;
  const timer = setInterval(() => {
    for (const process of processes) process.heartbeat();
  }, interval);
  timer.unref();
  return timer;
}

/**
 * One beat on an open socket: pings it and returns its byte count, to pass to the next beat, or
 * undefined when the peer sent nothing since the last ping (`readAtPing`): it is to be cut. Any byte
 * from the peer since then (the pong, or any frame) proves it alive; counting bytes on the socket
 * instead of listening for 'pong' keeps ws's listener table per socket at its smallest.
 */
export function beat(ws: WebSocket, readAtPing: number): number | undefined {
  const read = socketOf(ws)?.bytesRead ?? NaN;
  if (read === readAtPing) return undefined;
  ws.ping();
  return read;
}
