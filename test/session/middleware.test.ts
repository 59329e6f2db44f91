// sessionMiddleware: the cookie, which ids it trusts, expiry, a failing store, and upgrade requests.
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { WebSocket as WebSocketClient } from 'ws';
import {
  ConfigError,
  Module,
  OnMessage,
  WebSocket,
  memorySessionStore,
  reply,
  sessionMiddleware,
  type Connection,
  type Context,
  type Middleware,
  type Session,
  type SessionStore,
} from 'vela';
import { failingStore, idOf, manualClock, recordingStore, sessionCookie, SessionModule, signedCookie, TEST_SECRET, withSession } from './support.js';
import { startTestApp } from 'vela/testing';
import { plainFetch } from '../support/plain-fetch.js';

const ID_SHAPE = /^[A-Za-z0-9_-]{32}$/;
/** The cookie's value: the id, a dot, its HMAC-SHA256 signature in base64url. */
const COOKIE_SHAPE = /^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/;

async function sessionsApp(store: SessionStore = memorySessionStore(), ttl?: number) {
  const app = await startTestApp(SessionModule, { sessions: { store, ttl, secret: TEST_SECRET } });
  const get = (path: string, cookie?: string) => plainFetch(app, path, cookie ? withSession(cookie) : undefined);
  /** A fresh client's first request that reads its id: its session cookie. */
  const newSession = async () => sessionCookie(await get('/session'))!.value;
  return Object.assign(app, { get, newSession });
}

describe('the session cookie on first contact', () => {
  it('is HttpOnly, SameSite=Lax, Path=/, not Secure on http, and has no expiry', async () => {
    const app = await sessionsApp();

    const res = await app.get('/session');
    expect(res.status).toBe(200);
    const cookie = sessionCookie(res)!;
    expect(cookie.attributes).toEqual({ path: '/', samesite: 'lax', httponly: '' });
    expect(cookie.value).toMatch(COOKIE_SHAPE);
    expect(((await res.json()) as { id: string }).id).toBe(idOf(cookie.value));
  });

  it('is Secure when the request is HTTPS (here through a trusted proxy)', async () => {
    const app = await sessionsApp();
    app.koa.proxy = true;

    const res = await plainFetch(app, '/session', { headers: { 'x-forwarded-proto': 'https' } });
    expect(sessionCookie(res)!.attributes).toEqual({ path: '/', samesite: 'lax', secure: '', httponly: '' });
  });

  it('is not Secure when a proxy says https but the app does not trust proxies', async () => {
    const app = await sessionsApp();

    const res = await plainFetch(app, '/session', { headers: { 'x-forwarded-proto': 'https' } });
    expect(sessionCookie(res)!.attributes).not.toHaveProperty('secure');
  });

  it('carries a 192-bit random id: 32 base64url characters, different for every client', async () => {
    const app = await sessionsApp();

    const ids = (await Promise.all(Array.from({ length: 50 }, () => app.newSession()))).map(idOf);
    for (const id of ids) {
      expect(id).toMatch(ID_SHAPE);
      expect(Buffer.from(id, 'base64url')).toHaveLength(24);
    }
    expect(new Set(ids).size).toBe(50);
  });

  it('is sent once: a request with a valid cookie gets none back and keeps its id', async () => {
    const app = await sessionsApp();
    const cookie = await app.newSession();

    const res = await app.get('/session', cookie);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(((await res.json()) as { id: string }).id).toBe(idOf(cookie));
  });

  it('is sent only when a request needs an id: a request that never uses its session gets none and stores nothing', async () => {
    const store = recordingStore(memorySessionStore());
    const app = await sessionsApp(store);

    const res = await app.get('/no/such/route');
    expect(res.status).toBe(404);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(store.calls).toEqual([]);
  });

  it('is signed with the first secret of a list, and one signed with an older secret is signed again', async () => {
    const older = 'the secret being rotated out, 32+ characters';
    const app = await startTestApp(SessionModule, { sessions: { secret: [TEST_SECRET, older] } });
    const id = 'R'.repeat(32);
    const { signedIds } = await import('../../src/session/signed-id.js');

    const res = await plainFetch(app, '/session', withSession(signedIds(older, 'test').sign(id)));
    expect(((await res.json()) as { id: string }).id).toBe(id);
    expect(sessionCookie(res)!.value).toBe(signedCookie(id));
  });
});

