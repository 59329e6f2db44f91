// PubSub on one node, as users call it: bound to a connection in a gateway (join, leave,
// broadcastFrom act on it, and its @OnInfo receives), unbound in services and app.pubsub
// (broadcast, subscribe, members).
import { describe, expect, it } from 'vitest';
import { Module, OnInfo, OnMessage, PubSub, WebSocket, memoryPubSub, reply, type Connection, type PubSubAdapter, type PubSubMessage } from 'vela';
import { NewsService, Peer, PubSubTestModule, connectMany, eventually, sorted } from './support.js';
import { startTestApp, type TestApp } from 'vela/testing';

const unbound = (method: string) =>
  `pubsub.${method}() needs a connection, and this PubSub was not injected into a gateway. ` +
  `Outside gateways, listen with pubsub.subscribe(channel, listener) and send with pubsub.broadcast().`;

function app(): Promise<TestApp> {
  return startTestApp(PubSubTestModule);
}

/**
 * memoryPubSub() as an adapter that routes by interest would be (redisPubSub): the node hears a
 * channel only once `open()` is called, as when Redis confirms a subscription.
 */
function routingByInterest(): { adapter: PubSubAdapter; open: () => void } {
  const inner = memoryPubSub();
  let open!: () => void;
  const heard = new Promise<void>((resolve) => (open = resolve));
  const adapter: PubSubAdapter = {
    name: 'interest',
    start: (node) => inner.start(node),
    publish: (envelope) => inner.publish(envelope),
    remoteMembers: (channel) => inner.remoteMembers(channel),
    interest: (_channel, interested) => (interested ? heard : undefined),
    stop: () => inner.stop(),
  };
  return { adapter, open };
}

