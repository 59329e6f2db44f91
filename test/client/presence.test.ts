// vela/client's presence list, fed through a real VelaSocket by a fake WebSocket the test plays the
// server for: the frames are the gateway's `presence_state` and `presence_diff` events, and every
// join, leave and sync the app hears is recorded in order.
import { describe, expect, it } from 'vitest';
import { presence, MAX_HELD_DIFFS, type PresenceDiff, type PresenceList, type PresenceTracker, type VelaSocket } from '../../src/client/index.js';
import { latest, useFakePage } from './fake-page.js';

interface User {
  name: string;
  device?: string;
}

const page = useFakePage('/room');

/** A socket whose connection the server accepted. */
function open(): VelaSocket {
  const socket = page.open();
  latest().accept();
  return socket;
}

/** The gateway sends `{ event, data }`. */
const push = (event: string, data: unknown) => latest().push(JSON.stringify({ event, data }));
const meta = (ref: string, name = 'Ada', device = 'web') => ({ name, device, ref });
const state = (list: PresenceList<User>) => push('presence_state', list);
const diff = (joins: PresenceList<User>, leaves: PresenceList<User> = {}) => push('presence_diff', { joins, leaves } satisfies PresenceDiff<User>);

/** Every join and leave as `join ada +a1 (was: -)`, `leave ada -a1 (now: a2)`, and `sync ada,bob`. */
function record(tracker: PresenceTracker<User>): string[] {
  const log: string[] = [];
  const refs = (entry: { metas: { ref: string }[] } | undefined) => (entry ? entry.metas.map((m) => m.ref).join(',') : '-');
  tracker.onJoin((key, current, joined) => log.push(`join ${key} +${refs(joined)} (was: ${refs(current)})`));
  tracker.onLeave((key, current, left) => log.push(`leave ${key} -${refs(left)} (now: ${refs(current)})`));
  tracker.onSync((list) => log.push(`sync ${Object.keys(list).join(',')}`));
  return log;
}

