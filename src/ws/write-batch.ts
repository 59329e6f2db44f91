// Batches the writes to a socket within one tick of the event loop. A socket's first frame of a
// tick leaves at once, as a plain ws loop would send it: a single broadcast reaches the first
// sockets while its loop still runs. From its second frame in the same tick on (a burst of
// broadcasts, a reply of several frames, replies to frames that came in one read) the socket is
// corked, and every socket corked in the tick is uncorked together when the tick ends, before any
// I/O: the rest leave in one writev instead of one syscall and TCP segment each, and wait no longer.
import type { Socket } from 'node:net';

/** Numbers the ticks in which something was written; stays a small integer (wraps). */
let tick = 0;
let ending = false;
let corked: Socket[] = [];

/**
 * The number of the current tick, for a caller about to write: a socket whose last write has the
 * same number is being written to a second time in this tick.
 */
export function writeTick(): number {
  if (!ending) {
    ending = true;
    process.nextTick(endTick);
  }
  return tick;
}

/** Holds `socket`'s writes until the current tick ends. Call at most once per socket and tick. */
export function corkUntilTickEnd(socket: Socket): void {
  socket.cork();
  corked.push(socket);
}

/** One pass for every socket of the tick (a broadcast writes to thousands). */
function endTick(): void {
  tick = (tick + 1) & 0x3fffffff;
  ending = false;
  const sockets = corked;
  corked = [];
  for (const socket of sockets) socket.uncork();
}
