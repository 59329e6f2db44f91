// Reliability battery, the Redis bus between nodes: a payload that cannot be encoded fails only its
// own broadcast, never the node's link (31), and a payload's keys can never be taken for bytes (37).
// Two apps on redisPubSub with the real Redis on 127.0.0.1:6379, each test on a key prefix of its own.
import { describe, expect, it } from 'vitest';
import {
  Module,
  OnMessage,
  PubSub,
  PubSubEncodingError,
  WebSocket,
  json,
  redisPubSub,
  reply,
  type Connection,
  type Envelope,
  type PubSubAdapter,
  type PubSubMessage,
} from 'vela';
import { redisMissing, uniquePrefix } from '../support/redis.js';
import { Peer } from '../pubsub/support.js';
import { entries } from '../redis/support.js';
import { startTestApp, type TestApp } from 'vela/testing';

const LOST = 'redis pub/sub connection lost';
const MISSED = 'missed pub/sub messages from another node';
const REFUSED = 'pub/sub broadcast refused: its payload cannot be encoded for other nodes';

type Unencodable = 'deep' | 'bigint' | 'cycle';

/** Payloads JSON cannot carry, made on the server (a client frame this deep is refused at the edge). */
function unencodable(kind: Unencodable): unknown {
  if (kind === 'bigint') return { amount: 10n ** 20n };
  if (kind === 'cycle') {
    const node: Record<string, unknown> = { name: 'root' };
    node.self = node;
    return node;
  }
  let deep: unknown[] = [];
  for (let i = 0; i < 2_500; i += 1) deep = [deep];
  return deep;
}

const problems: Record<Unencodable, string> = {
  deep:
    "pubsub.broadcast('room', 'said', payload): the payload cannot be encoded as JSON for other nodes: payload[0][0][0][0][0][0][0]… " +
    'nests arrays and objects more than 510 levels deep. Flatten it, or send it in parts. Nothing was delivered.',
  bigint:
    "pubsub.broadcast('room', 'said', payload): the payload cannot be encoded as JSON for other nodes: payload.amount is a BigInt, " +
    'which JSON has no way to write. Send it as a string (String(n)) or a number. Nothing was delivered.',
  cycle:
    "pubsub.broadcast('room', 'said', payload): the payload cannot be encoded as JSON for other nodes: payload.self refers back to " +
    'an object that contains it (a cycle). JSON has no references: send an id instead of the object itself. Nothing was delivered.',
};

/** A gateway whose handler broadcasts what it builds itself, awaited (`say`) or not (`fire`), as app code does. */
@WebSocket('/say')
class SayGateway {
  constructor(private readonly pubsub: PubSub) {}

  init(conn: Connection) {
    return reply(json({ hello: conn.id }));
  }

  @OnMessage('call')
  async call({ ref, op, args }: { ref: number; op: 'say' | 'fire'; args: { kind: Unencodable | 'hello' } }) {
    const payload = args.kind === 'hello' ? { text: 'hello' } : unencodable(args.kind);
    if (op === 'fire') {
      void this.pubsub.broadcast('room', 'said', payload); // not awaited: must not become an unhandled rejection
      return reply(json({ ack: ref, result: 'fired' }));
    }
    try {
      await this.pubsub.broadcast('room', 'said', payload);
      return reply(json({ ack: ref, result: 'sent' }));
    } catch (error) {
      return reply(json({ ack: ref, error: (error as Error).message }));
    }
  }
}

@Module({ gateways: [SayGateway] })
class SayModule {}

/** The envelopes a node received from the others, in order, and a way to await the next ones. */
interface Inbox {
  readonly received: Envelope[];
  until(count: number): Promise<Envelope[]>;
}

/** Wraps a real adapter so the test sees every envelope it hands to its node (nothing is faked). */
function recording(adapter: PubSubAdapter): { adapter: PubSubAdapter; inbox: Inbox } {
  const received: Envelope[] = [];
  const waiters = new Set<() => void>();
  const inbox: Inbox = {
    received,
    until: (count) =>
      new Promise((resolve) => {
        const check = () => {
          if (received.length < count) return;
          waiters.delete(check);
          resolve(received.slice(0, count));
        };
        waiters.add(check);
        check();
      }),
  };
  const wrapped: PubSubAdapter = {
    name: adapter.name,
    start: (node) =>
      adapter.start({
        id: node.id,
        logger: node.logger,
        localMembers: (channel) => node.localMembers(channel),
        localChannels: () => node.localChannels(),
        receive: (envelope) => {
          received.push(envelope);
          node.receive(envelope);
          for (const wake of [...waiters]) wake();
        },
      }),
    publish: (envelope) => adapter.publish(envelope),
    remoteMembers: (channel) => adapter.remoteMembers(channel),
    membershipChanged: (channel) => adapter.membershipChanged?.(channel),
    interest: (channel, interested) => adapter.interest?.(channel, interested),
    stop: () => adapter.stop(),
  };
  return { adapter: wrapped, inbox };
}

/** Node A sends; node B records what reaches it. One key prefix: one cluster. */
async function twoNodes(): Promise<{ a: TestApp; b: TestApp; inboxB: Inbox }> {
  const keyPrefix = uniquePrefix();
  const { adapter, inbox } = recording(redisPubSub({ keyPrefix }));
  const [a, b] = await Promise.all([startTestApp(SayModule, { pubsub: redisPubSub({ keyPrefix }) }), startTestApp(SayModule, { pubsub: adapter })]);
  // B listens on 'room', or interest routing would not bring it the channel's messages.
  await b!.pubsub.subscribe('room', () => {}).ready;
  return { a: a!, b: b!, inboxB: inbox };
}