describe('presence(socket, channel)', () => {
  it('takes the state, then applies each diff: joins, leaves, and a sync after each', () => {
    const room = presence<User>(open(), 'room:1');
    const log = record(room);

    state({ ada: { metas: [meta('a1')] } });
    diff({ bob: { metas: [meta('b1', 'Bob')] } });
    diff({}, { ada: { metas: [meta('a1')] } });

    expect(log).toEqual(['join ada +a1 (was: -)', 'sync ada', 'join bob +b1 (was: -)', 'sync ada,bob', 'leave ada -a1 (now: -)', 'sync bob']);
    expect(room.list()).toEqual({ bob: { metas: [{ name: 'Bob', device: 'web', ref: 'b1' }] } });
  });

  it('reports a key online once on its first meta and offline once on its last: five tabs of one user', () => {
    const room = presence<User>(open(), 'room:1');
    const log = record(room);
    const online: string[] = [];
    room.onJoin((key, current) => current || online.push(`${key} online`));
    room.onLeave((key, current) => current || online.push(`${key} offline`));
    state({});

    const tabs = ['t1', 't2', 't3', 't4', 't5'];
    for (const tab of tabs) diff({ ada: { metas: [meta(tab)] } });
    expect(room.list().ada!.metas.map((m) => m.ref)).toEqual(tabs);
    for (const tab of tabs) diff({}, { ada: { metas: [meta(tab)] } });

    expect(online).toEqual(['ada online', 'ada offline']);
    expect(log.filter((line) => !line.startsWith('sync'))).toEqual([
      'join ada +t1 (was: -)',
      'join ada +t2 (was: t1)',
      'join ada +t3 (was: t1,t2)',
      'join ada +t4 (was: t1,t2,t3)',
      'join ada +t5 (was: t1,t2,t3,t4)',
      'leave ada -t1 (now: t2,t3,t4,t5)',
      'leave ada -t2 (now: t3,t4,t5)',
      'leave ada -t3 (now: t4,t5)',
      'leave ada -t4 (now: t5)',
      'leave ada -t5 (now: -)',
    ]);
    expect(room.list()).toEqual({});
  });

  it('keeps a key online when one tab leaves as another joins in the same diff', () => {
    const room = presence<User>(open(), 'room:1');
    state({ ada: { metas: [meta('a1')] } });
    const log = record(room);

    diff({ ada: { metas: [meta('a2')] } }, { ada: { metas: [meta('a1')] } });

    expect(log).toEqual(['join ada +a2 (was: a1)', 'leave ada -a1 (now: a2)', 'sync ada']);
  });

  it('ignores a leave for a ref or a key it does not know', () => {
    const room = presence<User>(open(), 'room:1');
    state({ ada: { metas: [meta('a1')] } });
    const log = record(room);

    diff({}, { ada: { metas: [meta('zz')] }, nobody: { metas: [meta('n1', 'Nobody')] } });

    expect(log).toEqual(['sync ada']);
    expect(room.list()).toEqual({ ada: { metas: [meta('a1')] } });
  });

  it('takes a ref that leaves and joins in one diff as an update: the joined meta, no leave', () => {
    const room = presence<User>(open(), 'room:1');
    state({ ada: { metas: [meta('a1', 'Ada', 'web')] } });
    const log = record(room);

    diff({ ada: { metas: [meta('a1', 'Ada', 'phone')] } }, { ada: { metas: [meta('a1', 'Ada', 'web')] } });
    // The same meta again changes nothing: no join.
    diff({ ada: { metas: [meta('a1', 'Ada', 'phone')] } });

    expect(log).toEqual(['join ada +a1 (was: a1)', 'sync ada', 'sync ada']);
    expect(room.list()).toEqual({ ada: { metas: [meta('a1', 'Ada', 'phone')] } });
  });

  it("replaces the list with a reconnect's new state, reporting the differences as joins and leaves", () => {
    const socket = open();
    const room = presence<User>(socket, 'room:1');
    state({ ada: { metas: [meta('a1')] }, bob: { metas: [meta('b1', 'Bob'), meta('b2', 'Bob')] } });
    const log = record(room);

    page.reconnect();
    state({ bob: { metas: [meta('b2', 'Bob')] }, cy: { metas: [meta('c1', 'Cy')] } });

    expect(log).toEqual(['join cy +c1 (was: -)', 'leave ada -a1 (now: -)', 'leave bob -b1 (now: b2)', 'sync bob,cy']);
    expect(room.list()).toEqual({ bob: { metas: [meta('b2', 'Bob')] }, cy: { metas: [meta('c1', 'Cy')] } });
  });

  it('holds the diffs that come before the first state, and applies them after it', () => {
    const room = presence<User>(open(), 'room:1');
    const log = record(room);

    diff({ bob: { metas: [meta('b1', 'Bob')] } });
    diff({}, { ada: { metas: [meta('a2')] } });
    expect(log).toEqual([]);
    expect(room.list()).toEqual({});

    state({ ada: { metas: [meta('a1'), meta('a2')] } });

    expect(log).toEqual(['join ada +a1,a2 (was: -)', 'join bob +b1 (was: -)', 'leave ada -a2 (now: a1)', 'sync ada,bob']);
    expect(room.list()).toEqual({ ada: { metas: [meta('a1')] }, bob: { metas: [meta('b1', 'Bob')] } });
  });

  it("holds the diffs after a lost link until the new connection's state", () => {
    const room = presence<User>(open(), 'room:1');
    state({ ada: { metas: [meta('a1')] } });
    const log = record(room);

    page.reconnect();
    // On the new connection, before its init's state: a diff the old list must not take.
    diff({}, { ada: { metas: [meta('a9')] } });
    diff({ bob: { metas: [meta('b1', 'Bob')] } });
    expect(log).toEqual([]);
    state({ ada: { metas: [meta('a9')] } });

    // The state first, then the held diffs in the order they came.
    expect(log).toEqual(['join ada +a9 (was: a1)', 'leave ada -a1 (now: a9)', 'leave ada -a9 (now: -)', 'join bob +b1 (was: -)', 'sync bob']);
  });

  it(`holds at most ${MAX_HELD_DIFFS} diffs, dropping the oldest`, () => {
    const room = presence<User>(open(), 'room:1');
    for (let i = 0; i <= MAX_HELD_DIFFS; i++) diff({ [`user${i}`]: { metas: [meta(`r${i}`, `User ${i}`)] } });
    state({});

    const keys = Object.keys(room.list());
    expect(keys).toHaveLength(MAX_HELD_DIFFS);
    expect(keys[0]).toBe('user1');
  });

  it('hears its own channel in presence_state:<channel> and presence_diff:<channel>, and not another', () => {
    const socket = open();
    const room1 = presence<User>(socket, 'room:1');
    const room2 = presence<User>(socket, 'room:2');
    push('presence_state:room:1', { ada: { metas: [meta('a1')] } });
    push('presence_state:room:2', { bob: { metas: [meta('b1', 'Bob')] } });
    push('presence_diff:room:2', { joins: { cy: { metas: [meta('c1', 'Cy')] } }, leaves: {} });

    expect(Object.keys(room1.list())).toEqual(['ada']);
    expect(Object.keys(room2.list())).toEqual(['bob', 'cy']);
  });

  it('ignores malformed data without throwing: not objects, metas without a list, metas without a ref', () => {
    const room = presence<User>(open(), 'room:1');
    const log = record(room);
    for (const bad of [null, 'everyone', 42, ['ada']]) {
      push('presence_state', bad);
      push('presence_diff', bad);
    }
    push('presence_diff', { joins: 'ada', leaves: {} });
    expect(log).toEqual([]);

    state({ ada: { metas: 'a1' } as never, bob: null as never, cy: { metas: [{ name: 'Cy' }, 'c', null, meta('c1', 'Cy')] as never } });
    push('presence_diff', { joins: { dee: { metas: [{ name: 'Dee', ref: 7 }] } } });

    expect(log).toEqual(['join cy +c1 (was: -)', 'sync cy', 'sync cy']);
    expect(room.list()).toEqual({ cy: { metas: [meta('c1', 'Cy')] } });
  });

  it('keeps a key named __proto__ as a key, without touching any prototype', () => {
    const room = presence<User>(open(), 'room:1');
    latest().push('{"event":"presence_state","data":{"__proto__":{"metas":[{"name":"Mallory","ref":"m1","__proto__":{"admin":true}}]}}}');

    const list = room.list();
    expect(Object.keys(list)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(list)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(list, '__proto__')?.value).toEqual({ metas: [{ name: 'Mallory', ref: 'm1', ['__proto__']: { admin: true } }] });
    expect(({} as { admin?: boolean }).admin).toBeUndefined();
  });

  it('gives listeners copies: changing one changes neither the list nor what the next listener gets', () => {
    const room = presence<User>(open(), 'room:1');
    room.onSync((list) => {
      list.ada!.metas[0]!.name = 'Mallory';
      delete list.ada;
    });
    const synced: PresenceList<User>[] = [];
    room.onSync((list) => synced.push(list));
    state({ ada: { metas: [meta('a1')] } });

    expect(synced).toEqual([{ ada: { metas: [meta('a1')] } }]);
    expect(room.list()).toEqual({ ada: { metas: [meta('a1')] } });
  });

  it('stops hearing the socket after stop(), and each listener after its unsubscribe', () => {
    const room = presence<User>(open(), 'room:1');
    const joined: string[] = [];
    const unsubscribe = room.onJoin((key) => joined.push(key));
    state({ ada: { metas: [meta('a1')] } });
    unsubscribe();
    diff({ bob: { metas: [meta('b1', 'Bob')] } });
    room.stop();
    diff({ cy: { metas: [meta('c1', 'Cy')] } });

    expect(joined).toEqual(['ada']);
    expect(Object.keys(room.list())).toEqual(['ada', 'bob']);
  });

  it('refuses a channel that is not a non-empty string', () => {
    expect(() => presence(open(), '')).toThrow(new TypeError(`presence(socket, channel): channel must be a non-empty string such as 'room:1', got "".`));
  });
});