describe('ids the client presents', () => {
  it('a forged or altered signature gets a fresh id and none of the data of any session, with no store lookup', async () => {
    const store = recordingStore(memorySessionStore());
    const app = await sessionsApp(store);
    const victim = await app.newSession();
    await app.get('/set?key=secret&value="victim"', victim);
    const flip = (text: string, at: number) => `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
    const { signedIds } = await import('../../src/session/signed-id.js');

    for (const forged of [flip(victim, 31), flip(victim, 75), signedIds('another app, another secret: 32+ chars', 'test').sign(idOf(victim))]) {
      store.calls.length = 0;
      const res = await app.get('/session?keys=secret', forged);
      const fresh = sessionCookie(res)!.value;
      expect(fresh).toMatch(COOKIE_SHAPE);
      expect(idOf(fresh)).not.toBe(idOf(forged));
      expect(idOf(fresh)).not.toBe(idOf(victim));
      expect(await res.json()).toEqual({ id: idOf(fresh), values: { secret: null } });
      expect(store.calls).toEqual([]);
    }
  });

  it('a malformed id gets no session and no store lookup', async () => {
    const store = recordingStore(memorySessionStore());
    const app = await sessionsApp(store);
    const valid = await app.newSession();

    for (const malformed of [`${valid}A`, valid.slice(1), idOf(valid), `${valid.slice(0, 74)}%3D`, '', 'x']) {
      store.calls.length = 0;
      const res = await app.get('/session', malformed);
      const fresh = sessionCookie(res)!.value;
      expect(fresh).toMatch(COOKIE_SHAPE);
      expect(fresh).not.toBe(valid);
      expect(store.calls).toEqual([]);
    }
  });

  it('an expired session keeps its id, and its data is gone', async () => {
    const clock = manualClock();
    const app = await sessionsApp(memorySessionStore({ now: clock.now }), 60_000);
    const cookie = await app.newSession();
    await app.get('/set?key=user&value=7', cookie);

    clock.advance(60_001);
    const res = await app.get('/session?keys=user', cookie);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(await res.json()).toEqual({ id: idOf(cookie), values: { user: null } });
  });

  it('a session in use does not expire: every request restarts its ttl', async () => {
    const clock = manualClock();
    const app = await sessionsApp(memorySessionStore({ now: clock.now }), 60_000);
    const cookie = await app.newSession();
    await app.get('/set?key=user&value=7', cookie);

    for (let minute = 0; minute < 5; minute++) {
      clock.advance(59_000);
      const res = await app.get('/session?keys=user', cookie);
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(await res.json()).toEqual({ id: idOf(cookie), values: { user: 7 } });
    }
  });
});

describe('a new session', () => {
  it('is stored only once a request writes to it, as anonymous, under the cookie id', async () => {
    const store = recordingStore(memorySessionStore());
    const app = await sessionsApp(store);

    const cookie = sessionCookie(await app.get('/session'))!.value;
    expect(store.calls).toEqual([]);
    expect(await store.load(idOf(cookie))).toBeUndefined();
    const res = await app.get('/set?key=cart&value=["tea"]', cookie);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(await store.load(idOf(cookie))).toEqual({ cart: ['tea'] });
  });

  it('a first request that writes gets its cookie and is stored', async () => {
    const store = memorySessionStore();
    const app = await sessionsApp(store);

    const res = await app.get('/set?key=cart&value=["tea"]');
    const cookie = sessionCookie(res)!.value;
    expect(((await res.json()) as { id: string }).id).toBe(idOf(cookie));
    expect(await store.load(idOf(cookie))).toEqual({ cart: ['tea'] });
  });
});

describe('a second session middleware on the same request', () => {
  it('fails the request with 500 and logs how to configure the one bootstrap runs', async () => {
    const app = await startTestApp(SessionModule, { middleware: [sessionMiddleware({ secret: TEST_SECRET })] });

    const res = await plainFetch(app, '/session');
    expect(res.status).toBe(500);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect((app.logs.entries[0]!.fields.error as Error).message).toBe(
      'A second session middleware ran on this request: bootstrap already runs one (for HTTP and WebSocket upgrades ' +
        "alike), and a second one gives the page a session id its sockets' conn.sessionId does not have, so Comms misses them. " +
        'Remove sessionMiddleware() from your middleware and configure the one bootstrap runs: bootstrap(App, { sessions: { store, ttl } }).',
    );
  });
});

describe('a failing store', () => {
  it('fails the request with 500 when load() throws, and logs the error naming the store', async () => {
    const inner = memorySessionStore();
    const app = await sessionsApp(failingStore(inner, 'load', 'connection refused'));

    const res = await app.get('/session', signedCookie('A'.repeat(32)));
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('connection refused');
    expect(app.logs.entries).toHaveLength(1);
    const entry = app.logs.entries[0]!;
    expect(entry).toMatchObject({ level: 'error', message: 'request failed', fields: { method: 'GET', path: '/session', status: 500 } });
    expect((entry.fields.error as Error).message).toBe(
      "Session store 'broken' failed in load(): connection refused. Requests that need a session fail with 500 until the store answers again.",
    );
    expect((entry.fields.error as Error).cause).toEqual(new Error('connection refused'));
  });

  it('fails a first request that writes with 500 when save() throws, and sends no session cookie', async () => {
    const app = await sessionsApp(failingStore(memorySessionStore(), 'save', 'disk full'));

    const res = await app.get('/set?key=a&value=1');
    expect(res.status).toBe(500);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect((app.logs.entries[0]!.fields.error as Error).message).toBe(
      "Session store 'broken' failed in save(): disk full. Requests that need a session fail with 500 until the store answers again.",
    );
  });

  it('fails the request with 500 when touch() throws at the end of a request', async () => {
    const inner = memorySessionStore();
    const id = 'B'.repeat(32);
    await inner.save(id, {}, 60_000);
    const app = await sessionsApp(failingStore(inner, 'touch', 'timeout'));

    const res = await app.get('/session', signedCookie(id));
    expect(res.status).toBe(500);
    expect((app.logs.entries[0]!.fields.error as Error).message).toMatch(/^Session store 'broken' failed in touch\(\): timeout\./);
  });
});

describe('sessionMiddleware options', () => {
  it('names the cookie after { cookie }', async () => {
    const app = await startTestApp(SessionModule, { sessions: { cookie: 'sid' } });

    const first = await plainFetch(app, '/session');
    const cookie = sessionCookie(first, 'sid')!.value;
    expect(sessionCookie(first)).toBeUndefined();
    const again = await plainFetch(app, '/session', withSession(cookie, 'sid'));
    expect(again.headers.getSetCookie()).toEqual([]);
    expect(((await again.json()) as { id: string }).id).toBe(idOf(cookie));
  });

  it('refuses a ttl that is not a positive whole number of milliseconds', () => {
    expect(() => sessionMiddleware({ ttl: 0 })).toThrow(ConfigError);
    expect(() => sessionMiddleware({ ttl: 1.5 })).toThrow(
      'sessionMiddleware({ ttl: 1.5 }): ttl must be a positive whole number of milliseconds, e.g. 86_400_000 for 24 hours.',
    );
  });

  it('refuses a secret shorter than 32 characters, or an empty list', () => {
    const message =
      'sessionMiddleware({ secret }): a session secret is a string of 32 characters or more (or a non-empty list of them, newest first), ' +
      'e.g. process.env.SESSION_SECRET made with `openssl rand -base64 32`.';
    expect(() => sessionMiddleware({ secret: 'short' })).toThrow(message);
    expect(() => sessionMiddleware({ secret: [] })).toThrow(message);
    expect(() => sessionMiddleware({ secret: [TEST_SECRET, 'short'] })).toThrow(ConfigError);
  });

  it('refuses a store without a secret of its own when no secret is given', () => {
    const store: SessionStore = { name: 'mine', load: async () => undefined, save: async () => {}, touch: async () => {}, destroy: async () => {} };
    expect(() => sessionMiddleware({ store })).toThrow(
      "sessionMiddleware({ store: 'mine' }): this store has no secret() of its own, and every node sharing it must sign " +
        'session cookies with the same secret: pass sessions: { secret: process.env.SESSION_SECRET } (32 characters or more).',
    );
    expect(() => sessionMiddleware({ store, secret: TEST_SECRET })).not.toThrow();
  });

  it('refuses a cookie name that is not an HTTP token', () => {
    expect(() => sessionMiddleware({ cookie: 'my session' })).toThrow(
      `sessionMiddleware({ cookie: "my session" }): a cookie name is letters, digits and !#$%&'*+-.^_\`|~ only, e.g. 'session_id'.`,
    );
  });
});

