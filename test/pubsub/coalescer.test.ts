// The coalescer's window stretches after a costly fan-out, so a huge channel on a slow machine gets
// fewer, bigger diffs instead of a queue that grows without bound (README "Presence").
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { COST_FACTOR, Coalescer } from '../../src/pubsub/coalescer.js';
import type { PubSubMessage } from '../../src/pubsub/message.js';

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
    busy(costMs());
    delivered.push(m);
    arrived();
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
