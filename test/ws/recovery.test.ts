// Recovery on join with memoryPubSub: a client that comes back with its last position gets what it
// missed through @OnInfo, in order, once, before the live messages, or `recovered: false` and nothing
// partial. Real sockets; the link is cut from the server side, as a dying network would.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryBus, Module, PubSub, WebSocket, json, memoryPubSub, reply, type PubSubAdapter, type PubSubMessage } from 'vela';
import { startTestApp, type TestApp } from 'vela/testing';
import { Connections, LiveGateway, connectLive, cutLinks, livePath, newClientId, recvDeliveries, recvDelivery, seqs } from '../fixtures/history.js';

function moduleWith(history: { size: number; ttl: number }) {
  @Module({ gateways: [LiveGateway], providers: [Connections], channels: { comments: { history } } })
  class HistoryModule {}
  return HistoryModule;
}

const KEEP_1000 = { size: 1_000, ttl: 120_000 };

async function publish(app: TestApp, from: number, count: number): Promise<void> {
  await Promise.all(seqs(from, count).map((seq) => app.pubsub.broadcast('comments', 'said', { seq })));
}

afterEach(() => {
  vi.useRealTimers();
});

/** Publishes one message and resolves with its position, as a listener saw it. */
async function firstPosition(app: TestApp): Promise<string> {
  const seen = new Promise<string>((resolve) => {
    const stop = app.pubsub.subscribe('comments', (message) => {
      stop();
      resolve(message.position!);
    });
  });
  await publish(app, 100, 1);
  return seen;
}