describe('on a WebSocket upgrade request', () => {
  function gatewayApp(store: SessionStore, middleware: Middleware[] = []) {
    @WebSocket('/ws', {
      // What a gateway's security sees: the session of the upgrade request.
      security: (ctx: Context) => ((ctx.state.session as Session).get('user') === undefined ? false : true),
    })
    class ChatGateway {
      @OnMessage()
      echo(text: string) {
        return reply(text);
      }
    }
    @WebSocket('/public', { middleware })
    class PublicGateway {
      init(conn: Connection) {
        return reply(conn.sessionId ?? 'no session');
      }

      @OnMessage()
      echo(text: string) {
        return reply(text);
      }
    }
    @Module({ imports: [SessionModule], gateways: [ChatGateway, PublicGateway] })
    class AppModule {}
    return startTestApp(AppModule, { sessions: { store } });
  }

  /** Opens a socket; resolves with the handshake response's session cookie once it is open. */
  function connect(url: string, headers: Record<string, string> = {}) {
    const socket = new WebSocketClient(url.replace(/^http/, 'ws'), { headers });
    // Listening before the socket opens: a reply from init may arrive in the same read as the 101.
    const firstMessage = once(socket, 'message').then(([data]) => String(data));
    firstMessage.catch(() => {});
    return new Promise<{ socket: WebSocketClient; setCookie: string[]; firstMessage: Promise<string> }>((resolve, reject) => {
      let setCookie: string[] = [];
      socket.once('upgrade', (res) => (setCookie = res.headers['set-cookie'] ?? []));
      socket.once('open', () => resolve({ socket, setCookie, firstMessage }));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      socket.once('error', reject);
    });
  }

  it('gives a first-contact upgrade no session: no cookie on the 101, nothing stored, no conn.sessionId', async () => {
    const store = recordingStore(memorySessionStore());
    const app = await gatewayApp(store);

    const { socket, setCookie, firstMessage } = await connect(`${app.url}/public`);
    expect(setCookie).toEqual([]);
    expect(store.calls).toEqual([]);
    expect(await firstMessage).toBe('no session');
    socket.close();
  });

  it('starts a session on an upgrade whose middleware needs one: the 101 carries the cookie and conn.sessionId is its id', async () => {
    const app = await gatewayApp(memorySessionStore(), [
      async (ctx, next) => {
        void (ctx.state.session as Session).id;
        await next();
      },
    ]);

    const { socket, setCookie, firstMessage } = await connect(`${app.url}/public`);
    expect(setCookie).toHaveLength(1);
    const [pair, ...attributes] = setCookie[0]!.split('; ');
    const value = pair!.replace(/^session_id=/, '');
    expect(value).toMatch(COOKIE_SHAPE);
    expect(attributes).toEqual(['path=/', 'samesite=lax', 'httponly']);
    expect(await firstMessage).toBe(idOf(value));
    socket.close();
  });

  it("gives a gateway's security the session of the HTTP requests that came before", async () => {
    const store = memorySessionStore();
    const app = await gatewayApp(store);
    const id = sessionCookie(await plainFetch(app, '/session'))!.value;

    await expect(connect(`${app.url}/ws`, { cookie: `session_id=${id}` })).rejects.toThrow('HTTP 401');
    await plainFetch(app, '/set?key=user&value="ada"', withSession(id));
    const { socket, setCookie } = await connect(`${app.url}/ws`, { cookie: `session_id=${id}` });
    expect(setCookie).toEqual([]);
    socket.close();
  });
});
