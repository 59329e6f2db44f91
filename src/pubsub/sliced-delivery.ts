// Delivers one message to a channel's members a slice at a time, giving the event loop a turn
// between slices. Used for coalesced presence diffs only: a diff to thousands of members would hold
// the loop for tens of ms, and every track(), count(), upgrade and other channel's message waiting
// behind it would wait that long. Order per member holds across diffs: a diff released while the one
// before is still going out queues its slices behind that one's (setImmediate runs in order). Other
// broadcasts stay synchronous, as documented.
import { performance } from 'node:perf_hooks';
import type { PubSubMessage } from './message.js';

/** Members per slice: a few ms of writes at ~10 µs a member. */
export const SLICE = 256;

interface Recipient {
  deliver(message: PubSubMessage): void;
}

/**
 * Delivers `message` to `members` as of now (one who joins later does not get it; one who leaves
 * before its slice does not either). Returns the ms the loop was busy with it: a number when it
 * took one slice, else a promise of it.
 */
export function deliverInSlices<M extends Recipient>(
  members: ReadonlySet<M>,
  message: PubSubMessage,
  slice: (deliver: () => void) => void,
): number | Promise<number> {
  const recipients = [...members];
  let next = 0;
  let busy = 0;
  const step = (): boolean => {
    const started = performance.now();
    const end = Math.min(recipients.length, next + SLICE);
    slice(() => {
      for (; next < end; next++) {
        const member = recipients[next]!;
        if (members.has(member)) member.deliver(message);
      }
    });
    busy += performance.now() - started;
    return next >= recipients.length;
  };
  if (step()) return busy;
  return new Promise((resolve) => {
    const again = () => (step() ? resolve(busy) : setImmediate(again));
    setImmediate(again);
  });
}
