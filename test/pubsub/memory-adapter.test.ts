// memoryPubSub() and MemoryBus: the shared adapter contract, plus what only the in-memory adapter
// promises (a bus of its own by default, one app per adapter, delivery right after the publisher's
// synchronous work).
import { describe, expect, it } from 'vitest';
import { MemoryBus, PubSubEncodingError, memoryPubSub, type Envelope, type PubSubMessage, type PubSubNode } from 'vela';
import { describeAdapterContract } from './adapter-contract.js';
import { Peer, PubSubTestModule } from './support.js';
import { memoryLogger, startTestApp } from 'vela/testing';

describeAdapterContract('memory', (count) => {
  const bus = new MemoryBus();
  return Array.from({ length: count }, () => memoryPubSub({ bus }));
});

function fakeNode(id: string, members: Record<string, string[]> = {}): PubSubNode & { received: Envelope[] } {
  const received: Envelope[] = [];
  return {
    id,
    logger: memoryLogger(),
    received,
    receive: (envelope) => void received.push(envelope),
    localMembers: (channel) => members[channel] ?? [],
    localChannels: () => Object.keys(members),
  };
}

const envelope = (topic: string): Envelope => ({ type: 'message', message: { channel: 'c', sender: null, topic, payload: null } });

describe('MemoryBus', () => {
  describe('#publish', () => {
    it('reaches every other attached node, after the publisher’s synchronous work, in order', async () => {
      const bus = new MemoryBus();
      const [a, b, c] = [fakeNode('a'), fakeNode('b'), fakeNode('c')];
      for (const node of [a, b, c]) bus.attach(node);
      bus.publish(a, envelope('1'));
      bus.publish(a, envelope('2'));
      expect(b.received).toEqual([]);
      await Promise.resolve();
      expect(b.received).toEqual([envelope('1'), envelope('2')]);
      expect(c.received).toEqual([envelope('1'), envelope('2')]);
      expect(a.received).toEqual([]);
    });

    it('refuses, with nothing delivered, what Redis could not carry once it links several nodes; alone it checks nothing', async () => {
      const bus = new MemoryBus();
      const [a, b] = [fakeNode('a'), fakeNode('b')];
      bus.attach(a);
      const bigint: Envelope = { type: 'message', message: { channel: 'c', sender: null, topic: 't', payload: 1n } };
      expect(() => bus.publish(a, bigint)).not.toThrow(); // a single app: its members may get any value
      bus.attach(b);
      expect(() => bus.publish(a, bigint)).toThrow(PubSubEncodingError);
      await Promise.resolve();
      expect(b.received).toEqual([]);
    });

    it('no longer reaches a detached node', async () => {
      const bus = new MemoryBus();
      const [a, b] = [fakeNode('a'), fakeNode('b')];
      bus.attach(a);
      bus.attach(b);
      bus.detach(b);
      bus.publish(a, envelope('1'));
      await Promise.resolve();
      expect(b.received).toEqual([]);
    });
  });

  describe('#membersElsewhere', () => {
    it('lists the members of every other node', () => {
      const bus = new MemoryBus();
      const a = fakeNode('a', { room: ['a.1'] });
      const b = fakeNode('b', { room: ['b.1', 'b.2'] });
      const c = fakeNode('c', { lobby: ['c.1'] });
      for (const node of [a, b, c]) bus.attach(node);
      expect(bus.membersElsewhere(a, 'room')).toEqual(['b.1', 'b.2']);
      expect(bus.membersElsewhere(b, 'room')).toEqual(['a.1']);
      expect(bus.membersElsewhere(a, 'nobody')).toEqual([]);
    });
  });
});

describe('memoryPubSub()', () => {
  it('is named memory', () => {
    expect(memoryPubSub().name).toBe('memory');
  });

  it('has a bus of its own by default: two apps stay apart', async () => {
    const [one, two] = await Promise.all([startTestApp(PubSubTestModule, { pubsub: memoryPubSub() }), startTestApp(PubSubTestModule, { pubsub: memoryPubSub() })]);
    const heard: PubSubMessage[] = [];
    two.pubsub.subscribe('room', (msg) => void heard.push(msg));
    const member = await Peer.connect(two, { join: ['room'] });
    // The memory bus delivers in microtasks queued before publish() resolves: awaiting it is enough.
    await one.pubsub.broadcast('room', 'hello', 1);
    expect(heard).toEqual([]);
    expect(await one.pubsub.members('room')).toEqual([]);
    expect(await two.pubsub.members('room')).toEqual([member.id]);
  });

  it('with a shared bus, has delivered to the other apps by the time broadcast() resolves', async () => {
    const bus = new MemoryBus();
    const [one, two] = await Promise.all([startTestApp(PubSubTestModule, { pubsub: memoryPubSub({ bus }) }), startTestApp(PubSubTestModule, { pubsub: memoryPubSub({ bus }) })]);
    const heard: string[] = [];
    two.pubsub.subscribe('room', (msg) => void heard.push(msg.topic));
    await one.pubsub.broadcast('room', 'hello', 1);
    expect(heard).toEqual(['hello']);
  });

  it('serves one app: a second bootstrap with the same adapter fails', async () => {
    const adapter = memoryPubSub();
    await startTestApp(PubSubTestModule, { pubsub: adapter });
    await expect(startTestApp(PubSubTestModule, { pubsub: adapter })).rejects.toThrow(
      'This memoryPubSub() adapter is already used by an app; create one per app.',
    );
  });

  it('is stopped by app.close(): the bus no longer reaches the closed app', async () => {
    const bus = new MemoryBus();
    const [one, two] = await Promise.all([startTestApp(PubSubTestModule, { pubsub: memoryPubSub({ bus }) }), startTestApp(PubSubTestModule, { pubsub: memoryPubSub({ bus }) })]);
    const heard: string[] = [];
    two.pubsub.subscribe('room', (msg) => void heard.push(msg.topic));
    await one.pubsub.broadcast('room', 'before', null);
    await two.close();
    await one.pubsub.broadcast('room', 'after', null);
    expect(heard).toEqual(['before']);
  });
});
