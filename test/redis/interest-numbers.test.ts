// When a shard's running numbers start over, in the order ioredis hands things over: it parses a
// whole read at once, so a SUBSCRIBE's reply and the shard's first message often arrive together, and
// the message is handled before the reply's promise settles. Redis cannot be made to put both in one
// read on demand, so the subscriber here is the narrow interface Interest uses, settled by hand.
import { describe, expect, it } from 'vitest';
import { Interest, type ShardSubscriber } from '../../src/redis/interest.js';
import { Keyspace } from '../../src/redis/keyspace.js';
import { Sequences } from '../../src/redis/sequences.js';
import { memoryLogger } from '../../src/testing/memory-logger.js';

function setup() {
  const logs = memoryLogger();
  const replies: (() => void)[] = [];
  const subscriber: ShardSubscriber = {
    connected: true,
    subscribe: () => new Promise<void>((resolve) => replies.push(resolve)),
    unsubscribe: () => new Promise<void>((resolve) => replies.push(resolve)),
  };
  const keys = new Keyspace({ prefix: 'p', clustered: false, routing: 'interest', shards: 64 });
  const heard = new Sequences(() => logs, () => undefined);
  const interest = new Interest(keys, subscriber, logs, (carrier) => heard.restart(carrier));
  const missed = () => logs.entries.filter((entry) => entry.message.startsWith('missed')).map((entry) => entry.fields?.missed);
  return { interest, heard, carrier: keys.carrierOf('room'), replies, missed };
}

describe('shard numbering', () => {
  it('keeps the number of a first message that arrives with the subscription’s reply, so the next gap is counted', async () => {
    const { interest, heard, carrier, replies, missed } = setup();
    const joined = interest.add('room');
    replies.shift()!(); // the reply is parsed…
    expect(heard.check(carrier, 'a', 1)).toBe(true); // …and the message after it, before the promise settles
    await joined;
    expect(heard.check(carrier, 'a', 5)).toBe(true);
    expect(missed()).toEqual([3]);
  });

  it('starts over once a subscription is confirmed while old messages of the shard could still arrive', async () => {
    const { interest, heard, carrier, replies, missed } = setup();
    const first = interest.add('room');
    replies.shift()!();
    await first;
    heard.check(carrier, 'a', 1);
    interest.remove('room'); // UNSUBSCRIBE sent, not yet confirmed…
    const again = interest.add('room'); // …and SUBSCRIBE right behind it
    heard.check(carrier, 'a', 2); // sent before Redis took the UNSUBSCRIBE
    replies.shift()!();
    replies.shift()!();
    await again;
    heard.check(carrier, 'a', 9); // 3 to 8 went while this node was not subscribed: not missed
    expect(missed()).toEqual([]);
  });
});
