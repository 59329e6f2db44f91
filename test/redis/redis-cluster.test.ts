// redisPubSub and redisSessionStore on a real Redis Cluster (three primaries, three replicas, started
// by this file: local-cluster.ts): the shared adapter and session store contracts, interest routing
// with SSUBSCRIBE on the primary of each shard's slot, history, presence and answers whose keys share
// a slot, and a primary killed under traffic: its replica takes over and delivery resumes.
import { beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { Module, redisPubSub, redisSessionStore, type PubSubMessage, type SessionStore } from 'vela';
import { startTestApp, type TestApp } from 'vela/testing';
import { describeAdapterContract } from '../pubsub/adapter-contract.js';
import { describeSessionStore } from '../session/store-contract.js';
import { Peer, PubSubTestModule, eventually } from '../pubsub/support.js';
import { uniquePrefix } from '../support/redis.js';
import { Keyspace, DEFAULT_SHARDS } from '../../src/redis/keyspace.js';
import { Connections, LiveGateway, connectLive, cutLinks, newClientId, recvDeliveries } from '../fixtures/history.js';
import { LocalCluster, clusterToolsMissing, command, replicaOf } from './local-cluster.js';
import { scaledStore } from './support.js';

describe.skipIf(clusterToolsMissing)('on a Redis Cluster', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await LocalCluster.start();
  }, 60_000);

  /** A client of the test's own, connected, to look at the cluster from outside Vela. */
  async function admin(): Promise<Cluster> {
    const client = new Cluster(cluster.urls.map((url) => url.replace('redis://', '')), { lazyConnect: true });
    client.on('error', () => {});
    await client.connect();
    return client;
  }

  const adapters = (count: number, keyPrefix = uniquePrefix()) => Array.from({ length: count }, () => redisPubSub({ cluster: cluster.urls, keyPrefix }));

  describeAdapterContract('redis cluster', (count) => adapters(count));

  describeSessionStore('redisSessionStore on a cluster', async () => {
    const keyPrefix = `${uniquePrefix()}:session:`;
    const redis = await admin();
    // The sessions live on all three primaries: each is asked for its own.
    const keys = async () => (await Promise.all(redis.nodes('master').map((node) => node.keys(`${keyPrefix}*`)))).flat();
    return scaledStore(redisSessionStore({ cluster: cluster.urls, keyPrefix }), { keys, redis, closed: () => redis.quit() });
  });

  describe('redisSessionStore', () => {
    it('keeps at most maxAnonymous anonymous sessions, the oldest dropped, though they live on several primaries', async () => {
      const keyPrefix = `${uniquePrefix()}:session:`;
      const store: SessionStore = redisSessionStore({ cluster: cluster.urls, keyPrefix, maxAnonymous: 3 });
      const ids = Array.from({ length: 5 }, (_, i) => `${'abcde'[i]}${'x'.repeat(31)}`);
      for (const id of ids) await store.save(id, { id }, 60_000, { anonymous: true });
      const loaded = await Promise.all(ids.map((id) => store.load(id)));
      expect(loaded.map((data) => data !== undefined)).toEqual([false, false, true, true, true]);
      const redis = await admin();
      expect(await redis.zcard(`${keyPrefix}anonymous`)).toBe(3);
      expect(new Set(await Promise.all(ids.map((id) => redis.cluster('KEYSLOT', `${keyPrefix}${id}`)))).size).toBeGreaterThan(1);
      await redis.quit();
      await store.close?.();
    });
  });

  describe('interest routing', () => {
    it('SSUBSCRIBEs a shard on the primary of its slot, from the nodes with members in its channels only', async () => {
      const keyPrefix = uniquePrefix();
      const keys = new Keyspace({ prefix: keyPrefix, clustered: true, routing: 'interest', shards: DEFAULT_SHARDS });
      let [north, south] = ['north', 'south-0'];
      for (let n = 1; keys.shardOf(south) === keys.shardOf(north); n += 1) south = `south-${n}`;
      const [a, b] = await Promise.all(adapters(2, keyPrefix).map((pubsub) => startTestApp(PubSubTestModule, { pubsub })));
      const here = await Peer.connect(a!, { join: [north] });
      const there = await Peer.connect(b!, { join: [south] });
      await eventually(() => a!.pubsub.members(south), (ids) => ids.length === 1, `the member of ${south} seen from A`);

      await here.broadcast(south, 'said', 1);
      expect(await there.next()).toEqual({ channel: south, sender: here.id, topic: 'said', payload: 1 });
      const subscribers = async (carrier: string) => {
        const [, count] = (await command(await cluster.primaryOf(carrier), 'PUBSUB', 'SHARDNUMSUB', carrier)) as [string, number];
        return count;
      };
      expect(keys.carrierOf(north)).toMatch(new RegExp(`^\\{${keyPrefix}:\\d+\\}:bus$`));
      expect(await subscribers(keys.carrierOf(north))).toBe(1);
      expect(await subscribers(keys.carrierOf(south))).toBe(1);
      expect(await subscribers(keys.bus)).toBe(2);
    });

    it('keeps a history channel in the slot of its shard, and a client cut from one node recovers on the other', async () => {
      @Module({ gateways: [LiveGateway], providers: [Connections], channels: { comments: { history: { size: 100, ttl: 60_000 } } } })
      class HistoryModule {}
      const [publisher, other] = (await Promise.all(adapters(2).map((pubsub) => startTestApp(HistoryModule, { pubsub })))) as [TestApp, TestApp];
      const clientId = newClientId();
      const first = await connectLive(publisher, clientId);
      for (let seq = 1; seq <= 3; seq += 1) await publisher.pubsub.broadcast('comments', 'said', { seq });
      const seen = await recvDeliveries(first.ws, 3);
      await cutLinks(publisher.get(Connections), [first.ws]);
      for (let seq = 4; seq <= 10; seq += 1) await publisher.pubsub.broadcast('comments', 'said', { seq });

      const again = await connectLive(other, clientId, { comments: seen.at(-1)!.position });
      expect(again.recover).toEqual({ channel: 'comments', recovered: true, missed: 7 });
      expect((await recvDeliveries(again.ws, 7)).map((delivery) => delivery.seq)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    });

    it('remembers answers in the slot of their client', async () => {
      const [adapter] = adapters(1);
      await startTestApp(PubSubTestModule, { pubsub: adapter! });
      const store = adapter!.answers!();
      expect(await store.claim('client-1', '7', 60_000)).toEqual({ kind: 'first' });
      await store.settle('client-1', '7', '{"ref":"7","ok":1}', 60_000);
      expect(await store.claim('client-1', '7', 60_000)).toEqual({ kind: 'answer', answer: '{"ref":"7","ok":1}' });
    });
  });

  describe('failover', () => {
    it("a primary killed under traffic: its replica takes over, and delivery resumes in order, nothing twice", async () => {
      const keyPrefix = uniquePrefix();
      const keys = new Keyspace({ prefix: keyPrefix, clustered: true, routing: 'interest', shards: DEFAULT_SHARDS });
      const [a, b] = await Promise.all(adapters(2, keyPrefix).map((pubsub) => startTestApp(PubSubTestModule, { pubsub })));
      const heard: number[] = [];
      await b!.pubsub.subscribe<number>('room', (message: PubSubMessage<number>) => void heard.push(message.payload)).ready;
      let seq = 0;
      const send = () => a!.pubsub.broadcast('room', 'seq', seq++);
      for (let i = 0; i < 20; i += 1) await send();
      await eventually(() => heard.length, (n) => n === 20, 'the first 20 on B');

      await cluster.killPrimaryOf(keys.carrierOf('room'));
      // Until both nodes found the new primary (the publisher on its next command, the subscriber
      // when ioredis re-subscribes), messages are lost, never queued: keep sending until one arrives.
      await eventually(
        async () => {
          await send();
          return heard.length;
        },
        (n) => n > 20,
        'a message through the promoted replica',
        20_000,
      );
      const resumedAt = seq;
      for (let i = 0; i < 20; i += 1) await send();
      await eventually(() => heard.at(-1), (last) => last === seq - 1, 'the last message on B');
      expect(heard.slice(0, 20)).toEqual([...Array(20).keys()]);
      expect(new Set(heard).size).toBe(heard.length); // never twice
      expect(heard).toEqual([...heard].sort((x, y) => x - y)); // in order
      expect(heard.slice(-20)).toEqual(Array.from({ length: 20 }, (_, i) => resumedAt + i)); // nothing lost once resumed
      await cluster.healthy();
    }, 60_000);

    it('a session saved before its primary was killed is read after its replica took over', async () => {
      const keyPrefix = `${uniquePrefix()}:session:`;
      const store = redisSessionStore({ cluster: cluster.urls, keyPrefix });
      // A session on a primary that still has a replica (an earlier test may have killed one).
      let id = '';
      let replica: number | undefined;
      for (let n = 0; replica === undefined; n += 1) {
        id = `${n.toString(36).padStart(4, '0')}${'y'.repeat(28)}`;
        replica = await replicaOf(await cluster.primaryOf(`${keyPrefix}${id}`));
      }
      await store.save(id, { cart: ['apple'] }, 60_000);
      // Replication is asynchronous: wait until the replica has it, as a failover would need.
      const key = `${keyPrefix}${id}`;
      await eventually(() => command(replica!, 'GET', key).catch(() => null), (value) => value !== null, 'the session on the replica');
      await cluster.killPrimaryOf(key);
      expect(await eventually(() => store.load(id).catch(() => undefined), (data) => data !== undefined, 'the session read after the failover', 20_000)).toEqual({ cart: ['apple'] });
      await store.close?.();
    }, 60_000);
  });
});
