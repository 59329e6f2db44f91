// clusterPubSub() and clusterSessionStore(): the shared adapter and session store contracts, run
// against a primary in a child process (fixtures/primary.ts) over real IPC, with the apps of a
// cluster in this process; then what the primary keeps for all its workers: history, presence and
// the answers to requests.
import { describe, expect, it } from 'vitest';
import { clusterPubSub, clusterSessionStore, type PubSubAdapter } from 'vela';
import { startTestApp } from 'vela/testing';
import { describeAdapterContract } from '../pubsub/adapter-contract.js';
import { describeSessionStore } from '../session/store-contract.js';
import { PresenceHistoryModule } from '../fixtures/presence.js';
import { LOBBY, count, list, lobby, names, nextDiff } from '../presence/support.js';
import { forkPrimary } from './support.js';

describeAdapterContract('cluster', async (count) => {
  const { port } = await forkPrimary();
  return Array.from({ length: count }, () => clusterPubSub({ port }));
});

describeSessionStore('clusterSessionStore', async () => {
  const primary = await forkPrimary();
  return { store: clusterSessionStore({ port: primary.port }), advance: primary.advance };
});

/** Two apps of one cluster, with history on `room:*` and presence. */
async function twoWorkers(): Promise<{ apps: Awaited<ReturnType<typeof startTestApp>>[]; adapters: PubSubAdapter[] }> {
  const { port } = await forkPrimary();
  const adapters = [clusterPubSub({ port }), clusterPubSub({ port })];
  const apps = await Promise.all(adapters.map((pubsub) => startTestApp(PresenceHistoryModule, { pubsub })));
  return { apps, adapters };
}

describe('clusterPubSub() history', () => {
  it('numbers a broadcast once, in the primary: members on every app get it with the same position, in publish order', async () => {
    const { apps } = await twoWorkers();
    const [here, there] = [await lobby(apps[0]!), await lobby(apps[1]!)];
    await expect.poll(() => apps[0]!.pubsub.members(LOBBY)).toHaveLength(2);
    for (const text of ['one', 'two']) await here.call('broadcast', { channel: LOBBY, text });
    const [mine, theirs] = [await here.take<{ news: string; position: string }>(2), await there.take<{ news: string; position: string }>(2)];
    expect(mine.map((m) => m.news)).toEqual(['one', 'two']);
    expect(theirs).toEqual(mine);
    expect(new Set(mine.map((m) => m.position)).size).toBe(2);
  });
});

describe('clusterPubSub() presence', () => {
  it('lists and counts the same on every app, sends diffs across, and a closing app takes its metas at once', async () => {
    const { apps } = await twoWorkers();
    const watcher = await lobby(apps[1]!);
    await lobby(apps[0]!, 'ada');
    await lobby(apps[1]!, 'bob');
    await expect.poll(() => apps[1]!.presence.count(LOBBY)).toBe(2);
    expect(await apps[0]!.presence.list(LOBBY)).toEqual(await apps[1]!.presence.list(LOBBY));
    expect(names(await list(watcher))).toEqual({ ada: ['ada'], bob: ['bob'] });
    const joined: string[] = [];
    while (joined.length < 2) joined.push(...Object.keys((await nextDiff(watcher)).joins));
    expect(joined.sort()).toEqual(['ada', 'bob']);

    await apps[0]!.close();
    expect(names((await nextDiff(watcher)).leaves)).toEqual({ ada: ['ada'] });
    expect(await count(watcher)).toBe(1);
  });
});

describe('clusterPubSub() answers', () => {
  it('keeps the answers of every app in the primary: a repeat on another app waits for the first and gets its answer', async () => {
    const { adapters } = await twoWorkers();
    const [first, second] = adapters.map((adapter) => adapter.answers!());
    expect(await first!.claim('client-1', 'r1', 60_000)).toEqual({ kind: 'first' });
    const repeat = second!.claim('client-1', 'r1', 60_000);
    await first!.settle('client-1', 'r1', '{"ref":"r1","ok":1}', 60_000);
    expect(await repeat).toEqual({ kind: 'answer', answer: '{"ref":"r1","ok":1}' });
    expect(await second!.claim('client-1', 'r1', 60_000)).toEqual({ kind: 'answer', answer: '{"ref":"r1","ok":1}' });
  });

  it('answers a repeat `unavailable` once the app that claimed it leaves without answering', async () => {
    const { apps, adapters } = await twoWorkers();
    expect(await adapters[0]!.answers!().claim('client-2', 'r1', 60_000)).toEqual({ kind: 'first' });
    const repeat = adapters[1]!.answers!().claim('client-2', 'r1', 60_000);
    await apps[0]!.close();
    expect(await repeat).toEqual({ kind: 'unavailable' });
  });
});