/** The real memory adapter, with its next history read held until the test lets it go. */
function heldReads() {
  const inner = memoryPubSub();
  let enter!: () => void;
  let release!: () => void;
  const reading = new Promise<void>((resolve) => (enter = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  let hold = false;
  const adapter: PubSubAdapter = {
    ...inner,
    history: {
      append: (message, options) => inner.history!.append(message, options),
      since: async (channel, position, options) => {
        if (hold) {
          enter();
          await released;
        }
        return inner.history!.since(channel, position, options);
      },
    },
  };
  return { adapter, holdNextRead: () => (hold = true), reading, release };
}

describe('channel history on one node (memoryPubSub)', () => {
  it('gives every broadcast a position, the same for every member, and precedes each delivery with its vela:at marker', async () => {
    const app = await startTestApp(moduleWith(KEEP_1000));
    const a = await connectLive(app, newClientId());
    const b = await connectLive(app, newClientId());
    expect(a.joined).toEqual({ recovered: true, missed: 0 });
    await publish(app, 1, 3);
    const toA = await recvDeliveries(a.ws, 3);
    const toB = await recvDeliveries(b.ws, 3);
    expect(toA.map((d) => d.seq)).toEqual([1, 2, 3]);
    expect(toB).toEqual(toA);
    expect(new Set(toA.map((d) => d.position)).size).toBe(3);
    expect(toA.every((d) => d.position.length <= 100)).toBe(true);
  });

  it('replays the 500 broadcasts of a cut, once and in order, before the next live one', async () => {
    const app = await startTestApp(moduleWith(KEEP_1000));
    const clientId = newClientId();
    const first = await connectLive(app, clientId);
    await publish(app, 1, 20);
    const seen = await recvDeliveries(first.ws, 20);
    await cutLinks(app.get(Connections), [first.ws]);
    await publish(app, 21, 500);

    const again = await connectLive(app, clientId, { comments: seen.at(-1)!.position });
    expect(again.recover).toEqual({ channel: 'comments', recovered: true, missed: 500 });
    expect(again.joined).toEqual({ recovered: true, missed: 500 });
    const replayed = await recvDeliveries(again.ws, 500);
    expect(replayed.map((d) => d.seq)).toEqual(seqs(21, 500));
    await publish(app, 521, 1);
    expect((await recvDelivery(again.ws)).seq).toBe(521);
    await again.ws.expectNoMessage(50);
  });

  it('recovers on another app sharing the MemoryBus: the publisher on one, the client back on the other', async () => {
    const bus = new MemoryBus();
    const publisher = await startTestApp(moduleWith(KEEP_1000), { pubsub: memoryPubSub({ bus }) });
    const other = await startTestApp(moduleWith(KEEP_1000), { pubsub: memoryPubSub({ bus }) });
    const clientId = newClientId();
    const first = await connectLive(publisher, clientId);
    await publish(publisher, 1, 5);
    const seen = await recvDeliveries(first.ws, 5);
    await cutLinks(publisher.get(Connections), [first.ws]);
    await publish(publisher, 6, 50);

    const again = await connectLive(other, clientId, { comments: seen.at(-1)!.position });
    expect(again.recover).toEqual({ channel: 'comments', recovered: true, missed: 50 });
    expect((await recvDeliveries(again.ws, 50)).map((d) => d.seq)).toEqual(seqs(6, 50));
    await publish(publisher, 56, 1);
    expect((await recvDelivery(again.ws)).seq).toBe(56);
  });

  it('reports recovered: false and replays nothing when more were missed than the history keeps', async () => {
    const app = await startTestApp(moduleWith({ size: 5, ttl: 120_000 }));
    const clientId = newClientId();
    const first = await connectLive(app, clientId);
    await publish(app, 1, 1);
    const [seen] = await recvDeliveries(first.ws, 1);
    await cutLinks(app.get(Connections), [first.ws]);
    await publish(app, 2, 6);

    const again = await connectLive(app, clientId, { comments: seen!.position });
    expect(again.recover).toEqual({ channel: 'comments', recovered: false, missed: 0 });
    expect(again.joined).toEqual({ recovered: false, missed: 0 });
    await publish(app, 8, 1);
    expect((await recvDelivery(again.ws)).seq).toBe(8); // live at once, nothing partial before it
  });

  it('reports recovered: false once the missed messages are older than the ttl', async () => {
    const app = await startTestApp(moduleWith({ size: 100, ttl: 60_000 }));
    const clientId = newClientId();
    const first = await connectLive(app, clientId);
    await publish(app, 1, 1);
    const [seen] = await recvDeliveries(first.ws, 1);
    await cutLinks(app.get(Connections), [first.ws]);
    await publish(app, 2, 3);
    // The clock moves past the ttl; sockets and timers keep real time.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 60_001);

    const again = await connectLive(app, clientId, { comments: seen!.position });
    expect(again.recover).toEqual({ channel: 'comments', recovered: false, missed: 0 });
    await publish(app, 5, 1);
    expect((await recvDelivery(again.ws)).seq).toBe(5);
  });

  it('reports recovered: false for a position of another epoch (a restarted process) or one it never made', async () => {
    const before = await startTestApp(moduleWith(KEEP_1000));
    const clientId = newClientId();
    const first = await connectLive(before, clientId);
    await publish(before, 1, 1);
    const [seen] = await recvDeliveries(first.ws, 1);
    await before.close();

    const restarted = await startTestApp(moduleWith(KEEP_1000));
    await publish(restarted, 2, 3);
    const again = await connectLive(restarted, clientId, { comments: seen!.position });
    expect(again.recover).toEqual({ channel: 'comments', recovered: false, missed: 0 });
    const forged = await connectLive(restarted, newClientId(), { comments: 'not-a-position' });
    expect(forged.recover).toEqual({ channel: 'comments', recovered: false, missed: 0 });
    await publish(restarted, 5, 1);
    expect((await recvDelivery(again.ws)).seq).toBe(5);
    expect((await recvDelivery(forged.ws)).seq).toBe(5);
  });

  it('delivers once a broadcast published while the history read is in flight', async () => {
    const { adapter, holdNextRead, reading, release } = heldReads();
    const app = await startTestApp(moduleWith(KEEP_1000), { pubsub: adapter });
    const clientId = newClientId();
    const first = await connectLive(app, clientId);
    await publish(app, 1, 2);
    const seen = await recvDeliveries(first.ws, 2);
    await cutLinks(app.get(Connections), [first.ws]);
    await publish(app, 3, 3);

    holdNextRead();
    const again = connectLive(app, clientId, { comments: seen.at(-1)!.position });
    await reading;
    await publish(app, 6, 2); // kept before the read runs, and delivered live to the joined member
    release();
    const { ws, recover } = await again;
    expect(recover).toEqual({ channel: 'comments', recovered: true, missed: 5 });
    expect((await recvDeliveries(ws, 5)).map((d) => d.seq)).toEqual([3, 4, 5, 6, 7]);
    await publish(app, 8, 1);
    expect((await recvDelivery(ws)).seq).toBe(8);
    await ws.expectNoMessage(50);
  });

  it('gives up with recovered: false, and delivers what it held, when more arrive during the read than the history keeps', async () => {
    const { adapter, holdNextRead, reading, release } = heldReads();
    const app = await startTestApp(moduleWith({ size: 5, ttl: 120_000 }), { pubsub: adapter });
    const clientId = newClientId();
    const first = await connectLive(app, clientId);
    await publish(app, 1, 1);
    const [seen] = await recvDeliveries(first.ws, 1);
    await cutLinks(app.get(Connections), [first.ws]);

    holdNextRead();
    const again = connectLive(app, clientId, { comments: seen!.position });
    await reading;
    // Six held while the read waits: more than the history's five, so no replay could be gap-free.
    await publish(app, 2, 6);
    const { ws, recover } = await again;
    expect(recover).toEqual({ channel: 'comments', recovered: false, missed: 0 });
    expect((await recvDeliveries(ws, 6)).map((d) => d.seq)).toEqual([2, 3, 4, 5, 6, 7]);
    release();
    await publish(app, 8, 1);
    expect((await recvDelivery(ws)).seq).toBe(8);
  });

  it('delivers nothing of a channel the gateway left while its history was read', async () => {
    const { adapter, holdNextRead, reading, release } = heldReads();
    @WebSocket('/live')
    class LeavingGateway {
      constructor(private readonly pubsub: PubSub) {}

      async init() {
        const joining = this.pubsub.join('comments');
        this.pubsub.leave('comments');
        return reply(json({ joined: await joining }));
      }
    }
    @Module({ gateways: [LeavingGateway], channels: { comments: { history: KEEP_1000 } } })
    class LeavingModule {}
    const app = await startTestApp(LeavingModule, { pubsub: adapter });
    const position = await firstPosition(app);
    await publish(app, 1, 3); // what a replay would bring

    holdNextRead();
    const ws = await app.ws(livePath(newClientId(), { comments: position }));
    await reading;
    release();
    expect(await ws.recvJson()).toEqual({ joined: { recovered: false, missed: 0 } });
    await publish(app, 4, 1);
    await ws.expectNoMessage(50);
  });

  it('tells a join without a position nothing, and a gateway awaiting join gets { recovered: true, missed: 0 }', async () => {
    const app = await startTestApp(moduleWith(KEEP_1000));
    const { ws, joined } = await connectLive(app, newClientId());
    expect(joined).toEqual({ recovered: true, missed: 0 });
    await ws.expectNoMessage(50);
  });
});

describe('msg.position', () => {
  it('is undefined on channels without history, and no marker precedes their frames', async () => {
    const app = await startTestApp(moduleWith(KEEP_1000));
    const { ws } = await connectLive(app, newClientId(), undefined, '&channel=plain');
    await app.pubsub.broadcast('plain', 'said', { seq: 1 });
    expect(await ws.recvJson()).toEqual({ seq: 1, position: null });
    const heard: PubSubMessage[] = [];
    app.pubsub.subscribe('comments', (message) => void heard.push(message));
    await publish(app, 2, 1);
    expect(heard[0]!.position).toMatch(/^[0-9a-f]+:1$/);
  });

  it('sends no marker to a client that is not vela/client (no vela_client): it gets the frames as the app wrote them', async () => {
    const app = await startTestApp(moduleWith(KEEP_1000));
    const ws = await app.ws('/live');
    expect(await ws.recvJson()).toEqual({ joined: { recovered: true, missed: 0 } });
    await publish(app, 1, 2);

    const frames = [await ws.recv(), await ws.recv()];
    expect(frames.map((frame) => JSON.parse(String(frame)) as { seq: number }).map((frame) => frame.seq)).toEqual([1, 2]);
  });
});
