// Channel history on redisPubSub: two apps on the real Redis, the publisher on one, the client cut
// from the other and back on either; a stream racing the reconnect; beyond the window (size, ttl);
// history lost (the test prefix's keys deleted: never FLUSHALL, other tests share this Redis).
import { describe, expect, it } from 'vitest';
import { Module, redisPubSub } from 'vela';
import { startTestApp, type TestApp } from 'vela/testing';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { rawRedis, testPrefix } from './support.js';
import { Connections, LiveGateway, connectLive, cutLinks, newClientId, recvDeliveries, recvDelivery, seqs } from '../fixtures/history.js';

function moduleWith(history: { size: number; ttl: number }) {
  @Module({ gateways: [LiveGateway], providers: [Connections], channels: { comments: { history } } })
  class HistoryModule {}
  return HistoryModule;
}

const KEEP_1000 = { size: 1_000, ttl: 120_000 };

async function twoNodes(history = KEEP_1000): Promise<{ prefix: string; publisher: TestApp; other: TestApp }> {
  const prefix = testPrefix();
  const [publisher, other] = await Promise.all(
    [0, 1].map(() => startTestApp(moduleWith(history), { pubsub: redisPubSub({ url: REDIS_URL, keyPrefix: prefix }) })),
  );
  return { prefix, publisher: publisher!, other: other! };
}

async function publish(app: TestApp, from: number, count: number): Promise<void> {
  await Promise.all(seqs(from, count).map((seq) => app.pubsub.broadcast('comments', 'said', { seq })));
}

/** A client on `app` that has read `count` messages published there, then is cut; returns its last position. */
async function cutAfter(app: TestApp, clientId: string, count: number): Promise<string> {
  const first = await connectLive(app, clientId);
  await publish(app, 1, count);
  const seen = await recvDeliveries(first.ws, count);
  await cutLinks(app.get(Connections), [first.ws]);
  return seen.at(-1)!.position;
}

describe.skipIf(redisMissing)('channel history on redisPubSub', () => {
  it('gives positions that are the same on every node', async () => {
    const { publisher, other } = await twoNodes();
    const here = await connectLive(publisher, newClientId());
    const there = await connectLive(other, newClientId());
    await publish(publisher, 1, 3);
    const toHere = await recvDeliveries(here.ws, 3);
    expect(toHere.map((d) => d.seq)).toEqual([1, 2, 3]);
    expect(await recvDeliveries(there.ws, 3)).toEqual(toHere);
  });

  it('replays 500 missed broadcasts on the other node, once and in order, before the next live one', async () => {
    const { publisher, other } = await twoNodes();
    const clientId = newClientId();
    const last = await cutAfter(publisher, clientId, 10);
    await publish(publisher, 11, 500);

    const again = await connectLive(other, clientId, { comments: last });
    expect(again.recover).toEqual({ channel: 'comments', recovered: true, missed: 500 });
    expect((await recvDeliveries(again.ws, 500)).map((d) => d.seq)).toEqual(seqs(11, 500));
    await publish(publisher, 511, 1);
    expect((await recvDelivery(again.ws)).seq).toBe(511);
    await again.ws.expectNoMessage(50);
  });

  it('delivers a stream that races the reconnect without a loss or a double', async () => {
    const { publisher, other } = await twoNodes();
    const clientId = newClientId();
    const last = await cutAfter(publisher, clientId, 5);
    // Published one by one while the client reconnects and its history is read on the other node.
    let next = 6;
    let streaming = true;
    const stream = (async () => {
      while (streaming || next < 206) await publish(publisher, next++, 1);
    })();
    const again = await connectLive(other, clientId, { comments: last });
    streaming = false;
    await stream;
    const total = next - 6;
    expect(again.recover!.recovered).toBe(true);
    expect((await recvDeliveries(again.ws, total)).map((d) => d.seq)).toEqual(seqs(6, total));
    await again.ws.expectNoMessage(100);
  });

  it('reports recovered: false, with nothing replayed, beyond the size', async () => {
    const { publisher, other } = await twoNodes({ size: 5, ttl: 120_000 });
    const clientId = newClientId();
    const last = await cutAfter(publisher, clientId, 1);
    await publish(publisher, 2, 6);
    const again = await connectLive(other, clientId, { comments: last });
    expect(again.recover).toEqual({ channel: 'comments', recovered: false, missed: 0 });
    await publish(publisher, 8, 1);
    expect((await recvDelivery(again.ws)).seq).toBe(8);
  });

  it('reports recovered: false once the missed messages are older than the ttl', async () => {
    const ttl = 50;
    const { publisher, other } = await twoNodes({ size: 100, ttl });
    const clientId = newClientId();
    const last = await cutAfter(publisher, clientId, 1);
    await publish(publisher, 2, 2);
    // Awaits Redis's own clock (it stamps and trims the entries) past the ttl of the last one.
    const redis = rawRedis(REDIS_URL);
    const [seconds, micros] = await redis.time();
    const until = Number(seconds) * 1000 + Number(micros) / 1000 + ttl;
    for (let now = 0; now <= until; ) {
      const [s, us] = await redis.time();
      now = Number(s) * 1000 + Number(us) / 1000;
    }
    const again = await connectLive(other, clientId, { comments: last });
    expect(again.recover).toEqual({ channel: 'comments', recovered: false, missed: 0 });
  });

  it('reports recovered: false when the history is lost (its keys deleted), and starts a new epoch', async () => {
    const { prefix, publisher, other } = await twoNodes();
    const clientId = newClientId();
    const last = await cutAfter(publisher, clientId, 3);
    await publish(publisher, 4, 2);
    const redis = rawRedis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:history*`);
    expect(keys.length).toBe(2);
    await redis.del(...keys);
    await publish(publisher, 6, 4); // more than before, so a count restarted under the old epoch would match

    const again = await connectLive(other, clientId, { comments: last });
    expect(again.recover).toEqual({ channel: 'comments', recovered: false, missed: 0 });
    await publish(publisher, 10, 1);
    const live = await recvDelivery(again.ws);
    expect(live.seq).toBe(10);
    expect(live.position.split(':')[0]).not.toBe(last.split(':')[0]);
  });
});
