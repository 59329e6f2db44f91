// The Hub, this node's half of pub/sub: local delivery in order per sender, and a connection's
// whole footprint (channels, registries, timers) gone once it closes.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PubSubEncodingError, memoryPubSub, type Envelope, type PubSubAdapter } from 'vela';
import { Hub } from '../../src/pubsub/hub.js';
import { Gate, IDLE_MS, Peer, PubSubTestModule, Tracker, connectMany, withHub } from './support.js';
import { startTestApp } from 'vela/testing';

afterEach(() => {
  vi.restoreAllMocks();
});

const EMPTY = { channels: 0, snapshots: 0, members: 0, connections: 0, sessions: 0 };

describe('Hub', () => {
  it('is the node the adapter is started with', async () => {
    const { adapter, hub } = withHub();
    await startTestApp(PubSubTestModule, { pubsub: adapter });
    expect(hub()).toBeInstanceOf(Hub);
    expect(hub().sizes).toEqual(EMPTY);
  });

  describe('and its adapter', () => {
    it('delivers locally even when the adapter fails to publish; the failure is logged, not thrown', async () => {
      const failing = new Error('cluster unreachable');
      const adapter: PubSubAdapter = { ...memoryPubSub(), name: 'flaky', publish: () => Promise.reject(failing) };
      const app = await startTestApp(PubSubTestModule, { pubsub: adapter });
      const member = await Peer.connect(app, { join: ['room'] });
      await expect(app.pubsub.broadcast('room', 'local-anyway', 1)).resolves.toBeUndefined();
      expect((await member.next()).topic).toBe('local-anyway');
      expect(app.logs.entries).toContainEqual({
        level: 'error',
        message: 'pub/sub could not reach the other nodes',
        fields: { adapter: 'flaky', type: 'message', error: failing },
      });
    });

    it('refuses a broadcast the adapter cannot encode: no local member gets it, the promise rejects, a warning is logged', async () => {
      const refusing: PubSubAdapter = {
        ...memoryPubSub(),
        name: 'refusing',
        publish: (envelope) => {
          throw new PubSubEncodingError(envelope, 'payload.n', 'is a BigInt, which JSON has no way to write', 'Send it as a string');
        },
      };
      const app = await startTestApp(PubSubTestModule, { pubsub: refusing });
      const member = await Peer.connect(app, { join: ['room'] });
      const refused = app.pubsub.broadcast('room', 'never', { n: 1n });
      await expect(refused).rejects.toThrow(
        "pubsub.broadcast('room', 'never', payload): the payload cannot be encoded as JSON for other nodes: payload.n is a BigInt, which JSON has no way to write. Send it as a string. Nothing was delivered.",
      );
      void app.pubsub.broadcast('room', 'never', { n: 2n }); // not awaited: no unhandled rejection
      app.pubsub.localBroadcast('room', 'local', 1); // this node only: nothing to encode
      expect((await member.next()).topic).toBe('local');
      expect(app.logs.entries.filter((entry) => entry.message.startsWith('pub/sub broadcast refused'))).toHaveLength(2);
    });

    it('drops (and logs) an envelope of a type it does not know', async () => {
      const { adapter, hub } = withHub();
      const app = await startTestApp(PubSubTestModule, { pubsub: adapter });
      const envelope = { type: 'from-the-future' } as unknown as Envelope;
      hub().receive(envelope);
      expect(app.logs.entries).toContainEqual({ level: 'warn', message: 'pub/sub dropped an envelope of an unknown type', fields: { envelope } });
    });
  });

  describe('delivery order', () => {
    const count = 1_000;
    const inOrder = Array.from({ length: count }, (_, seq) => seq);

    it('keeps the order of 1,000 messages from one sender, fired without awaiting, at 10 members', async () => {
      const app = await startTestApp(PubSubTestModule);
      const members = await connectMany(app, 10, ['room']);
      await members[3]!.call('burst', { channel: 'room', topic: 'seq', method: 'broadcast', count });
      for (const member of members) {
        const got = await member.take<{ sender: string; payload: { seq: number } }>(count);
        expect(got.every((m) => m.sender === members[3]!.id)).toBe(true);
        expect(got.map((m) => m.payload.seq)).toEqual(inOrder);
        expect(member.unread).toBe(0);
      }
    });

    it('keeps the order of 1,000 frames a client sends back to back, at 10 members', async () => {
      const app = await startTestApp(PubSubTestModule);
      const members = await connectMany(app, 10, ['room']);
      const sender = members[0]!;
      const acks = inOrder.map((seq) => sender.call('broadcast', { channel: 'room', topic: 'seq', payload: seq }));
      await Promise.all(acks);
      for (const member of members) expect((await member.take<{ payload: number }>(count)).map((m) => m.payload)).toEqual(inOrder);
    });

    it('keeps each sender’s order when senders interleave', async () => {
      const app = await startTestApp(PubSubTestModule);
      const members = await connectMany(app, 10, ['room']);
      const senders = members.slice(0, 3);
      await Promise.all(senders.map((s) => s.call('burst', { channel: 'room', topic: 'seq', method: 'broadcastFrom', count })));
      for (const member of members) {
        const got = await member.take<{ sender: string; payload: { seq: number } }>(count * 2 + (senders.includes(member) ? 0 : count));
        for (const sender of senders) {
          const own = got.filter((m) => m.sender === sender.id).map((m) => m.payload.seq);
          expect(own).toEqual(sender === member ? [] : inOrder);
        }
      }
    });
  });

  describe('membership changing during a delivery', () => {
    it('a member that leaves and re-joins while it is being delivered to receives the message once', async () => {
      const app = await startTestApp(PubSubTestModule);
      const other: string[] = [];
      app.pubsub.subscribe('room', (msg) => void other.push(msg.topic));
      const heard: string[] = [];
      const listen = () => {
        const off = app.pubsub.subscribe('room', (msg) => {
          heard.push(msg.topic);
          if (heard.length > 10) throw new Error('delivered again and again');
          off();
          listen();
        });
      };
      listen();
      await app.pubsub.broadcast('room', 'first', null);
      await app.pubsub.broadcast('room', 'second', null);
      expect(heard).toEqual(['first', 'second']);
      expect(other).toEqual(['first', 'second']);
    });

    it('a listener subscribed during a delivery receives only later messages', async () => {
      const app = await startTestApp(PubSubTestModule);
      const late: string[] = [];
      let subscribed = false;
      app.pubsub.subscribe('room', () => {
        if (subscribed) return;
        subscribed = true;
        app.pubsub.subscribe('room', (msg) => void late.push(msg.topic));
      });
      await app.pubsub.broadcast('room', 'first', null);
      await app.pubsub.broadcast('room', 'second', null);
      expect(late).toEqual(['second']);
    });

    it('a listener unsubscribed during a delivery is not called with it', async () => {
      const app = await startTestApp(PubSubTestModule);
      const heard: string[] = [];
      let offLater = () => {};
      app.pubsub.subscribe('room', () => offLater());
      offLater = app.pubsub.subscribe('room', (msg) => void heard.push(msg.topic));
      await app.pubsub.broadcast('room', 'first', null);
      expect(heard).toEqual([]);
    });
  });

  describe('encoding', () => {
    it('encodes the frame every member replies with once per broadcast, not once per member', async () => {
      const app = await startTestApp(PubSubTestModule);
      const members = await connectMany(app, 10, ['room']);
      const stringify = vi.spyOn(JSON, 'stringify');
      await app.pubsub.broadcast('room', 'once', { big: 'x'.repeat(1000) });
      await app.pubsub.broadcast('room', 'twice', { big: 'y'.repeat(1000) });
      const encoded = stringify.mock.calls.map((call) => (call[0] as { topic?: unknown } | null)?.topic).filter((topic) => topic !== undefined);
      stringify.mockRestore();
      expect(encoded).toEqual(['once', 'twice']);
      for (const member of members) expect((await member.take(2)).map((m) => m.topic)).toEqual(['once', 'twice']);
    });
  });

  describe('a closing connection', () => {
    it('leaves every channel it joined, and leaves the others’ membership alone', async () => {
      const { adapter, hub } = withHub();
      const app = await startTestApp(PubSubTestModule, { pubsub: adapter });
      const stays = await Peer.connect(app, { join: ['a'] });
      const goes = await Peer.connect(app, { join: ['a', 'b', 'c'] });
      expect(hub().sizes).toMatchObject({ channels: 3, members: 2, connections: 2 });
      await goes.close();
      await app.get(Tracker).until([goes.id]);
      for (const channel of ['b', 'c']) expect(await app.pubsub.members(channel)).toEqual([]);
      expect(await app.pubsub.members('a')).toEqual([stays.id]);
      expect(hub().sizes).toMatchObject({ channels: 1, members: 1, connections: 1 });
      expect(hub().sizes.sessions).toBeLessThanOrEqual(1);
      await app.pubsub.broadcast('a', 'still-here', null);
      expect((await stays.next()).topic).toBe('still-here');
    });

    it('that joins after it closed (an async handler still running) is not left in the channel', async () => {
      const { adapter, hub } = withHub();
      const app = await startTestApp(PubSubTestModule, { pubsub: adapter });
      const peer = await Peer.connect(app);
      void peer.call('joinAfterGate', { channel: 'room' }).catch(() => {});
      await app.get(Gate).entered;
      await peer.close();
      app.get(Gate).release();
      // terminate runs once the handler that was running has finished, its join included.
      await app.get(Tracker).until([peer.id]);
      expect(await app.pubsub.members('room')).toEqual([]);
      expect(hub().sizes).toEqual(EMPTY);
    });

    it('closed by the server (stop, app.close) leaves too', async () => {
      const { adapter, hub } = withHub();
      const app = await startTestApp(PubSubTestModule, { pubsub: adapter });
      const peers = await connectMany(app, 3, ['room']);
      await app.close();
      for (const peer of peers) expect((await peer.closed).code).toBe(1001);
      expect(await app.pubsub.members('room')).toEqual([]);
      expect(hub().sizes).toEqual(EMPTY);
    });

    it('leaves no channel, registry entry, listener or timer behind after 2,000 connect/close cycles', async () => {
      const setTimer = vi.spyOn(globalThis, 'setTimeout');
      const clearTimer = vi.spyOn(globalThis, 'clearTimeout');
      const { adapter, hub } = withHub();
      const app = await startTestApp(PubSubTestModule, { pubsub: adapter });
      const tracker = app.get(Tracker);
      const watcher = await Peer.connect(app, { join: ['room'] });
      const cycles = 2_000;
      const batch = 50;
      for (let first = 0; first < cycles; first += batch) {
        const peers = await Promise.all(
          Array.from({ length: batch }, (_, i) => Peer.connect(app, { join: ['room', 'lobby', `own-${first + i}`] })),
        );
        if (first === 0) {
          // Each client comes without a cookie, so (with sessions on) each is a session of its own.
          expect(hub().sizes).toMatchObject({ channels: 2 + batch, members: 1 + batch, connections: 1 + batch });
          expect(hub().sizes.sessions).toBeLessThanOrEqual(1 + batch);
          expect(await app.pubsub.members('room')).toHaveLength(1 + batch);
        }
        await Promise.all(peers.map((peer) => peer.close()));
      }
      await tracker.until(cycles);

      expect(hub().sizes).toMatchObject({ channels: 1, members: 1, connections: 1 });
      expect(hub().sizes.sessions).toBeLessThanOrEqual(1);
      expect(await app.pubsub.members('room')).toEqual([watcher.id]);
      expect(await app.pubsub.members('lobby')).toEqual([]);
      expect(await app.pubsub.members('own-0')).toEqual([]);
      // Every connection's idle timer was cleared when it closed (the watcher's is still running).
      const idleTimers = setTimer.mock.calls.flatMap((call, i) => (call[1] === IDLE_MS ? [setTimer.mock.results[i]!.value as unknown] : []));
      expect(idleTimers).toHaveLength(cycles + 1);
      const cleared = new Set(clearTimer.mock.calls.map((call) => call[0] as unknown));
      expect(idleTimers.filter((timer) => !cleared.has(timer))).toHaveLength(1);

      await watcher.close();
      await tracker.until([watcher.id]);
      expect(hub().sizes).toEqual(EMPTY);
      // The watcher received nothing: no broadcast was sent, and joins and leaves are not messages.
      expect(watcher.unread).toBe(0);
    });

    it('a subscribe() listener is gone from the maps once unsubscribed', async () => {
      const { adapter, hub } = withHub();
      const app = await startTestApp(PubSubTestModule, { pubsub: adapter });
      const offs = Array.from({ length: 100 }, (_, i) => app.pubsub.subscribe(`ch-${i % 10}`, () => {}));
      expect(hub().sizes).toEqual({ channels: 10, snapshots: 0, members: 100, connections: 0, sessions: 0 });
      for (const off of offs) off();
      expect(hub().sizes).toEqual(EMPTY);
    });
  });
});
