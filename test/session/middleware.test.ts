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
  type Session,
  type SessionStore,
} from 'vela';
import { start } from '../support/start.js';
import { failingStore, manualClock, recordingStore, sessionCookie, SessionModule, withSession } from './support.js';

const ID_SHAPE = /^[A-Za-z0-9_-]{32}$/;

async function sessionsApp(store: SessionStore = memorySessionStore(), ttl?: number) {
  const app = await start(SessionModule, { sessions: { store, ttl } });
  const get = (path: string, id?: string) => app.fetch(path, id ? withSession(id) : undefined);
  /** A fresh client's first request: its session id. */
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
    expect(((await res.json()) as { id: string }).id).toBe(cookie.value);
  });

  it('is Secure when the request is HTTPS (here through a trusted proxy)', async () => {
    const app = await sessionsApp();
    app.koa.proxy = true;

    const res = await app.fetch('/session', { headers: { 'x-forwarded-proto': 'https' } });
    expect(sessionCookie(res)!.attributes).toEqual({ path: '/', samesite: 'lax', secure: '', httponly: '' });
  });

  it('is not Secure when a proxy says https but the app does not trust proxies', async () => {
    const app = await sessionsApp();

    const res = await app.fetch('/session', { headers: { 'x-forwarded-proto': 'https' } });
    expect(sessionCookie(res)!.attributes).not.toHaveProperty('secure');
  });

  it('carries a 192-bit random id: 32 base64url characters, different for every client', async () => {
    const app = await sessionsApp();

    const ids = await Promise.all(Array.from({ length: 50 }, () => app.newSession()));
    for (const id of ids) {
      expect(id).toMatch(ID_SHAPE);
      expect(Buffer.from(id, 'base64url')).toHaveLength(24);
    }
    expect(new Set(ids).size).toBe(50);
  });

  it('is sent once: a request with a valid cookie gets none back and keeps its id', async () => {
    const app = await sessionsApp();
    const id = await app.newSession();

    const res = await app.get('/session', id);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(((await res.json()) as { id: string }).id).toBe(id);
  });

  it('is for every request, routed or not', async () => {
    const app = await sessionsApp();

    const res = await app.get('/no/such/route');
    expect(res.status).toBe(404);
    expect(sessionCookie(res)!.value).toMatch(ID_SHAPE);
  });
});

describe('ids the client presents', () => {
  it('a forged, well-formed id gets a fresh id and none of the data of any session', async () => {
    const store = recordingStore(memorySessionStore());
    const app = await sessionsApp(store);
    const victim = await app.newSession();
    await app.get('/set?key=secret&value="victim"', victim);
    const forged = `${victim.slice(0, 31)}${victim[31] === 'A' ? 'B' : 'A'}`;

    const res = await app.get('/session?keys=secret', forged);
    const fresh = sessionCookie(res)!.value;
    expect(fresh).toMatch(ID_SHAPE);
    expect(fresh).not.toBe(forged);
    expect(fresh).not.toBe(victim);
    expect(await res.json()).toEqual({ id: fresh, values: { secret: null } });
    // The forged id was looked up, then never stored: it cannot become a session later.
    expect(store.calls).toContainEqual(['load', forged]);
    expect(store.calls.filter(([, id]) => id === forged)).toEqual([['load', forged]]);
    expect(await store.load(forged)).toBeUndefined();
  });

  it('a malformed id gets a fresh id without a store lookup', async () => {
    const store = recordingStore(memorySessionStore());
    const app = await sessionsApp(store);
    const valid = await app.newSession();

    for (const malformed of [`${valid}A`, valid.slice(1), `${valid.slice(0, 31)}.`, `${valid.slice(0, 30)}%3D`, '', 'x']) {
      store.calls.length = 0;
      const res = await app.get('/session', malformed);
      const fresh = sessionCookie(res)!.value;
      expect(fresh).toMatch(ID_SHAPE);
      expect(fresh).not.toBe(valid);
      expect(store.calls).toEqual([['save', fresh]]);
    }
  });

  it('an expired session gets a fresh id and its data is gone', async () => {
    const clock = manualClock();
    const app = await sessionsApp(memorySessionStore({ now: clock.now }), 60_000);
    const id = await app.newSession();
    await app.get('/set?key=user&value=7', id);

    clock.advance(60_001);
    const res = await app.get('/session?keys=user', id);
    const fresh = sessionCookie(res)!.value;
    expect(fresh).not.toBe(id);
    expect(await res.json()).toEqual({ id: fresh, values: { user: null } });
  });

  it('a session in use does not expire: every request restarts its ttl', async () => {
    const clock = manualClock();
    const app = await sessionsApp(memorySessionStore({ now: clock.now }), 60_000);
    const id = await app.newSession();
    await app.get('/set?key=user&value=7', id);

    for (let minute = 0; minute < 5; minute++) {
      clock.advance(59_000);
      const res = await app.get('/session?keys=user', id);
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(await res.json()).toEqual({ id, values: { user: 7 } });
    }
  });
});