describe('PubSub', () => {
  describe('#join', () => {
    it('makes the connection a member: its @OnInfo receives { channel, sender, topic, payload }', async () => {
      const a = await app();
      const [member, sender] = await connectMany(a, 2);
      await member.call('join', { channel: 'room' });
      await sender.call('join', { channel: 'room' });
      await sender.broadcast('room', 'new_comment', { text: 'hi' });
      expect(await member.next()).toEqual({ channel: 'room', sender: sender.id, topic: 'new_comment', payload: { text: 'hi' } });
    });

    it('twice is one membership: each message arrives once', async () => {
      const a = await app();
      const member = await Peer.connect(a);
      await member.call('join', { channel: 'room' });
      await member.call('join', { channel: 'room' });
      expect(a.pubsub.localMembers('room')).toEqual([member.id]);
      await member.broadcast('room', 'once');
      await member.broadcast('room', 'marker');
      expect((await member.take(2)).map((m) => m.topic)).toEqual(['once', 'marker']);
    });

    it("resolves once the node hears the channel from other nodes (with an adapter that routes by interest); membership starts at once", async () => {
      const { adapter, open } = routingByInterest();
      const a = await startTestApp(PubSubTestModule, { pubsub: adapter });
      const member = await Peer.connect(a);
      let joined = false;
      const joining = member.call('join', { channel: 'room' }).then((result) => ((joined = true), result));
      await eventually(() => a.pubsub.localMembers('room'), (ids) => ids.length === 1, 'the member in the channel');
      await Peer.connect(a); // a round trip through the server after the join ran
      expect(joined).toBe(false);
      open();
      expect(await joining).toEqual({ recovered: true, missed: 0 });
    });

    it('refuses a channel that is not a non-empty string', async () => {
      const a = await app();
      const member = await Peer.connect(a);
      await expect(member.call('join', { channel: '' })).rejects.toThrow('A channel name must be a non-empty string, got "".');
      await expect(member.call('join', {})).rejects.toThrow('A channel name must be a non-empty string, got undefined.');
    });

    it('without a connection (app.pubsub) throws, pointing to subscribe()', async () => {
      const a = await app();
      expect(() => a.pubsub.join('room')).toThrow(new Error(unbound('join')));
    });

    it('without a connection (injected into a service) throws, pointing to subscribe()', async () => {
      const a = await app();
      const service = a.get(NewsService);
      expect(service.pubsub).toBe(a.pubsub);
      expect(() => service.pubsub.join('news')).toThrow(new Error(unbound('join')));
    });
  });

  describe('#leave', () => {
    it('stops delivery to that connection; its other channels still deliver', async () => {
      const a = await app();
      const [leaver, sender] = await connectMany(a, 2, ['room', 'control']);
      await leaver.call('leave', { channel: 'room' });
      expect(a.pubsub.localMembers('room')).toEqual([sender.id]);
      await sender.broadcast('room', 'missed');
      await sender.broadcast('control', 'marker');
      expect(await leaver.next()).toMatchObject({ channel: 'control', topic: 'marker' });
    });

    it('of a channel never joined does nothing', async () => {
      const a = await app();
      const member = await Peer.connect(a, { join: ['room'] });
      await member.call('leave', { channel: 'elsewhere' });
      expect(a.pubsub.localMembers('room')).toEqual([member.id]);
    });

    it('without a connection throws, pointing to subscribe()', async () => {
      const a = await app();
      expect(() => a.pubsub.leave('room')).toThrow(new Error(unbound('leave')));
    });
  });

  describe('#broadcast', () => {
    it('reaches every member, the sender included (Nova’s semantics)', async () => {
      const a = await app();
      const peers = await connectMany(a, 3, ['room']);
      await peers[0]!.broadcast('room', 'hello', 42);
      for (const peer of peers) expect(await peer.next()).toEqual({ channel: 'room', sender: peers[0]!.id, topic: 'hello', payload: 42 });
    });

    it('reaches only the members of that channel', async () => {
      const a = await app();
      const [outside] = await connectMany(a, 1, ['lobby']);
      const [sender] = await connectMany(a, 1, ['room', 'lobby']);
      await sender!.broadcast('room', 'for-room');
      await sender!.broadcast('lobby', 'marker');
      expect((await outside!.next()).topic).toBe('marker');
    });

    it('from app.pubsub or a service has sender null', async () => {
      const a = await app();
      const member = await Peer.connect(a, { join: ['news'] });
      await a.pubsub.broadcast('news', 'from-app', 1);
      await a.get(NewsService).pubsub.broadcast('news', 'from-service', 2);
      expect(await member.take(2)).toEqual([
        { channel: 'news', sender: null, topic: 'from-app', payload: 1 },
        { channel: 'news', sender: null, topic: 'from-service', payload: 2 },
      ]);
    });

    it('gives every member the same frozen message', async () => {
      const a = await app();
      const seen: PubSubMessage[] = [];
      a.pubsub.subscribe('room', (msg) => void seen.push(msg));
      a.pubsub.subscribe('room', (msg) => void seen.push(msg));
      await a.pubsub.broadcast('room', 't', { n: 1 });
      expect(seen).toHaveLength(2);
      expect(seen[0]).toBe(seen[1]);
      expect(Object.isFrozen(seen[0])).toBe(true);
    });

    it("keeps every socket's frames in order when several broadcasts and its own sends meet in one tick", async () => {
      // A socket's first frame of a tick is written at once, the rest corked until the tick ends;
      // text frames of a broadcast are written ready-made, binary ones (never cached) through ws.
      @WebSocket('/order')
      class OrderGateway {
        constructor(private readonly pubsub: PubSub) {}

        init() {
          this.pubsub.join('order');
          return reply('joined');
        }

        @OnMessage()
        ignore() {}

        @OnInfo()
        relay(msg: PubSubMessage<string>, conn: Connection) {
          conn.send(Buffer.from(`before ${msg.payload}`));
          return reply(msg.payload, `after ${msg.payload}`);
        }
      }
      @Module({ gateways: [OrderGateway] })
      class OrderModule {}
      const a = await startTestApp(OrderModule);
      const clients = [await a.ws('/order'), await a.ws('/order')];
      for (const client of clients) expect(await client.recv()).toBe('joined');

      for (const n of ['1', '2', '3']) void a.pubsub.broadcast('order', 'tick', n);
      for (const client of clients) {
        const got = [];
        for (let i = 0; i < 9; i += 1) got.push(String(await client.recv()));
        expect(got).toEqual(['before 1', '1', 'after 1', 'before 2', '2', 'after 2', 'before 3', '3', 'after 3']);
      }
    });

    it('to a channel without members resolves', async () => {
      const a = await app();
      await expect(a.pubsub.broadcast('empty', 't', null)).resolves.toBeUndefined();
    });

    it('refuses a topic that is not a string', async () => {
      const a = await app();
      expect(() => a.pubsub.broadcast('room', 7 as unknown as string, null)).toThrow(
        new TypeError('The topic of a pub/sub message must be a string, got number.'),
      );
    });
  });

  describe('#broadcastFrom', () => {
    it('reaches every member except the calling connection', async () => {
      const a = await app();
      const [sender, ...others] = await connectMany(a, 3, ['room']);
      await sender!.call('broadcastFrom', { channel: 'room', topic: 'from', payload: 'x' });
      await sender!.broadcast('room', 'marker');
      for (const peer of others) {
        expect((await peer.take(2)).map((m) => [m.sender, m.topic])).toEqual([
          [sender!.id, 'from'],
          [sender!.id, 'marker'],
        ]);
      }
      expect((await sender!.next()).topic).toBe('marker');
    });

    it('without a connection throws, pointing to subscribe()', async () => {
      const a = await app();
      expect(() => a.pubsub.broadcastFrom('room', 't', null)).toThrow(new Error(unbound('broadcastFrom')));
    });
  });

  describe('#localBroadcast', () => {
    it('reaches the members on this node, synchronously', async () => {
      const a = await app();
      const member = await Peer.connect(a, { join: ['room'] });
      const heard: string[] = [];
      a.pubsub.subscribe('room', (msg) => void heard.push(msg.topic));
      expect(a.pubsub.localBroadcast('room', 'local', 1)).toBeUndefined();
      expect(heard).toEqual(['local']);
      expect(await member.next()).toEqual({ channel: 'room', sender: null, topic: 'local', payload: 1 });
    });

    it('from a gateway carries its connection as sender', async () => {
      const a = await app();
      const [sender, other] = await connectMany(a, 2, ['room']);
      await sender!.call('localBroadcast', { channel: 'room', topic: 'local', payload: null });
      expect(await other!.next()).toEqual({ channel: 'room', sender: sender!.id, topic: 'local', payload: null });
    });
  });

  describe('#members and #localMembers', () => {
    it('list the connection ids in the channel, not subscribe() listeners', async () => {
      const a = await app();
      const peers = await connectMany(a, 3, ['room']);
      await Peer.connect(a, { join: ['lobby'] });
      a.pubsub.subscribe('room', () => {});
      const ids = sorted(peers.map((p) => p.id));
      expect(sorted(await a.pubsub.members('room'))).toEqual(ids);
      expect(sorted(a.pubsub.localMembers('room'))).toEqual(ids);
      expect(await peers[0]!.call('members', { channel: 'room' })).toEqual(ids);
      expect(await peers[0]!.call('localMembers', { channel: 'room' })).toEqual(ids);
    });

    it('are empty for a channel nobody joined', async () => {
      const a = await app();
      expect(await a.pubsub.members('nobody')).toEqual([]);
      expect(a.pubsub.localMembers('nobody')).toEqual([]);
    });

    it('refuse an empty channel name', async () => {
      const a = await app();
      expect(() => a.pubsub.members('')).toThrow('A channel name must be a non-empty string, got "".');
      expect(() => a.pubsub.localMembers('')).toThrow('A channel name must be a non-empty string, got "".');
    });
  });

  describe('#subscribe', () => {
    it('calls the listener with every message of the channel, synchronously within broadcast()', async () => {
      const a = await app();
      const sender = await Peer.connect(a, { join: ['room'] });
      const heard: PubSubMessage[] = [];
      a.pubsub.subscribe('room', (msg) => void heard.push(msg));
      const sent = a.pubsub.broadcast('room', 'sync', 1);
      expect(heard).toEqual([{ channel: 'room', sender: null, topic: 'sync', payload: 1 }]);
      await sent;
      await sender.broadcast('room', 'from-gateway', 2);
      expect(heard[1]).toEqual({ channel: 'room', sender: sender.id, topic: 'from-gateway', payload: 2 });
    });

    it('returns the function that stops it; calling it again does nothing', async () => {
      const a = await app();
      const heard: string[] = [];
      const off = a.pubsub.subscribe('room', (msg) => void heard.push(msg.topic));
      const other: string[] = [];
      a.pubsub.subscribe('room', (msg) => void other.push(msg.topic));
      await a.pubsub.broadcast('room', 'before', null);
      off();
      off();
      await a.pubsub.broadcast('room', 'after', null);
      expect(heard).toEqual(['before']);
      expect(other).toEqual(['before', 'after']);
    });

    it('its ready settles once the node hears the channel from other nodes: at once on memoryPubSub, after the adapter\'s interest otherwise', async () => {
      expect(await (await app()).pubsub.subscribe('room', () => {}).ready).toBeUndefined();
      const { adapter, open } = routingByInterest();
      const a = await startTestApp(PubSubTestModule, { pubsub: adapter });
      const heard: unknown[] = [];
      const off = a.pubsub.subscribe('room', (msg) => void heard.push(msg.payload));
      let ready = false;
      void off.ready.then(() => (ready = true));
      await a.pubsub.broadcast('room', 'local', 1); // this node's own broadcasts reach it at once
      expect(heard).toEqual([1]);
      await Peer.connect(a); // time for a settled promise to have run its callbacks
      expect(ready).toBe(false);
      open();
      await off.ready;
      expect(ready).toBe(true);
    });

    it('is one subscription per call, even for the same listener', async () => {
      const a = await app();
      const heard: string[] = [];
      const listener = (msg: PubSubMessage) => void heard.push(msg.topic);
      const off = a.pubsub.subscribe('room', listener);
      a.pubsub.subscribe('room', listener);
      await a.pubsub.broadcast('room', 'twice', null);
      off();
      await a.pubsub.broadcast('room', 'once', null);
      expect(heard).toEqual(['twice', 'twice', 'once']);
    });

    it('works from a service’s PubSub', async () => {
      const a = await app();
      const heard: string[] = [];
      a.get(NewsService).pubsub.subscribe('news', (msg) => void heard.push(msg.topic));
      const member = await Peer.connect(a, { join: ['news'] });
      await member.broadcast('news', 'flash');
      expect(heard).toEqual(['flash']);
    });

    it('logs a listener that throws or rejects, and every other member still receives', async () => {
      const a = await app();
      const member = await Peer.connect(a, { join: ['room'] });
      const boom = new Error('listener exploded');
      const refused = new Error('listener rejected');
      a.pubsub.subscribe('room', () => {
        throw boom;
      });
      a.pubsub.subscribe('room', () => Promise.reject(refused));
      const heard: string[] = [];
      a.pubsub.subscribe('room', (msg) => void heard.push(msg.topic));
      await a.pubsub.broadcast('room', 'first', null);
      await a.pubsub.broadcast('room', 'second', null);
      expect(heard).toEqual(['first', 'second']);
      expect((await member.take(2)).map((m) => m.topic)).toEqual(['first', 'second']);
      // The throwing one stays subscribed: it failed on both messages, and so did the rejecting one.
      const failures = a.logs.entries.filter((e) => e.message === 'pub/sub listener failed');
      expect(failures).toHaveLength(4);
      for (const entry of failures) expect(entry.level).toBe('error');
      expect(failures.filter((e) => e.fields.error === boom)).toHaveLength(2);
      expect(failures.filter((e) => e.fields.error === refused)).toHaveLength(2);
      expect(failures.every((e) => e.fields.channel === 'room')).toBe(true);
      expect(member.unread).toBe(0);
    });

    it('refuses a listener that is not a function', async () => {
      const a = await app();
      expect(() => a.pubsub.subscribe('room', 'nope' as never)).toThrow(new TypeError(`subscribe('room', listener): the listener must be a function.`));
    });
  });
});

