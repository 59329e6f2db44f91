// Case 33: anyone could log everyone out. Every cookie-less request saved a session, and the memory
// store's LRU then evicted logged-in users. Sessions are lazy now: a request that never uses its
// session costs no store write and sends no cookie; anonymous sessions that do write live apart
// from logged-in ones; a page and its sockets share one signed id; a forged signature is refused.
import { request as httpRequest, Agent } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket as WsClient } from 'ws';
import {
  Comms,
  Controller,
  Module,
  OnMessage,
  Route,
  WebSocket,
  csrf,
  json,
  memorySessionStore,
  redisSessionStore,
  reply,
  type Connection,
  type Context,
  type SessionStore,
} from 'vela';
import { SessionPagesController } from './session-support.js';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { rawRedis, testPrefix } from '../redis/support.js';
import { startTestApp, type TestApp } from 'vela/testing';

// Enough to show that nothing is kept per request (a leak of one entry each would show as thousands);
// the 200 000-request figures are bench/session-flood.mjs's, not a test's.
const FLOOD = 1_000;
const CONCURRENCY = 32;
const PUBLIC = mkdtempSync(join(tmpdir(), 'vela-session-flood-'));
writeFileSync(join(PUBLIC, 'app.css'), 'body { margin: 0 }\n');

@WebSocket('/live')
class LiveGateway {
  init(conn: Connection) {
    return reply(conn.sessionId ?? 'no session');
  }

  @OnMessage()
  echo(text: string) {
    return reply(text);
  }
}

/** Comms from an HTTP request to the sockets of its own session. */
@Controller()
class NotifyController {
  constructor(private readonly comms: Comms) {}

  @Route('/notify', { methods: ['post'] })
  notify(ctx: Context) {
    return json({ reached: this.comms.send(ctx.state.session.id, 'for your sockets only') }, { status: 200 });
  }
}

@Module({ controllers: [SessionPagesController, NotifyController], gateways: [LiveGateway], static: [{ prefix: '/assets', dir: PUBLIC }] })
class FloodModule {}

function floodApp(store: SessionStore): Promise<TestApp> {
  return startTestApp(FloodModule, { sessions: { store }, middleware: [csrf({ exclude: ['/login', '/notify', '/transfer'] })] });
}

interface Answer {
  status: number;
  setCookie: string[];
}

/** One cookie-less HTTP request on a keep-alive agent (fetch is slower, and this is thousands of them). */
function send(agent: Agent, url: string, method: string, cookie?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent, method, headers: cookie ? { cookie } : {} }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode!, setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.once('error', reject);
    req.end();
  });
}

/** One WebSocket opened without a cookie and closed again: the 101's Set-Cookie and the first message. */
function openAndClose(url: string, headers: Record<string, string> = {}): Promise<Answer & { first: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WsClient(url, { perMessageDeflate: false, headers });
    let setCookie: string[] = [];
    ws.once('upgrade', (res) => (setCookie = res.headers['set-cookie'] ?? []));
    ws.once('message', (data) => {
      const first = String(data);
      ws.once('close', () => resolve({ status: 101, setCookie, first }));
      ws.close(1000);
    });
    ws.once('error', reject);
  });
}

/** Runs `count` calls of `one`, CONCURRENCY at a time; counts the answers that set a cookie or failed. */
async function flood(count: number, one: () => Promise<Answer>, expectedStatus: number) {
  let cookies = 0;
  let unexpected = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      const answer = await one();
      if (answer.setCookie.length > 0) cookies += 1;
      if (answer.status !== expectedStatus) unexpected += 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { cookies, unexpected };
}

/** FLOOD cookie-less requests of each kind; what each kind left behind. */
async function floodEveryKind(app: TestApp) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  onTestFinished(() => agent.destroy());
  const ws = app.url.replace(/^http/, 'ws');
  return {
    notFound: await flood(FLOOD, () => send(agent, `${app.url}/no/such/page`, 'GET'), 404),
    staticFile: await flood(FLOOD, () => send(agent, `${app.url}/assets/app.css`, 'GET'), 200),
    options: await flood(FLOOD, () => send(agent, `${app.url}/page`, 'OPTIONS'), 200),
    upgrade: await flood(FLOOD, () => openAndClose(`${ws}/live`), 101),
  };
}

const NOTHING = { cookies: 0, unexpected: 0 };

/** A cookie header from a Set-Cookie line. */
const cookieOf = (setCookie: readonly string[]) => setCookie[0]!.split(';')[0]!;

