// Keeps one client from holding the event loop. ws parses everything a socket read at once and
// hands over each frame synchronously, and one turn of the loop can read 2 MiB from a single socket
// (libuv reads up to 32 × 64 KiB): 300,000 tiny frames handled in one go, during which no other
// socket is served (a 100,000-frame storm held every other socket's round trip for ~0.9 s on two
// busy cores). So a socket gets FRAMES_PER_TURN frames per turn; past that, ws hands over the rest
// one per turn (its `allowSynchronousEvents: false`, switched for that socket alone), and its
// backpressure stops reading the socket meanwhile. Sockets within the budget keep ws's fast path.
import type { WebSocket } from 'ws';

/** Frames one socket may deliver in a turn before the rest are spread over later turns. */
export const FRAMES_PER_TURN = 64;

/** Numbers the turns of the event loop in which frames arrived; stays a small integer (wraps). */
let turn = 0;
let ending = false;

/**
 * The number of the current turn of the event loop. A turn ends at the next check phase (after
 * every read of this poll phase), where frames deferred by ws are handed over, each in a new turn.
 */
export function frameTurn(): number {
  if (!ending) {
    ending = true;
    setImmediate(endTurn);
  }
  return turn;
}

function endTurn(): void {
  turn = (turn + 1) & 0x3fffffff;
  ending = false;
}

/**
 * Whether ws hands `ws`'s frames over as it parses them (true, its default) or one per turn.
 * `_receiver` and `_allowSynchronousEvents` are ws's own fields (ws 8); without them, nothing changes.
 */
export function deliverSynchronously(ws: WebSocket, synchronous: boolean): void {
  const receiver = (ws as unknown as { _receiver?: { _allowSynchronousEvents?: boolean } })._receiver;
  if (receiver && typeof receiver._allowSynchronousEvents === 'boolean') receiver._allowSynchronousEvents = synchronous;
}
