// Recovery that survives the death of the node a client was on. Two app processes on one Redis
// (test/redis/fixtures/feed-app.ts) behind a TCP proxy, so the client keeps one URL; this process
// is a third node that publishes a steady stream on a channel with history. The process holding
// the client is killed outright (SIGKILL: nothing of it cleans up or saves anything); the client
// reconnects through the proxy to the survivor, presents its position, and must receive every
// message exactly once, in order. Twenty times over, each time killing the node it is on.
import { WebSocket as NodeWebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type RecoverInfo, type VelaSocket } from '../../src/client/index.js';
import { Module, bootstrap, redisPubSub, type App } from '../../src/index.js';
import { FEED_CHANNELS } from '../redis/fixtures/feed-channels.js';
import { ChildNode, testPrefix } from '../redis/support.js';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const ROUNDS = 20;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

@Module({ channels: FEED_CHANNELS })
class PublisherModule {}

/** The client's view: every `n` it was handed, and its recover events. */
class Receiver {
  readonly received: number[] = [];
  readonly recovers: RecoverInfo[] = [];
  readonly #waiters = new Set<() => void>();

  constructor(readonly socket: VelaSocket) {
    socket.on('message', (data) => {
      this.received.push((JSON.parse(String(data)) as { n: number }).n);
      this.#wake();
    });
    socket.on('recover', (info) => {
      this.recovers.push(info);
      this.#wake();
    });
  }

  /** Resolves once `done()` holds, checked on every event; rejects after `ms` saying what it waited for. */
  until(done: () => boolean, what: string, ms = 20_000): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`waited ${ms} ms for ${what}; received ${this.received.length}, last ${this.received.at(-1)}`));
      }, ms);
      this.#waiters.add(check);
    });
  }

  #wake(): void {
    for (const check of [...this.#waiters]) check();
  }
}

/** Publishes n = 1, 2, … on `feed`, one per turn of the event loop, until stopped. */
function publishStream(app: App) {
  let published = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      published += 1;
      await app.pubsub.broadcast('feed', 'tick', { n: published });
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  return {
    get published() {
      return published;
    },
    async stop() {
      running = false;
      await done;
      return published;
    },
  };
}

describe.skipIf(redisMissing)('recovery across the death of the node a client was on', () => {
  const env = { REDIS_URL, KEY_PREFIX: testPrefix() };
  let proxy: TcpProxy;
  let publisher: App;

  beforeAll(async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket = NodeWebSocket;
    proxy = await TcpProxy.listen();
    publisher = await bootstrap(PublisherModule, { port: 0, host: '127.0.0.1', logger: quiet, sessions: false, pubsub: redisPubSub({ url: REDIS_URL, keyPrefix: env.KEY_PREFIX }) });
  });

  afterAll(async () => {
    await proxy?.close();
    await publisher?.close();
  });

  it(`loses nothing and repeats nothing, ${ROUNDS} times over`, { timeout: 300_000 }, async () => {
    let survivor = await ChildNode.start(env, 'feed');
    const report: { round: number; lost: number; duplicated: number; outOfOrder: number; recovered: boolean | undefined; missed: number }[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      // The client lands on `doomed` (the proxy tries it first); the survivor takes it over.
      const doomed = survivor;
      survivor = await ChildNode.start(env, 'feed');
      proxy.targets = [doomed.port, survivor.port];
      const socket = connect(`ws://127.0.0.1:${proxy.port}/feed`, { heartbeat: false, reconnect: { initialDelay: 20, maxDelay: 200, jitter: 0 } });
      const client = new Receiver(socket);
      const stream = publishStream(publisher);
      try {
        await client.until(() => client.received.length >= 50, '50 messages before the kill');
        expect(await doomed.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
        await client.until(() => client.recovers.length > 0, 'the recover event after the reconnect');
        const afterReconnect = stream.published + 50;
        await client.until(() => client.received.at(-1)! >= afterReconnect, '50 live messages after the recovery');
        const total = await stream.stop();
        await client.until(() => client.received.at(-1) === total, `the last message (${total})`);

        const first = client.received[0]!;
        const unique = new Set(client.received);
        const expected = total - first + 1;
        let outOfOrder = 0;
        for (let i = 1; i < client.received.length; i += 1) if (client.received[i]! <= client.received[i - 1]!) outOfOrder += 1;
        report.push({
          round,
          lost: expected - unique.size,
          duplicated: client.received.length - unique.size,
          outOfOrder,
          recovered: client.recovers[0]?.recovered,
          missed: client.recovers[0]?.missed ?? 0,
        });
      } finally {
        await stream.stop();
        socket.close();
      }
    }
    await survivor.kill('SIGTERM');

    const totals = report.reduce((sum, r) => ({ lost: sum.lost + r.lost, duplicated: sum.duplicated + r.duplicated, outOfOrder: sum.outOfOrder + r.outOfOrder }), { lost: 0, duplicated: 0, outOfOrder: 0 });
    console.log(
      `recovery across node death, ${ROUNDS} rounds: lost ${totals.lost}, duplicated ${totals.duplicated}, out of order ${totals.outOfOrder}; ` +
        `replayed per reconnect ${report.map((r) => r.missed).join(', ')}`,
    );
    expect(report.filter((r) => r.recovered !== true)).toEqual([]);
    expect(totals).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
  });
});