/** Every message a node's local members got on `channel`, through the PubSub API. */
function heardOn(app: TestApp, channel: string): PubSubMessage[] {
  const heard: PubSubMessage[] = [];
  app.pubsub.subscribe(channel, (message) => void heard.push(message));
  return heard;
}

const payloadsOf = (envelopes: Envelope[]) => envelopes.map((envelope) => (envelope.type === 'message' ? envelope.message.payload : envelope));

describe.skipIf(redisMissing)('reliability: the Redis bus', () => {
  it('31. An un-encodable payload (2,500-deep, BigInt, cycle) broadcast from a gateway handler or the PubSub API: the caller gets a clear error, nothing is delivered, no outage; the next broadcast crosses', async () => {
    const { a, b, inboxB } = await twoNodes();
    const localA = heardOn(a, 'room');
    const sender = await Peer.connect(a, { path: '/say' });

    for (const kind of ['deep', 'bigint', 'cycle'] as const) {
      await expect(sender.call('say', { kind })).rejects.toThrow(problems[kind]); // from a gateway handler
      const refused = a.pubsub.broadcast('room', 'said', unencodable(kind)); // from any code
      await expect(refused).rejects.toBeInstanceOf(PubSubEncodingError);
      await expect(refused).rejects.toThrow(problems[kind]);
      // Not awaited by its handler: refused and logged, never an unhandled rejection.
      await sender.call('fire', { kind });
    }
    expect(entries(a.logs, REFUSED)).toHaveLength(9);

    // Right after: a normal broadcast, from the same handler, reaches node B, and it is the first
    // message B gets from A: none of the nine refused ones crossed. A's own members got none either.
    await sender.call('say', { kind: 'hello' });
    expect(payloadsOf(await inboxB.until(1))).toEqual([{ text: 'hello' }]);
    expect(localA.map((message) => message.payload)).toEqual([{ text: 'hello' }]);
    await a.pubsub.broadcast('room', 'said', { text: 'and again' });
    expect(payloadsOf(await inboxB.until(2))).toEqual([{ text: 'hello' }, { text: 'and again' }]);

    // The link never counted as lost, and B saw no gap in A's numbering.
    expect(entries(a.logs, LOST)).toEqual([]);
    expect(entries(b.logs, MISSED)).toEqual([]);
    expect(a.logs.entries.filter((entry) => entry.level === 'error')).toEqual([]);
  });

  it('31. An un-encodable Comms frame or info (2,500-deep json(), BigInt, cycle): comms throws a clear error before any socket has it, and Comms still crosses right after', async () => {
    const { a, inboxB } = await twoNodes();
    const deep = unencodable('deep');
    expect(() => a.comms.send('some-session', json(deep))).toThrow(
      'comms.send(sessionId, frame): the frame cannot be encoded as JSON for other nodes: frame[1][0][0][0][0][0][0]… nests arrays and objects more than 510 levels deep.',
    );
    expect(() => a.comms.broadcast(json(deep))).toThrow(PubSubEncodingError);
    expect(() => a.comms.info('some-session', { amount: 1n })).toThrow(
      'comms.info(sessionId, message): the message cannot be encoded as JSON for other nodes: message.amount is a BigInt',
    );
    expect(() => a.comms.info('some-session', unencodable('cycle'))).toThrow('message.self refers back to an object that contains it (a cycle)');

    a.comms.info('some-session', { kind: 'mention' });
    expect(await inboxB.until(1)).toEqual([{ type: 'session-info', sessionId: 'some-session', message: { kind: 'mention' } }]);
    expect(entries(a.logs, LOST)).toEqual([]);
  });

  it('37. Payload objects with `$vela:bytes` keys (strings and other values, nested, beside other keys) reach another node exactly as sent; Buffers and Uint8Arrays still arrive as Buffers', async () => {
    const { a, inboxB } = await twoNodes();
    const lookalikes = {
      '$vela:bytes': 'aGVsbG8=',
      note: { '$vela:bytes': 'aGVsbG8=', keep: 'me', n: 1 },
      numbers: { '$vela:bytes': 42 },
      list: [{ '$vela:bytes': 'AAEC' }, { '$vela:bytes': null, '$$vela:bytes': 'x' }, { '$vela:bytes': { '$vela:bytes': 'aGk=' } }],
    };
    await a.pubsub.broadcast('room', 'said', lookalikes);
    const bytes = {
      png: Buffer.from([0x89, 0x50, 0x4e, 0x47]),
      view: new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4), // a view: only its own three bytes travel
      mixed: { '$vela:bytes': 'aGk=', raw: Buffer.from('hi'), list: [Buffer.alloc(0), 'text'] },
    };
    await a.pubsub.broadcast('room', 'said', bytes);
    a.comms.send('some-session', Buffer.from([0, 1, 255]));

    const [first, second, third] = (await inboxB.until(3)) as [Envelope, Envelope, Envelope];
    // Strictly equal: a Buffer (or a lost key) in place of any of these objects fails.
    expect(payloadsOf([first])[0]).toStrictEqual(lookalikes);
    const got = payloadsOf([second])[0] as { png: unknown; view: unknown; mixed: { '$vela:bytes': unknown; raw: unknown; list: unknown[] } };
    for (const value of [got.png, got.view, got.mixed.raw, got.mixed.list[0]]) expect(Buffer.isBuffer(value)).toBe(true);
    expect(got).toStrictEqual({
      png: Buffer.from([0x89, 0x50, 0x4e, 0x47]),
      view: Buffer.from([1, 2, 3]),
      mixed: { '$vela:bytes': 'aGk=', raw: Buffer.from('hi'), list: [Buffer.alloc(0), 'text'] },
    });
    expect(third).toStrictEqual({ type: 'session-send', sessionId: 'some-session', frame: Buffer.from([0, 1, 255]) });
  });
});
