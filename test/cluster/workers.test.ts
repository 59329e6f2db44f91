// `vela start --workers 2` as it runs in production: a primary and two node:cluster workers sharing
// one port, running fixtures/app.ts with bootstrap's defaults. What an app gets from running on
// workers without a line changed: broadcasts, members and presence across them, sessions and Comms
// across them, a worker killed under traffic replaced with its sockets gone from members and
// presence, and SIGTERM draining every worker.
import { describe, expect, it } from 'vitest';
import type { PresenceDiff, PubSubMessage } from 'vela';
import { Peer } from '../pubsub/peer.js';
import { eventually, sorted } from '../pubsub/support.js';
import { runCli, root, SOURCE_CLI } from '../cli/support.js';
import { Workers } from './support.js';

interface Placed {
  readonly peer: Peer;
  readonly pid: number;
}

/**
 * Opens sockets on `path` until `workers` different processes hold at least one each (node:cluster
 * hands new connections to the workers in turn), and returns them all with their process.
 */
async function onEveryWorker(app: Workers, path: string, workers = 2): Promise<Placed[]> {
  const placed: Placed[] = [];
  for (let attempt = 0; attempt < 20 && new Set(placed.map((p) => p.pid)).size < workers; attempt += 1) {
    const peer = await Peer.connect(app, { path });
    placed.push({ peer, pid: await peer.call<number>('pid') });
  }
  if (new Set(placed.map((p) => p.pid)).size < workers) throw new Error(`20 sockets all reached ${placed[0]?.pid}: connections are not spread over the workers`);
  return placed;
}

const ids = (placed: readonly Placed[]) => sorted(placed.map(({ peer }) => peer.id)).join();
const members = (peer: Peer, channel = 'room') => peer.call<string[]>('members', { channel });

/** The next pub/sub message of `topic` that `peer` got (presence diffs and others skipped). */
async function nextOf<T>(peer: Peer, topic: string): Promise<PubSubMessage<T>> {
  for (;;) {
    const message = await peer.next<PubSubMessage<T>>();
    if (message.topic === topic) return message;
  }
}

/** What a peer heard, read in order: the seq of every `tick`, the refs of every presence leave, every topic. */
class Heard {
  readonly ticks: number[] = [];
  readonly leaves: string[] = [];
  readonly topics: string[] = [];
  readonly #peer: Peer;

  constructor(peer: Peer) {
    this.#peer = peer;
  }

  async until(done: () => boolean): Promise<void> {
    while (!done()) {
      const message = await this.#peer.next<PubSubMessage>();
      this.topics.push(message.topic);
      if (message.topic === 'tick') this.ticks.push((message.payload as { seq: number }).seq);
      if (message.topic === 'presence_diff') {
        for (const { metas } of Object.values((message.payload as PresenceDiff).leaves)) this.leaves.push(...metas.map((meta) => meta.ref));
      }
    }
  }
}