describe('33. sessions under a flood of anonymous clients', () => {
  it(`33. ${FLOOD} cookie-less requests of each kind (404, static file, OPTIONS, upgrade) store nothing and set no cookie (memory store)`, async () => {
    const store = memorySessionStore();
    const app = await floodApp(store);

    const left = await floodEveryKind(app);
    console.info(`[33] memory store after ${4 * FLOOD} cookie-less requests: ${store.size} sessions`, left);
    expect(left).toEqual({ notFound: NOTHING, staticFile: NOTHING, options: NOTHING, upgrade: NOTHING });
    expect(store.size).toBe(0);
  }, 600_000);

  it.skipIf(redisMissing)(`33. ${FLOOD} cookie-less requests of each kind store no Redis key and set no cookie (Redis store)`, async () => {
    const keyPrefix = `${testPrefix()}:session:`;
    const redis = rawRedis(REDIS_URL);
    const app = await floodApp(redisSessionStore({ url: REDIS_URL, keyPrefix }));
    const before = await redis.keys(`${keyPrefix}*`);

    const left = await floodEveryKind(app);
    const after = await redis.keys(`${keyPrefix}*`);
    console.info(`[33] Redis store after ${4 * FLOOD} cookie-less requests: ${after.length - before.length} new keys`, left);
    expect(left).toEqual({ notFound: NOTHING, staticFile: NOTHING, options: NOTHING, upgrade: NOTHING });
    // The one shared signing secret, made by the first request that needed it, is the only key.
    expect(after.filter((key) => !before.includes(key) && key !== `${keyPrefix}secret`)).toEqual([]);
  }, 600_000);

  it('33. a logged-in user survives 3 000 anonymous sessions that write (a form page), with the capacity lowered to 1 000', async () => {
    const store = memorySessionStore({ maxEntries: 1_000, maxAnonymous: 1_000 });
    const app = await floodApp(store);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    onTestFinished(() => agent.destroy());
    const login = await send(agent, `${app.url}/login`, 'POST');
    const victim = cookieOf(login.setCookie);

    const visitors = await flood(3_000, () => send(agent, `${app.url}/form`, 'GET'), 200);
    console.info(`[33] memory store after 3 000 anonymous writers: ${store.size} sessions, ${visitors.cookies} cookies sent`);
    expect(visitors).toEqual({ cookies: 3_000, unexpected: 0 });
    expect(store.size).toBeLessThanOrEqual(1_001);
    const me = await app.http.fetch('/me', { headers: { cookie: victim } });
    expect(await me.json()).toEqual({ user: 'victim' });
  }, 600_000);

  it.skipIf(redisMissing)('33. the Redis store stays bounded under 1 000 anonymous sessions that write beyond its cap of 1 000, and the logged-in user survives', async () => {
    const keyPrefix = `${testPrefix()}:session:`;
    const redis = rawRedis(REDIS_URL);
    const app = await floodApp(redisSessionStore({ url: REDIS_URL, keyPrefix, maxAnonymous: 1_000 }));
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    onTestFinished(() => agent.destroy());
    const victim = cookieOf((await send(agent, `${app.url}/login`, 'POST')).setCookie);

    const visitors = await flood(FLOOD, () => send(agent, `${app.url}/form`, 'GET'), 200);
    const keys = await redis.keys(`${keyPrefix}*`);
    console.info(`[33] Redis store after ${FLOOD} anonymous writers: ${keys.length} keys`);
    expect(visitors).toEqual({ cookies: FLOOD, unexpected: 0 });
    // 1 000 anonymous sessions, the victim's, the index of anonymous ids and the secret.
    expect(keys.length).toBe(1_003);
    expect(await (await app.http.fetch('/me', { headers: { cookie: victim } })).json()).toEqual({ user: 'victim' });
  }, 600_000);

  it("33. a page and its sockets share one id: Comms reaches the page's socket, and a cookie-less socket has no session", async () => {
    const app = await floodApp(memorySessionStore());
    const page = await app.http.fetch('/page');
    const { id } = (await page.json()) as { id: string };
    const cookie = cookieOf(page.headers.getSetCookie());
    const ws = app.url.replace(/^http/, 'ws');

    const socket = new WsClient(`${ws}/live`, { headers: { cookie } });
    const messages: string[] = [];
    const firstTwo = new Promise<void>((resolve) => socket.on('message', (data) => messages.push(String(data)) === 2 && resolve()));
    await new Promise((resolve) => socket.once('open', resolve));
    const stranger = await openAndClose(`${ws}/live`);
    const notified = await app.http.fetch('/notify', { method: 'POST', headers: { cookie } });
    await firstTwo;
    socket.close();

    expect(await notified.json()).toEqual({ reached: 1 });
    expect(messages).toEqual([id, 'for your sockets only']);
    expect(stranger).toMatchObject({ first: 'no session', setCookie: [] });
  });

  it('33. a forged or altered signature is refused: the client gets a new id, never the one it presented', async () => {
    const app = await floodApp(memorySessionStore());
    const page = await app.http.fetch('/page');
    const { id } = (await page.json()) as { id: string };
    const value = cookieOf(page.headers.getSetCookie()).slice('session_id='.length);
    const flip = (text: string, at: number) => `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
    const ws = app.url.replace(/^http/, 'ws');

    for (const forged of [id, flip(value, 0), flip(value, value.length - 1), `${id}.${'A'.repeat(43)}`]) {
      const res = await app.http.fetch('/page', { headers: { cookie: `session_id=${forged}` } });
      const seen = ((await res.json()) as { id: string }).id;
      expect(seen, forged).not.toBe(id);
      expect(cookieOf(res.headers.getSetCookie()), forged).toMatch(new RegExp(`^session_id=${seen}\\.`));
      const socket = await openAndClose(`${ws}/live`, { cookie: `session_id=${forged}` });
      expect(socket.first, forged).toBe('no session');
    }
  });
});