describe('@OnInfo', () => {
  it('with { channel, topic } takes only the messages whose fields match; the first match wins', async () => {
    const a = await app();
    const filtered = await Peer.connect(a, { path: '/filtered' });
    await filtered.call('join', { channel: 'news' });
    await filtered.call('join', { channel: 'sports' });
    await a.pubsub.broadcast('news', 'flash', 1);
    await a.pubsub.broadcast('sports', 'flash', 2);
    await a.pubsub.broadcast('news', 'weather', 3);
    await a.pubsub.broadcast('sports', 'score', 4);
    filtered.sendSelf({ custom: true });
    const got = await filtered.take<{ handler: string; message: { topic?: string } }>(5);
    expect(got.map((g) => [g.handler, g.message])).toEqual([
      ['newsFlash', { channel: 'news', sender: null, topic: 'flash', payload: 1 }],
      ['anyFlash', { channel: 'sports', sender: null, topic: 'flash', payload: 2 }],
      ['anyNews', { channel: 'news', sender: null, topic: 'weather', payload: 3 }],
      ['other', { channel: 'sports', sender: null, topic: 'score', payload: 4 }],
      ['other', { custom: true }],
    ]);
  });

  it('ignores a message no filter matches (logged at debug) and carries on', async () => {
    const a = await app();
    const peer = await Peer.connect(a, { path: '/only-flash' });
    await a.pubsub.broadcast('news', 'weather', 1);
    await a.pubsub.broadcast('news', 'flash', 2);
    expect(await peer.next<{ handler: string; message: PubSubMessage }>()).toEqual({
      handler: 'flash',
      message: { channel: 'news', sender: null, topic: 'flash', payload: 2 },
    });
    expect(a.logs.entries).toContainEqual(
      expect.objectContaining({ level: 'debug', message: 'websocket ignored an info message no @OnInfo filter matches: no handler takes it' }),
    );
  });
});
