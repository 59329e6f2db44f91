// Nodes as they run in production: separate processes (fixtures/node-app.ts) on their own ports,
// one Redis between them. Order across processes, broadcastFrom, and what members() says when a
// process is killed outright (SIGKILL: nothing cleans up, the ttl does) or stopped (SIGTERM).
import { describe, expect, it } from 'vitest';
import type { PubSubMessage } from 'vela';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { Peer, eventually, sorted } from '../pubsub/support.js';
import { ChildNode, testPrefix } from './support.js';

const seqs = (messages: PubSubMessage[]) => messages.map((message) => (message.payload as { seq: number }).seq);
const topics = (messages: PubSubMessage[]) => messages.map((message) => message.topic);
const members = (peer: Peer) => peer.call<string[]>('members', { channel: 'room' });

describe.skipIf(redisMissing)('separate node processes', () => {
  it('keep order over 1,000 messages, honour broadcastFrom, and drop a killed process\'s members within the ttl', { timeout: 30_000 }, async () => {
    const ttl = 1_500;
    const env = { REDIS_URL, KEY_PREFIX: testPrefix(), MEMBERSHIP_TTL: ttl };
    const [one, two, three] = await Promise.all([0, 1, 2].map(() => ChildNode.start(env))) as [ChildNode, ChildNode, ChildNode];
    expect(new Set([one.port, two.port, three.port]).size).toBe(3);

    const [a, a2, b, c] = await Promise.all([one, one, two, three].map((node) => Peer.connect(node, { join: ['room'] })));
    const everyone = sorted([a!, a2!, b!, c!].map((peer) => peer.id)).join();
    for (const peer of [a!, b!, c!]) await eventually(() => members(peer), (ids) => ids.join() === everyone, 'every process to see every member');

    await a!.call('burst', { channel: 'room', topic: 'seq', method: 'broadcast', count: 1_000 });
    for (const peer of [a!, a2!, b!, c!]) expect(seqs(await peer.take(1_000, 10_000))).toEqual([...Array(1_000).keys()]);

    await a!.call('broadcastFrom', { channel: 'room', topic: 'from', payload: 1 });
    await a!.broadcast('room', 'marker');
    for (const peer of [a2!, b!, c!]) expect(topics(await peer.take(2))).toEqual(['from', 'marker']);
    expect(topics([await a!.next()])).toEqual(['marker']);

    // Killed: no clean-up runs, so its members stay until its membership expires: within the ttl
    // (plus this poll's own latency), and not at once — its last refresh was at most ttl / 3 before.
    const killed = Date.now();
    expect(await two.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    await eventually(() => members(a!), (ids) => !ids.includes(b!.id), "the killed process's member gone", ttl + 1_000);
    const vanishedAfter = Date.now() - killed;
    expect(vanishedAfter).toBeLessThanOrEqual(ttl + 250);
    expect(vanishedAfter).toBeGreaterThanOrEqual(ttl / 3);
    expect(await members(c!)).toEqual(sorted([a!.id, a2!.id, c!.id]));

    // Stopped: app.close() takes its members out at once.
    expect(await three.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await members(a!)).toEqual(sorted([a!.id, a2!.id]));
    expect(three.logs.filter((entry) => entry.level === 'error' || entry.level === 'warn')).toEqual([]);

    await a!.broadcast('room', 'still here');
    expect(topics([await a2!.next()])).toEqual(['still here']);
  });
});