describe('a new session', () => {
  it('is in the store before the handler runs, empty, under the cookie id', async () => {
    const store = memorySessionStore();
    const seen: unknown[] = [];
    const app = await start(SessionModule, {
      sessions: { store },
      middleware: [
        async (ctx, next) => {
          seen.push(await store.load((ctx.state.session as Session).id));
          await next();
        },
      ],
    });

    const id = sessionCookie(await app.fetch('/session'))!.value;
    expect(seen).toEqual([{}]);
    expect(await store.load(id)).toEqual({});
  });
});

describe('a failing store', () => {
  it('fails the request with 500 when load() throws, and logs the error naming the store', async () => {
    const inner = memorySessionStore();
    const app = await sessionsApp(failingStore(inner, 'load', 'connection refused'));

    const res = await app.get('/session', 'A'.repeat(32));
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('connection refused');
    expect(app.log.entries).toHaveLength(1);
    const entry = app.log.entries[0]!;
    expect(entry).toMatchObject({ level: 'error', message: 'request failed', fields: { method: 'GET', path: '/session', status: 500 } });
    expect((entry.fields.error as Error).message).toBe(
      "Session store 'broken' failed in load(): connection refused. Requests that need a session fail with 500 until the store answers again.",
    );
    expect((entry.fields.error as Error).cause).toEqual(new Error('connection refused'));
  });

  it('fails a first request with 500 when save() throws, and sends no session cookie', async () => {
    const app = await sessionsApp(failingStore(memorySessionStore(), 'save', 'disk full'));

    const res = await app.get('/session');
    expect(res.status).toBe(500);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect((app.log.entries[0]!.fields.error as Error).message).toBe(
      "Session store 'broken' failed in save(): disk full. Requests that need a session fail with 500 until the store answers again.",
    );
  });

  it('fails the request with 500 when touch() throws at the end of a request', async () => {
    const inner = memorySessionStore();
    const id = 'B'.repeat(32);
    await inner.save(id, {}, 60_000);
    const app = await sessionsApp(failingStore(inner, 'touch', 'timeout'));

    const res = await app.get('/session', id);
    expect(res.status).toBe(500);
    expect((app.log.entries[0]!.fields.error as Error).message).toMatch(/^Session store 'broken' failed in touch\(\): timeout\./);
  });
});

describe('sessionMiddleware options', () => {
  it('names the cookie after { cookie }', async () => {
    const app = await start(SessionModule, { sessions: { cookie: 'sid' } });

    const first = await app.fetch('/session');
    const id = sessionCookie(first, 'sid')!.value;
    expect(sessionCookie(first)).toBeUndefined();
    const again = await app.fetch('/session', withSession(id, 'sid'));
    expect(again.headers.getSetCookie()).toEqual([]);
    expect(((await again.json()) as { id: string }).id).toBe(id);
  });

  it('refuses a ttl that is not a positive whole number of milliseconds', () => {
    expect(() => sessionMiddleware({ ttl: 0 })).toThrow(ConfigError);
    expect(() => sessionMiddleware({ ttl: 1.5 })).toThrow(
      'sessionMiddleware({ ttl: 1.5 }): ttl must be a positive whole number of milliseconds, e.g. 86_400_000 for 24 hours.',
    );
  });

  it('refuses a cookie name that is not an HTTP token', () => {
    expect(() => sessionMiddleware({ cookie: 'my session' })).toThrow(
      `sessionMiddleware({ cookie: "my session" }): a cookie name is letters, digits and !#$%&'*+-.^_\`|~ only, e.g. 'session_id'.`,
    );
  });
});

describe('on a WebSocket upgrade request', () => {
  function gatewayApp(store: SessionStore) {
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
    @WebSocket('/public')
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
    return start(AppModule, { sessions: { store } });
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

  it('starts a session on a first-contact upgrade: the 101 carries the cookie, the store has the id', async () => {
    const store = memorySessionStore();
    const app = await gatewayApp(store);

    const { socket, setCookie, firstMessage } = await connect(`${app.url}/public`);
    expect(setCookie).toHaveLength(1);
    const [pair, ...attributes] = setCookie[0]!.split('; ');
    const id = pair!.replace(/^session_id=/, '');
    expect(id).toMatch(ID_SHAPE);
    expect(attributes).toEqual(['path=/', 'samesite=lax', 'httponly']);
    expect(await store.load(id)).toEqual({});
    expect(await firstMessage).toBe(id); // conn.sessionId is the session the 101 started
    socket.close();
  });

  it("gives a gateway's security the session of the HTTP requests that came before", async () => {
    const store = memorySessionStore();
    const app = await gatewayApp(store);
    const id = sessionCookie(await app.fetch('/session'))!.value;

    await expect(connect(`${app.url}/ws`, { cookie: `session_id=${id}` })).rejects.toThrow('HTTP 401');
    await app.fetch('/set?key=user&value="ada"', withSession(id));
    const { socket, setCookie } = await connect(`${app.url}/ws`, { cookie: `session_id=${id}` });
    expect(setCookie).toEqual([]);
    socket.close();
  });
});
