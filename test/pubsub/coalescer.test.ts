// The coalescer's window stretches after a costly fan-out, so a huge channel on a slow machine gets
// fewer, bigger diffs instead of a queue that grows without bound (docs/presence.md).
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { COST_FACTOR, Coalescer } from '../../src/pubsub/coalescer.js';
import type { PubSubMessage } from '../../src/pubsub/message.js';
import { SLICE, deliverInSlices } from '../../src/pubsub/sliced-delivery.js';

const diff = (channel: string, n: number): PubSubMessage => ({ channel, sender: null, topic: 'presence_diff', payload: [n] });
const concat = (a: unknown, b: unknown) => [...(a as number[]), ...(b as number[])];

/** Keeps the event loop busy for at least `ms`, as a fan-out to many sockets does. */
const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

function coalescer(costMs: () => number) {
  const delivered: PubSubMessage[] = [];
  let arrived = () => {};
  const c = new Coalescer('presence_diff', concat, 10, (m) => {
    const started = performance.now();
    busy(costMs());
    delivered.push(m);
    arrived();
    return performance.now() - started;
  });
  const next = () => new Promise<void>((resolve) => (arrived = resolve));
  return { c, delivered, next };
}

describe('Coalescer window', () => {
  it('merges what arrives within the window into one delivery per channel', async () => {
    const { c, delivered, next } = coalescer(() => 0);
    const arrived = next();
    for (let i = 0; i < 5; i++) c.hold(diff('room:1', i));
    await arrived;
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.payload).toEqual([0, 1, 2, 3, 4]);
  });

  it('waits at least COST_FACTOR × the last delivery of a channel, and only of that channel', async () => {
    let cost = 30;
    const { c, next } = coalescer(() => cost);
    let arrived = next();
    c.hold(diff('room:big', 1));
    await arrived;
    expect(c.windowOf('room:big')).toBeGreaterThanOrEqual(COST_FACTOR * 30);
    expect(c.windowOf('room:small')).toBe(10);

    // A cheap delivery brings the window back to the configured one.
    cost = 0;
    arrived = next();
    c.hold(diff('room:big', 2));
    await arrived;
    expect(c.windowOf('room:big')).toBe(10);
  });

  it('ignores other topics and messages a connection sent', () => {
    const { c } = coalescer(() => 0);
    expect(c.hold({ ...diff('room:1', 1), topic: 'chat' })).toBe(false);
    expect(c.hold({ ...diff('room:1', 1), sender: 'conn-1' } as unknown as PubSubMessage)).toBe(false);
    c.flush();
  });
});

describe('Sliced delivery of coalesced diffs', () => {
  class Member {
    readonly got: unknown[] = [];
    deliver(message: PubSubMessage) {
      this.got.push(message.payload);
    }
  }
  const members = (n: number) => new Set(Array.from({ length: n }, () => new Member()));
  const now = (deliver: () => void) => deliver();

  it('gives the loop a turn between slices, and reaches every member once', async () => {
    const all = members(SLICE * 3 + 1);
    const busy = deliverInSlices(all, diff('room:1', 1), now);
    // Only the first slice went out synchronously: a callback queued now runs before the rest.
    const between = new Promise<number>((resolve) => setImmediate(() => resolve([...all].filter((m) => m.got.length === 1).length)));
    expect([...all].filter((m) => m.got.length === 1)).toHaveLength(SLICE);
    expect(busy).toBeInstanceOf(Promise);
    await busy;
    expect(await between).toBeLessThan(all.size);
    expect([...all].every((m) => m.got.length === 1)).toBe(true);
  });

  it('a small channel is delivered at once', () => {
    const all = members(3);
    expect(typeof deliverInSlices(all, diff('room:1', 1), now)).toBe('number');
    expect([...all].every((m) => m.got.length === 1)).toBe(true);
  });

  it('skips a member that left before its slice', async () => {
    const all = members(SLICE + 1);
    const last = [...all].at(-1)!;
    const busy = deliverInSlices(all, diff('room:1', 1), now);
    all.delete(last);
    await busy;
    expect(last.got).toEqual([]);
  });

  it('keeps the order of a channel\'s diffs for every member when the next is released while one is going out', async () => {
    const all = members(SLICE * 2 + 5);
    let done = () => {};
    let remaining = 2;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const c = new Coalescer('presence_diff', concat, 10, (m) => {
      const busy = deliverInSlices(all, m, now);
      void Promise.resolve(busy).then(() => --remaining === 0 && done());
      return busy;
    });
    c.hold(diff('room:1', 1));
    c.flush(); // first diff: its first slice now, the rest over the next turns
    c.hold(diff('room:1', 2));
    c.flush(); // second diff: released while the first is still going out
    await finished;
    expect([...all].every((m) => m.got.length === 2 && (m.got[0] as number[])[0] === 1 && (m.got[1] as number[])[0] === 2)).toBe(true);
  });
});
