// ctx.state.session: values across requests of one client, and destroy() for log-out.
import { describe, expect, it } from 'vitest';
import { memorySessionStore, type SessionStore } from 'vela';
import { RequestSession } from '../../src/session/session.js';
import { idOf, recordingStore, sessionCookie, SessionModule, withSession } from './support.js';
import { startTestApp } from 'vela/testing';
import { plainFetch } from '../support/plain-fetch.js';

/** For a RequestSession built by hand, outside the middleware: destroy and regenerate are not called. */
const NO_HOOKS = { start: () => 'C'.repeat(32), destroy: async () => {}, regenerate: async () => 'B'.repeat(32) };

async function sessionsApp(store: SessionStore = memorySessionStore()) {
  const app = await startTestApp(SessionModule, { sessions: { store } });
  const get = (path: string, id?: string) => plainFetch(app, path, id ? withSession(id) : undefined);
  const values = async (id: string, keys: string) => ((await (await get(`/session?keys=${keys}`, id)).json()) as { values: unknown }).values;
  const newSession = async () => sessionCookie(await get('/session'))!.value;
  return Object.assign(app, { get, values, newSession });
}

describe('#set and #get', () => {
  it('keep a value for the next requests of the same client only', async () => {
    const app = await sessionsApp();
    const ada = await app.newSession();
    const bob = await app.newSession();

    await app.get('/set?key=user&value={"name":"Ada","roles":["admin"]}', ada);
    expect(await app.values(ada, 'user')).toEqual({ user: { name: 'Ada', roles: ['admin'] } });
    expect(await app.values(ada, 'user')).toEqual({ user: { name: 'Ada', roles: ['admin'] } });
    expect(await app.values(bob, 'user')).toEqual({ user: null });
  });

  it('replaces a value, and keeps the other keys set by earlier requests', async () => {
    const app = await sessionsApp();
    const id = await app.newSession();

    await app.get('/set?key=theme&value="dark"', id);
    await app.get('/set?key=lang&value="en"', id);
    await app.get('/set?key=lang&value="fr"', id);
    expect(await app.values(id, 'theme,lang')).toEqual({ theme: 'dark', lang: 'fr' });
  });

  it('sets a value on the very first request, under the new cookie id', async () => {
    const app = await sessionsApp();

    const res = await app.get('/set?key=cart&value=["apple"]');
    const id = sessionCookie(res)!.value;
    expect(await app.values(id, 'cart')).toEqual({ cart: ['apple'] });
  });

  it("keeps a key such as '__proto__' a plain key", async () => {
    const app = await sessionsApp();
    const id = await app.newSession();

    await app.get('/set?key=__proto__&value={"admin":true}', id);
    expect(await app.values(id, '__proto__,admin')).toEqual({ ['__proto__']: { admin: true }, admin: null });
  });

  it('saves only requests that changed something, and touches the others', async () => {
    const store = recordingStore(memorySessionStore());
    const app = await sessionsApp(store);
    const cookie = await app.newSession();
    const id = idOf(cookie);
    store.calls.length = 0;

    await app.get('/session', cookie);
    await app.get('/set?key=a&value=1', cookie);
    await app.get('/delete?key=missing', cookie);
    await app.get('/session', cookie);
    expect(store.calls).toEqual([
      // Not stored yet: nothing to touch.
      ['load', id],
      ['load', id],
      ['save', id],
      ['load', id],
      ['touch', id],
      ['load', id],
      ['touch', id],
    ]);
  });
});

describe('#delete', () => {
  it('removes the key from the next requests', async () => {
    const store = memorySessionStore();
    const app = await sessionsApp(store);
    const id = await app.newSession();
    await app.get('/set?key=a&value=1', id);
    await app.get('/set?key=b&value=2', id);

    await app.get('/delete?key=a', id);
    expect(await app.values(id, 'a,b')).toEqual({ a: null, b: 2 });
    expect(await store.load(idOf(id))).toEqual({ b: 2 });
  });

  it('is what set(key, undefined) does, as JSON would drop the key anyway', () => {
    const session = new RequestSession('A'.repeat(32), { a: 1, b: 2 }, false, NO_HOOKS);

    session.set('a', undefined);
    expect(session.get('a')).toBeUndefined();
    expect(session.changed).toBe(true);
    expect(session.data()).toEqual({ b: 2 });
    expect(Object.keys(session.data())).toEqual(['b']);
  });

  it('of a key that is not there changes nothing', () => {
    const session = new RequestSession('A'.repeat(32), { a: 1 }, false, NO_HOOKS);

    session.delete('b');
    expect(session.changed).toBe(false);
  });
});

describe('#destroy', () => {
  it('forgets the data, clears the cookie, and the next request starts a new session', async () => {
    const store = memorySessionStore();
    const app = await sessionsApp(store);
    const cookie = await app.newSession();
    await app.get('/set?key=secret&value="s3"', cookie);

    const res = await app.get('/destroy', cookie);
    expect(await res.json()).toEqual({ destroyed: idOf(cookie), after: null });
    const cleared = sessionCookie(res)!;
    expect(cleared.value).toBe('');
    expect(cleared.attributes).toEqual({ path: '/', expires: 'Thu, 01 Jan 1970 00:00:00 GMT', samesite: 'lax', httponly: '' });
    expect(await store.load(idOf(cookie))).toBeUndefined();

    // The browser dropped the cookie: its next request gets a new id.
    const next = await app.get('/session?keys=secret');
    const fresh = sessionCookie(next)!.value;
    expect(idOf(fresh)).not.toBe(idOf(cookie));
    expect(await next.json()).toEqual({ id: idOf(fresh), values: { secret: null } });
    // A copy of the old cookie still names a signed id, but its data is gone for good.
    expect(await app.values(cookie, 'secret')).toEqual({ secret: null });
  });

  it('on a session started by the same request sends only the clearing cookie and leaves nothing stored', async () => {
    const store = memorySessionStore();
    const app = await sessionsApp(store);

    const res = await app.get('/destroy');
    expect(res.headers.getSetCookie()).toHaveLength(1);
    expect(sessionCookie(res)!.value).toBe('');
    expect(store.size).toBe(0);
  });

  it('refuses a set() after it in the same request', async () => {
    const app = await sessionsApp();
    const id = await app.newSession();

    const res = await app.get('/destroy-then-set', id);
    expect(res.status).toBe(500);
    expect((app.logs.entries[0]!.fields.error as Error).message).toBe(
      "Session.set('secret') after destroy(): a destroyed session takes no values. The client's next request starts a new session; set the value there.",
    );
  });
});
