// The one suite every pub/sub adapter runs (Phoenix's test/shared/pubsub_test.exs): real apps,
// one per node, joined into a cluster by the adapters under test, with clients on each node.
// The core owns local delivery, so what this checks is what an adapter adds: messages and
// membership carried between nodes, in order, never echoed, and nothing carried after stop().
//
//   describeAdapterContract('memory', (count) => { const bus = new MemoryBus(); return … memoryPubSub({ bus }) });
//   describeAdapterContract('redis', (count) => Array.from({ length: count }, () => redisPubSub({ url })));
import { describe, expect, it } from 'vitest';
import { PubSubEncodingError, type PubSubAdapter, type PubSubMessage } from 'vela';
import { Peer, PubSubTestModule, Tracker, eventually, sorted } from './support.js';
import { startTestApp, type TestApp } from 'vela/testing';

/** `count` adapters that form one cluster; each is given to its own app. */
export type MakeAdapters = (count: number) => PubSubAdapter[] | Promise<PubSubAdapter[]>;

export function describeAdapterContract(name: string, makeAdapters: MakeAdapters): void {
  describe(`${name} adapter (shared pub/sub contract)`, () => {
    async function cluster(count = 3): Promise<TestApp[]> {
      const adapters = await makeAdapters(count);
      if (adapters.length !== count) throw new Error(`makeAdapters(${count}) returned ${adapters.length} adapters`);
      return Promise.all(adapters.map((pubsub) => startTestApp(PubSubTestModule, { pubsub })));
    }

    /** Every node sees exactly `peers` in `channel` (membership may travel asynchronously). */
    async function converged(apps: readonly TestApp[], channel: string, peers: readonly Peer[]): Promise<void> {
      const want = sorted(peers.map((peer) => peer.id));
      for (const app of apps) {
        await eventually(() => app.pubsub.members(channel), (ids) => sorted(ids).join() === want.join(), `members('${channel}') = ${want}`);
      }
    }

    /** One client per app, each joined to `channel`, and membership visible everywhere. */
    async function peerPerNode(apps: readonly TestApp[], channel: string): Promise<Peer[]> {
      const peers = await Promise.all(apps.map((app) => Peer.connect(app, { join: [channel] })));
      await converged(apps, channel, peers);
      return peers;
    }

    it('has a name, and an app starts and closes with it', async () => {
      const [adapter] = await makeAdapters(1);
      expect(typeof adapter!.name).toBe('string');
      expect(adapter!.name).not.toBe('');
      const app = await startTestApp(PubSubTestModule, { pubsub: adapter! });
      expect(await app.pubsub.members('room')).toEqual([]);
      await app.close();
    });

    describe('#broadcast', () => {
      it('reaches the members on every node, the sender included', async () => {
        const apps = await cluster();
        const [a, b, c] = await peerPerNode(apps, 'room');
        const payload = { text: 'héllo ✓', n: 1.5, list: [1, null, 'x'], nested: { ok: true } };
        await a!.broadcast('room', 'said', payload);
        const expected: PubSubMessage = { channel: 'room', sender: a!.id, topic: 'said', payload };
        for (const peer of [a!, b!, c!]) expect(await peer.next()).toEqual(expected);
      });

      it('refuses a payload JSON cannot carry (PubSubEncodingError, nothing delivered on any node), and carries the next one', async () => {
        const apps = await cluster(2);
        const [a, b] = await peerPerNode(apps, 'room');
        const cycle: Record<string, unknown> = {};
        cycle.self = cycle;
        for (const payload of [{ n: 1n }, cycle]) {
          await expect(apps[0]!.pubsub.broadcast('room', 'bad', payload)).rejects.toBeInstanceOf(PubSubEncodingError);
        }
        await apps[0]!.pubsub.broadcast('room', 'good', 1);
        for (const peer of [a!, b!]) expect((await peer.next()).topic).toBe('good');
      });

      it('carries messages without a sender (app.pubsub) with sender null', async () => {
        const apps = await cluster();
        const [a, b] = await peerPerNode(apps, 'room');
        await apps[2]!.pubsub.broadcast('room', 'notice', 'from a job');
        for (const peer of [a!, b!]) expect(await peer.next()).toEqual({ channel: 'room', sender: null, topic: 'notice', payload: 'from a job' });
      });

      it('delivers each message once on every node: an adapter never echoes back to its sender', async () => {
        const apps = await cluster(2);
        const [a, neighbour] = [await Peer.connect(apps[0]!, { join: ['room'] }), await Peer.connect(apps[0]!, { join: ['room'] })];
        const far = await Peer.connect(apps[1]!, { join: ['room'] });
        await converged(apps, 'room', [a, neighbour, far]);
        await a.broadcast('room', 'once');
        await a.broadcast('room', 'marker');
        for (const peer of [a, neighbour, far]) expect((await peer.take(2)).map((m) => m.topic)).toEqual(['once', 'marker']);
      });

      it('reaches only the members of that channel', async () => {
        const apps = await cluster(2);
        const inRoom = await Peer.connect(apps[1]!, { join: ['room'] });
        const elsewhere = await Peer.connect(apps[1]!, { join: ['lobby'] });
        const sender = await Peer.connect(apps[0]!, { join: ['room', 'lobby'] });
        await converged(apps, 'room', [inRoom, sender]);
        await converged(apps, 'lobby', [elsewhere, sender]);
        await sender.broadcast('room', 'for-room');
        await sender.broadcast('lobby', 'marker');
        expect((await elsewhere.next()).topic).toBe('marker');
        expect((await inRoom.next()).topic).toBe('for-room');
      });
    });

    describe('#broadcastFrom', () => {
      it('reaches every member on every node except the sending connection', async () => {
        const apps = await cluster();
        const [a, b, c] = await peerPerNode(apps, 'room');
        const neighbour = await Peer.connect(apps[0]!, { join: ['room'] });
        await converged(apps, 'room', [a!, b!, c!, neighbour]);
        await a!.call('broadcastFrom', { channel: 'room', topic: 'from', payload: 1 });
        await a!.broadcast('room', 'marker');
        for (const peer of [b!, c!, neighbour]) {
          expect(await peer.take(2)).toEqual([
            { channel: 'room', sender: a!.id, topic: 'from', payload: 1 },
            { channel: 'room', sender: a!.id, topic: 'marker', payload: null },
          ]);
        }
        expect((await a!.next()).topic).toBe('marker');
      });
    });

    describe('#localBroadcast', () => {
      it('stays on the node it was sent from', async () => {
        const apps = await cluster();
        const [a, b, c] = await peerPerNode(apps, 'room');
        const neighbour = await Peer.connect(apps[0]!, { join: ['room'] });
        await converged(apps, 'room', [a!, b!, c!, neighbour]);
        const heardElsewhere: string[] = [];
        await apps[1]!.pubsub.subscribe('room', (msg) => void heardElsewhere.push(msg.topic)).ready;
        await a!.call('localBroadcast', { channel: 'room', topic: 'local', payload: 'here' });
        await a!.broadcast('room', 'marker');
        for (const peer of [a!, neighbour]) expect((await peer.take(2)).map((m) => m.topic)).toEqual(['local', 'marker']);
        for (const peer of [b!, c!]) expect((await peer.next()).topic).toBe('marker');
        expect(heardElsewhere).toEqual(['marker']);
      });
    });

    describe('#members', () => {
      it('lists the connections of every node, and not subscribe() listeners', async () => {
        const apps = await cluster();
        const peers = await peerPerNode(apps, 'room');
        const second = await Peer.connect(apps[1]!, { join: ['room'] });
        apps[2]!.pubsub.subscribe('room', () => {});
        await converged(apps, 'room', [...peers, second]);
        expect(sorted(await peers[0]!.call<string[]>('members', { channel: 'room' }))).toEqual(sorted([...peers, second].map((p) => p.id)));
        expect(sorted(apps[1]!.pubsub.localMembers('room'))).toEqual(sorted([peers[1]!.id, second.id]));
        expect(await apps[0]!.pubsub.members('nobody-here')).toEqual([]);
      });

      it('drops a connection that left or closed, on every node', async () => {
        const apps = await cluster();
        const [a, b, c] = await peerPerNode(apps, 'room');
        await b!.call('leave', { channel: 'room' });
        await converged(apps, 'room', [a!, c!]);
        await c!.close();
        await apps[2]!.get(Tracker).until([c!.id]);
        await converged(apps, 'room', [a!]);
      });

      it('drops the members of a closed app', async () => {
        const apps = await cluster();
        const [a, b, c] = await peerPerNode(apps, 'room');
        await apps[2]!.close();
        expect((await c!.closed).code).toBe(1001);
        await converged(apps.slice(0, 2), 'room', [a!, b!]);
      });
    });

    describe('#subscribe', () => {
      it('a listener on another node receives what gateways and app.pubsub broadcast', async () => {
        const apps = await cluster();
        const [a] = await peerPerNode(apps.slice(0, 1), 'room');
        const heard: PubSubMessage[] = [];
        let bothArrived!: () => void;
        const arrived = new Promise<void>((resolve) => (bothArrived = resolve));
        // Awaited: with an adapter that routes by interest, the node hears 'room' from then on.
        await apps[1]!.pubsub.subscribe('room', (msg) => {
          heard.push(msg);
          if (heard.length === 2) bothArrived();
        }).ready;
        await a!.broadcast('room', 'from-gateway', { n: 1 });
        await apps[2]!.pubsub.broadcast('room', 'from-app', [2]);
        await arrived;
        // Two senders on two nodes: each arrives, in no promised order between them.
        expect(heard).toHaveLength(2);
        expect(heard).toContainEqual({ channel: 'room', sender: a!.id, topic: 'from-gateway', payload: { n: 1 } });
        expect(heard).toContainEqual({ channel: 'room', sender: null, topic: 'from-app', payload: [2] });
      });

      it('stops on another node once unsubscribed', async () => {
        const apps = await cluster(2);
        const heard: string[] = [];
        const off = apps[1]!.pubsub.subscribe('room', (msg) => void heard.push(msg.topic));
        let markerArrived!: () => void;
        const marker = new Promise<void>((resolve) => (markerArrived = resolve));
        await Promise.all([off.ready, apps[1]!.pubsub.subscribe('control', () => markerArrived()).ready]);
        await apps[0]!.pubsub.broadcast('room', 'before', null);
        await eventually(() => heard.length, (n) => n === 1, 'the first message');
        off();
        await apps[0]!.pubsub.broadcast('room', 'after', null);
        await apps[0]!.pubsub.broadcast('control', 'marker', null);
        await marker;
        expect(heard).toEqual(['before']);
      });
    });

    describe('ordering', () => {
      it('keeps the order of 1,000 messages per sender across nodes', async () => {
        const apps = await cluster();
        const [a, b, c] = await peerPerNode(apps, 'room');
        const count = 1_000;
        const listened: PubSubMessage<{ seq: number }>[] = [];
        let heardAll!: () => void;
        const allHeard = new Promise<void>((resolve) => (heardAll = resolve));
        await apps[2]!.pubsub.subscribe<{ seq: number }>('room', (msg) => {
          listened.push(msg);
          if (listened.length === 2 * count) heardAll();
        }).ready;
        // Two senders on two nodes at once, each firing without awaiting in between.
        await Promise.all([a!.call('burst', { channel: 'room', topic: 'seq', method: 'broadcast', count }), b!.call('burst', { channel: 'room', topic: 'seq', method: 'broadcast', count })]);
        const inOrder = Array.from({ length: count }, (_, seq) => seq);
        for (const peer of [a!, b!, c!]) {
          const got = await peer.take<PubSubMessage<{ seq: number }>>(2 * count);
          for (const sender of [a!, b!]) expect(got.filter((m) => m.sender === sender.id).map((m) => m.payload.seq)).toEqual(inOrder);
        }
        await allHeard;
        for (const sender of [a!, b!]) expect(listened.filter((m) => m.sender === sender.id).map((m) => m.payload.seq)).toEqual(inOrder);
      });
    });

    describe('#stop (app.close())', () => {
      it('a closed app receives nothing more; the rest of the cluster carries on', async () => {
        const apps = await cluster();
        const heardByClosed: string[] = [];
        apps[2]!.pubsub.subscribe('room', (msg) => void heardByClosed.push(msg.topic));
        const heardByLive: string[] = [];
        let live!: () => void;
        const liveHeard = new Promise<void>((resolve) => (live = resolve));
        await apps[1]!.pubsub.subscribe('room', (msg) => {
          heardByLive.push(msg.topic);
          if (msg.topic === 'marker') live();
        }).ready;
        await apps[2]!.close();
        await apps[0]!.pubsub.broadcast('room', 'after-close', null);
        await apps[0]!.pubsub.broadcast('room', 'marker', null);
        await liveHeard;
        expect(heardByLive).toEqual(['after-close', 'marker']);
        expect(heardByClosed).toEqual([]);
      });
    });
  });
}
