// Presence on one app and on apps sharing a MemoryBus: track, update, untrack, list and count from a
// gateway; untracked when the socket closes or its gateway crashes; several tabs of one key; diffs
// coalesced per window and kept out of history; and what a connection may not track.
import { describe, expect, it } from 'vitest';
import { MemoryBus, memoryPubSub } from 'vela';
import { startTestApp } from 'vela/testing';
import { PresenceHistoryModule, PresenceModule, type RelayedDiff } from '../fixtures/presence.js';
import { LOBBY, count, list, lobby, names, nextDiff, refs } from './support.js';

const serve = (bus?: MemoryBus) => startTestApp(PresenceModule, { pubsub: memoryPubSub({ bus }) });

describe('Presence in a gateway', () => {
  it('tracks, lists, counts, updates under a new ref and untracks, each change a diff to the channel', async () => {
    const app = await serve();
    const watcher = await lobby(app);
    const ada = await lobby(app, 'ada', 'Ada');
    const joined = await nextDiff(watcher);
    expect(joined).toEqual({ joins: { ada: { metas: [{ name: 'Ada', ref: expect.any(String) }] } }, leaves: {} });
    expect(await list(watcher)).toEqual(joined.joins);
    expect(await app.presence.list(LOBBY)).toEqual(joined.joins);
    expect(await count(watcher)).toBe(1);

    await ada.call('update', { channel: LOBBY, key: 'ada', meta: { name: 'Ada', typing: true } });
    const updated = await nextDiff(watcher);
    expect(updated.leaves).toEqual(joined.joins);
    expect(updated.joins).toEqual({ ada: { metas: [{ name: 'Ada', typing: true, ref: expect.any(String) }] } });
    expect(refs(updated.joins)).not.toEqual(refs(joined.joins));
    expect(await list(watcher)).toEqual(updated.joins);

    await ada.call('untrack', { channel: LOBBY, key: 'ada' });
    expect(await nextDiff(watcher)).toEqual({ joins: {}, leaves: updated.joins });
    expect(await list(watcher)).toEqual({});
    expect(await app.presence.count(LOBBY)).toBe(0);
    await expect(ada.call('update', { channel: LOBBY, key: 'ada', meta: {} })).rejects.toThrow(
      `Error: presence.update('room:lobby', "ada"): this connection does not track that key; call presence.track() first.`,
    );
  });

  it('untracks a connection when its socket closes, and when its gateway crashes (1011)', async () => {
    const app = await serve();
    const watcher = await lobby(app);
    const ada = await lobby(app, 'ada');
    expect(names((await nextDiff(watcher)).joins)).toEqual({ ada: ['ada'] });
    const bob = await lobby(app, 'bob');
    expect(names((await nextDiff(watcher)).joins)).toEqual({ bob: ['bob'] });

    await ada.close();
    expect(names((await nextDiff(watcher)).leaves)).toEqual({ ada: ['ada'] });
    await expect(bob.call('crash')).rejects.toThrow(/closed with 1011/);
    expect((await bob.closed).code).toBe(1011);
    expect(await nextDiff(watcher)).toEqual({ joins: {}, leaves: { bob: { metas: [{ name: 'bob', ref: expect.any(String) }] } } });
    expect(await list(watcher)).toEqual({});
  });

  it('keeps one meta per tab under one key: five tabs are one key with five metas, counted once', async () => {
    const app = await serve();
    const watcher = await lobby(app);
    const tabs = [];
    for (let tab = 0; tab < 5; tab += 1) tabs.push(await lobby(app, 'ada', `Ada ${tab}`));
    const all = await list(watcher);
    expect(Object.keys(all)).toEqual(['ada']);
    expect(all.ada!.metas.map((meta) => meta.name).sort()).toEqual(['Ada 0', 'Ada 1', 'Ada 2', 'Ada 3', 'Ada 4']);
    expect(new Set(refs(all)).size).toBe(5);
    expect(await count(watcher)).toBe(1);

    await Promise.all(tabs.slice(1).map((tab) => tab.close()));
    expect(names(await list(watcher))).toEqual({ ada: ['Ada 0'] });
    expect(await count(watcher)).toBe(1);
    await tabs[0]!.close();
    expect(await count(watcher)).toBe(0);
  });

  it('coalesces a burst of 100 joins into one diff, and a meta that joins and leaves within the window into none', async () => {
    const app = await serve();
    const watcher = await lobby(app);
    const [burst, other] = [await lobby(app), await lobby(app)];
    await burst.call('trackMany', { channel: LOBBY, key: 'user', count: 100 });
    const diff = await nextDiff(watcher);
    expect(Object.keys(diff.joins)).toHaveLength(100);
    expect(diff.leaves).toEqual({});
    // 'flicker' tracks and untracks one key, then tracks another, in one window: only that last
    // join is in the next diff (and no second diff of the burst came before it).
    await other.call('flicker', { channel: LOBBY, key: 'marker', meta: { name: 'm' } });
    expect(await nextDiff(watcher)).toEqual({ joins: { marker: { metas: [{ name: 'm', ref: expect.any(String) }] } }, leaves: {} });
    expect(await count(watcher)).toBe(101);
  });

  it('keeps its diffs out of a history channel: a recovering client gets the state again, not replayed diffs', async () => {
    const app = await startTestApp(PresenceHistoryModule);
    const watcher = await lobby(app);
    await lobby(app, 'ada');
    expect((await watcher.next<RelayedDiff>()).position).toBeNull();
    await watcher.call('broadcast', { channel: LOBBY, text: 'kept' });
    expect(await watcher.next()).toEqual({ news: 'kept', position: expect.any(String) });
  });
});