describe('vela start --workers 2', () => {
  it('runs the app as one: a broadcast reaches the sockets of every worker, and members() lists them all', { timeout: 60_000 }, async () => {
    const app = await Workers.start(2);
    const placed = await onEveryWorker(app, '/pubsub?join=room');
    for (const { peer } of placed) await eventually(() => members(peer), (list) => list.join() === ids(placed), 'every worker to list every member');

    const [first] = placed;
    await first!.peer.broadcast('room', 'said', { text: 'héllo' });
    for (const { peer } of placed) expect(await nextOf(peer, 'said')).toEqual({ channel: 'room', sender: first!.peer.id, topic: 'said', payload: { text: 'héllo' } });

    // From HTTP, on whichever worker takes the request: sender null, everyone again.
    const posted = await app.request('POST', '/broadcast/room', { n: 1 });
    expect(placed.map((p) => p.pid)).toContain(posted.pid);
    for (const { peer } of placed) expect(await nextOf(peer, 'http')).toEqual({ channel: 'room', sender: null, topic: 'http', payload: { n: 1 } });
  });

  it('shares sessions between workers, and Comms reaches a session whose socket is on another worker', { timeout: 60_000 }, async () => {
    const app = await Workers.start(2);
    const saved = await app.request('POST', '/session', { name: 'ada' });
    expect(saved.cookie).toMatch(/session_id=/);
    const cookie = saved.cookie!;

    // Each request is a new connection, so they alternate between the workers: both read the session.
    const readers = new Map<number, unknown>();
    for (let attempt = 0; attempt < 10 && readers.size < 2; attempt += 1) {
      const read = await app.request('GET', '/session', undefined, cookie);
      readers.set(read.pid, read.body.name);
    }
    expect([...readers.values()]).toEqual(['ada', 'ada']);

    const socket = await Peer.connect(app, { path: '/pubsub', headers: { cookie } });
    const socketPid = await socket.call<number>('pid');
    let crossed = false;
    for (let n = 0; n < 10 && !crossed; n += 1) {
      const sent = await app.request('POST', '/comms', { text: JSON.stringify({ comms: n }) }, cookie);
      expect(await socket.next()).toEqual({ comms: n });
      crossed = sent.pid !== socketPid;
    }
    expect(crossed).toBe(true);
  });

  it('replaces a worker killed under traffic: its sockets leave members and presence, and the rest never miss a message', { timeout: 60_000 }, async () => {
    const app = await Workers.start(2);
    const placed = await onEveryWorker(app, '/pubsub?join=lobby&user=someone');
    const victimPid = placed[0]!.pid;
    const [doomed, kept] = [placed.filter((p) => p.pid === victimPid), placed.filter((p) => p.pid !== victimPid)];
    const [speaker, listener] = [kept[0]!.peer, kept.at(-1)!.peer];
    for (const { peer } of placed) await eventually(() => members(peer, 'lobby'), (list) => list.join() === ids(placed), 'every member listed');

    // Traffic from the surviving worker for as long as the other dies and comes back.
    let traffic = true;
    let sent = 0;
    const talking = (async () => {
      while (traffic) await speaker.broadcast('lobby', 'tick', { seq: sent++ });
    })();
    process.kill(victimPid, 'SIGKILL');
    for (const { peer } of doomed) expect((await peer.closed).code).toBe(1006);
    await app.command.next(new RegExp(`worker \\d \\(pid ${victimPid}\\) was killed by SIGKILL; starting another in 100 ms`));
    await app.command.next(/worker \d \(pid \d+\) listening on port \d+/);

    // The dead worker's members are gone at once, and its presence metas leave through a live worker.
    expect(await members(listener, 'lobby')).toEqual(sorted(kept.map(({ peer }) => peer.id)));
    const heard = new Heard(listener);
    await heard.until(() => heard.leaves.length >= doomed.length);
    expect(heard.leaves).toHaveLength(doomed.length);
    const list = await listener.call<Record<string, { metas: unknown[] }>>('presence', { channel: 'lobby' });
    expect(list.someone?.metas).toHaveLength(kept.length);

    // The replacement takes sockets and broadcasts like the others.
    const fresh = await onEveryWorker(app, '/pubsub?join=lobby');
    const newcomer = fresh.find((p) => p.pid !== victimPid && !kept.some((k) => k.pid === p.pid));
    expect(newcomer).toBeDefined();
    traffic = false;
    await talking;
    await speaker.broadcast('lobby', 'marker', null);
    expect((await nextOf(newcomer!.peer, 'marker')).sender).toBe(speaker.id);

    // Every tick reached the listener on the surviving worker, once, in order.
    await heard.until(() => heard.topics.includes('marker'));
    expect(sent).toBeGreaterThan(0);
    expect(heard.ticks).toEqual([...Array(sent).keys()]);
  });

  it('drains every worker on SIGTERM: each socket is closed with 1001, and the primary exits 0', { timeout: 60_000 }, async () => {
    const app = await Workers.start(2);
    const placed = await onEveryWorker(app, '/pubsub?join=room');
    const closes = placed.map(({ peer }) => peer.closed);
    expect(await app.command.stop('SIGTERM', 20_000)).toEqual({ code: 0, signal: null });
    for (const closed of await Promise.all(closes)) expect(closed.code).toBe(1001);
    expect(app.command.lines).toContain('vela start: stopping (SIGTERM): draining the workers');
    expect(app.command.lines.at(-1)).toBe('vela start: every worker drained');
    expect(app.command.output).not.toMatch(/was killed|exited with code/);
  });
});

describe('vela start refuses', () => {
  it('a worker count or timeout that is not a whole number, a missing entry, and a .ts entry its tsconfig does not build, saying what to do', async () => {
    const vela = (...args: string[]) => runCli(SOURCE_CLI, ['start', ...args], root);
    expect(await vela('test/cluster/fixtures/app.mjs', '--workers', '0')).toEqual({ code: 1, output: "vela start: --workers must be a whole number ≥ 1, got '0'." });
    expect(await vela('test/cluster/fixtures/app.mjs', '-w', 'two')).toEqual({ code: 1, output: "vela start: --workers must be a whole number ≥ 1, got 'two'." });
    expect(await vela('test/cluster/fixtures/app.mjs', '--shutdown-timeout', '1.5')).toEqual({
      code: 1,
      output: "vela start: --shutdown-timeout must be a whole number ≥ 0, got '1.5'.",
    });
    expect(await vela('dist/nowhere.js')).toEqual({ code: 1, output: 'vela start: dist/nowhere.js does not exist.' });
    expect(await vela('test/cluster/fixtures/app.ts', '-p', 'tsconfig.build.json')).toEqual({
      code: 1,
      output: 'vela start: test/cluster/fixtures/app.ts is not compiled by tsconfig.build.json: add it to "include" or "files", or pass another tsconfig with --project.',
    });
  });
});