describe('Presence across apps on one MemoryBus', () => {
  it('lists and counts the same on both, reaches members on both, and a closing app takes its metas at once', async () => {
    const bus = new MemoryBus();
    const [one, two] = [await serve(bus), await serve(bus)];
    const watcher = await lobby(two);
    await lobby(one, 'ada');
    await lobby(two, 'bob');
    await expect.poll(() => two.presence.count(LOBBY)).toBe(2);
    expect(await one.presence.list(LOBBY)).toEqual(await two.presence.list(LOBBY));
    expect(names(await one.presence.list(LOBBY))).toEqual({ ada: ['ada'], bob: ['bob'] });
    const joined = { ...(await nextDiff(watcher)).joins };
    if (Object.keys(joined).length < 2) Object.assign(joined, (await nextDiff(watcher)).joins);
    expect(names(joined)).toEqual({ ada: ['ada'], bob: ['bob'] });

    await one.close();
    expect(names((await nextDiff(watcher)).leaves)).toEqual({ ada: ['ada'] });
    expect(names(await two.presence.list(LOBBY))).toEqual({ bob: ['bob'] });
    await two.close();
    expect(bus.presence.size).toBe(0);
  });
});

describe('Presence diffs from several apps', () => {
  it("reach a member merged: one diff per window with the joins and leaves made on every app", async () => {
    const bus = new MemoryBus();
    const wide = () => startTestApp(PresenceModule, { pubsub: memoryPubSub({ bus }), presence: { window: 200 } });
    const [one, two] = [await wide(), await wide()];
    const watcher = await lobby(two);
    const carol = await lobby(one, 'carol');
    expect(names((await nextDiff(watcher)).joins)).toEqual({ carol: ['carol'] });

    // Each app coalesces its own changes; the watcher's app merges what both sent within its window.
    await Promise.all([lobby(one, 'ada'), lobby(two, 'bob'), carol.close()]);
    expect(await nextDiff(watcher)).toEqual({
      joins: { ada: { metas: [{ name: 'ada', ref: expect.any(String) }] }, bob: { metas: [{ name: 'bob', ref: expect.any(String) }] } },
      leaves: { carol: { metas: [{ name: 'carol', ref: expect.any(String) }] } },
    });
    expect(await count(watcher)).toBe(2);
  });
});

describe('what a connection may track', () => {
  it('refuses a bad key or meta at the call with the limit it breaks, and stores nothing', async () => {
    const app = await serve();
    const peer = await lobby(app);
    const track = (key: unknown, meta: unknown) => peer.call('track', { channel: LOBBY, key, meta });
    const trackJson = (text: string) => peer.call('trackJson', { channel: LOBBY, key: 'eve', text });
    let deep: Record<string, unknown> = {};
    for (let level = 0; level < 17; level += 1) deep = { deep };

    await expect(track('', {})).rejects.toThrow('TypeError: A presence key must be a non-empty string, got "".');
    await expect(track('k'.repeat(257), {})).rejects.toThrow('RangeError: A presence key may have at most 256 characters, got 257: use a short id.');
    await expect(track('eve', { bio: 'x'.repeat(5_000) })).rejects.toThrow(
      'RangeError: A presence meta may take at most 4096 bytes as JSON, got 5010: keep it to a few fields and look the rest up by key.',
    );
    await expect(track('eve', deep)).rejects.toThrow('RangeError: A presence meta may nest at most 16 levels deep: flatten it.');
    await expect(track('eve', ['a'])).rejects.toThrow('TypeError: A presence meta must be a plain object such as { name: \'Ada\' }, got an array.');
    await expect(trackJson('{"name":"eve","__proto__":{"admin":true}}')).rejects.toThrow('TypeError: A presence meta may not have a "__proto__" key: send plain data.');
    await expect(trackJson('{"a":{"constructor":{"prototype":{}}}}')).rejects.toThrow('TypeError: A presence meta may not have a "constructor" key: send plain data.');
    expect(await list(peer)).toEqual({});
    expect(await count(peer)).toBe(0);
  });

  it('tracks at most 100 (channel, key) pairs per connection', async () => {
    const app = await serve();
    const peer = await lobby(app);
    await peer.call('trackMany', { channel: LOBBY, key: 'user', count: 100 });
    await expect(peer.call('track', { channel: 'room:other', key: 'one-more', meta: {} })).rejects.toThrow(
      'RangeError: A connection may track at most 100 (channel, key) pairs at once: untrack some first.',
    );
    await peer.call('track', { channel: LOBBY, key: 'user-7', meta: { again: true } }); // a pair it has: an update
    expect(await app.presence.count('room:other')).toBe(0);
    expect(await app.presence.count(LOBBY)).toBe(100);
  });

  it('fails bootstrap on a diff window below 0 ms', async () => {
    await expect(startTestApp(PresenceModule, { presence: { window: -1 } })).rejects.toThrow('presence.window must be a number of ms ≥ 0, got -1.');
  });

  it('is refused outside a gateway, where there is no connection to untrack it', async () => {
    const app = await serve();
    expect(() => app.presence.track(LOBBY, 'ada', {})).toThrow(
      'presence.track() needs a connection, and this Presence was not injected into a gateway. Track from the gateway of the socket that is present (its meta then goes when the socket closes); elsewhere, read with presence.list() and presence.count().',
    );
  });
});
