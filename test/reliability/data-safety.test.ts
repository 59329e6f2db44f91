// Reliability battery, data safety: a broadcast to 1,000 members reaches every one of them, whole and
// in order (25); a session is never corrupted by concurrent requests, expires, cannot be read with a
// forged id, and survives no fixation attack once the app regenerates it at login (26).
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket as WsClient } from 'ws';
import {
  Controller,
  Injectable,
  Module,
  OnInfo,
  OnMessage,
  PubSub,
  Route,
  WebSocket,
  json,
  memorySessionStore,
  redisSessionStore,
  reply,
  type Context,
  type PubSubMessage,
  type SessionStore,
} from 'vela';
import { REDIS_URL, redisMissing } from '../support/redis.js';
// Gate holds one request mid-way (`entered`) until the test lets it go (`release()`).
import { Gate, eventually } from '../pubsub/support.js';
import { idOf, manualClock, sessionCookie, withSession } from '../session/support.js';
import { rawRedis, testPrefix } from '../redis/support.js';
import { startTestApp, type TestApp } from 'vela/testing';
import { plainFetch } from '../support/plain-fetch.js';

describe('25. broadcast under load', () => {
  @WebSocket('/load')
  class LoadGateway {
    constructor(private readonly pubsub: PubSub) {}

    init() {
      this.pubsub.join('load');
    }

    @OnMessage()
    ignore() {}

    @OnInfo({ channel: 'load' })
    push(message: PubSubMessage<string>) {
      return reply(message.payload);
    }
  }
  @Module({ gateways: [LoadGateway] })
  class LoadModule {}

  const MEMBERS = 1_000;
  const MESSAGES = 1_000;

  /** A bare ws client that checks every frame against the next number it expects, as it arrives. */
  function member(app: TestApp): Promise<{ ws: WsClient; done: Promise<void>; state: { next: number; wrong: string[] } }> {
    const ws = new WsClient(app.url.replace(/^http/, 'ws') + '/load');
    const state = { next: 0, wrong: [] as string[] };
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    ws.on('message', (data: Buffer) => {
      const got = data.toString();
      if (got !== String(state.next) && state.wrong.length < 5) state.wrong.push(`expected ${state.next}, got ${got}`);
      state.next += 1;
      if (state.next === MESSAGES + 1) finish();
    });
    ws.once('close', () => finish());
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ ws, done, state }));
      ws.once('error', reject);
    });
  }

  it(`25. broadcast under load: ${MEMBERS} members × ${MESSAGES} messages, none slow: every member gets all of them, in order`, async () => {
    const app = await startTestApp(LoadModule);
    const members: Awaited<ReturnType<typeof member>>[] = [];
    onTestFinished(() => {
      for (const { ws } of members) ws.terminate();
    });
    const connecting = Date.now();
    for (let batch = 0; batch < MEMBERS; batch += 100) members.push(...(await Promise.all(Array.from({ length: 100 }, () => member(app)))));
    const connectMs = Date.now() - connecting;
    // init (the join) has run by the time the client sees the 101.
    expect(app.pubsub.localMembers('load')).toHaveLength(MEMBERS);

    const sending = Date.now();
    for (let seq = 0; seq < MESSAGES; seq += 1) {
      await app.pubsub.broadcast('load', 'n', String(seq));
      // A stream, not one burst: every 50 messages the clients (in this process) get to read.
      if (seq % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    }
    // One more after the last: a member that got anything twice or out of order has recorded it by then.
    await app.pubsub.broadcast('load', 'n', String(MESSAGES));
    await Promise.all(members.map((m) => m.done));
    const deliverMs = Date.now() - sending;

    const short = members.filter((m) => m.state.next !== MESSAGES + 1);
    const disordered = members.filter((m) => m.state.wrong.length > 0);
    expect(short.map((m) => m.state.next)).toEqual([]);
    expect(disordered.map((m) => m.state.wrong)).toEqual([]);
    expect(members.every((m) => m.ws.readyState === WsClient.OPEN)).toBe(true); // none was cut as slow
    expect(app.logs.entries.filter((entry) => entry.level !== 'debug')).toEqual([]);
    const frames = MEMBERS * (MESSAGES + 1);
    console.info(`[25] ${MEMBERS} sockets connected in ${connectMs} ms; ${frames} frames delivered in order in ${deliverMs} ms (${Math.round(frames / (deliverMs / 1000))} frames/s)`);
  }, 60_000);
});

/** Holds requests until `count` of them are inside their handler: they all loaded the same session. */
@Injectable()
class Barrier {
  #count = Infinity;
  #arrived = 0;
  #open!: () => void;
  readonly #opened = new Promise<void>((resolve) => (this.#open = resolve));

  expect(count: number): void {
    this.#count = count;
  }

  arrive(): Promise<void> {
    this.#arrived += 1;
    if (this.#arrived >= this.#count) this.#open();
    return this.#opened;
  }
}

/** 200 rather than json()'s 201 for a POST: these posts create nothing. */
const OK = { status: 200 };

@Controller()
class AccountController {
  constructor(
    private readonly barrier: Barrier,
    private readonly gate: Gate,
  ) {}

  @Route('/whoami')
  whoami(ctx: Context) {
    const session = ctx.state.session;
    return json({ id: session.id, user: session.get('user') ?? null, cart: session.get('cart') ?? null });
  }

  @Route('/cart/:item', { methods: ['post'] })
  add(ctx: Context) {
    ctx.state.session.set('cart', [...(ctx.state.session.get<string[]>('cart') ?? []), ctx.params.item]);
    return json({ ok: true }, OK);
  }

  /** The fix: a new id at login. */
  @Route('/login', { methods: ['post'] })
  async login(ctx: Context) {
    await ctx.state.session.regenerate();
    ctx.state.session.set('user', (ctx.request.body as { user: string }).user);
    return json({ id: ctx.state.session.id }, OK);
  }

  /** What an app without regenerate() does: the id the browser came with stays, now logged in. */
  @Route('/login-without-regenerate', { methods: ['post'] })
  loginWithoutRegenerate(ctx: Context) {
    ctx.state.session.set('user', (ctx.request.body as { user: string }).user);
    return json({ id: ctx.state.session.id }, OK);
  }

  @Route('/logout', { methods: ['post'] })
  async logout(ctx: Context) {
    await ctx.state.session.destroy();
    return json({ ok: true }, OK);
  }

  @Route('/logout-then-regenerate', { methods: ['post'] })
  async logoutThenRegenerate(ctx: Context) {
    await ctx.state.session.destroy();
    await ctx.state.session.regenerate();
    return json({ ok: true });
  }

  /** Each concurrent writer sets its own key and `last`, after every writer has loaded the session. */
  @Route('/write/:n', { methods: ['post'] })
  async write(ctx: Context) {
    const n = Number(ctx.params.n);
    ctx.state.session.set(`k${n}`, n);
    ctx.state.session.set('last', n);
    await this.barrier.arrive();
    return json({ n }, OK);
  }

  /** A slow page: loads the session, waits, then changes it. */
  @Route('/slow', { methods: ['post'] })
  async slow(ctx: Context) {
    await this.gate.wait();
    ctx.state.session.set('visits', 1);
    return json({ user: ctx.state.session.get('user') ?? null }, OK);
  }
}

@Module({ controllers: [AccountController], providers: [Barrier, Gate] })
class AccountModule {}

interface StoreKind {
  name: string;
  skip: string | undefined;
  /** raw: what the store holds for the id inside a session cookie's value. */
  create(): { store: SessionStore; raw(cookie: string): Promise<string | undefined> };
}

const memory: StoreKind = {
  name: 'memory store',
  skip: undefined,
  create() {
    const store = memorySessionStore();
    return { store, raw: async (cookie) => ((data) => (data === undefined ? undefined : JSON.stringify(data)))(await store.load(idOf(cookie))) };
  },
};

const redis: StoreKind = {
  name: 'Redis store',
  skip: redisMissing,
  create() {
    const keyPrefix = `${testPrefix()}:session:`;
    const client = rawRedis(REDIS_URL);
    return { store: redisSessionStore({ url: REDIS_URL, keyPrefix }), raw: async (cookie) => (await client.get(keyPrefix + idOf(cookie))) ?? undefined };
  },
};

async function accountApp(kind: StoreKind, ttl?: number) {
  const { store, raw } = kind.create();
  const app = await startTestApp(AccountModule, { sessions: { store, ttl } });
  const send = (path: string, id?: string, body?: unknown) =>
    plainFetch(app, path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { ...(id ? { cookie: `session_id=${id}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const whoami = async (id: string) => {
    const res = await send('/whoami', id);
    return { ...((await res.json()) as { id: string; user: string | null; cart: string[] | null }), cookie: sessionCookie(res)?.value };
  };
  const newSession = async () => sessionCookie(await send('/whoami'))!.value;
  return Object.assign(app, { store, raw, send, whoami, newSession });
}

describe('26. sessions', () => {
  for (const kind of [memory, redis]) {
    it.skipIf(kind.skip)(`26. sessions: 50 concurrent writes to one session leave one request's whole snapshot, valid JSON (last write wins per session; ${kind.name})`, async () => {
      const app = await accountApp(kind);
      const id = await app.newSession();
      expect((await app.send('/cart/apple', id, {})).status).toBe(200);
      app.get(Barrier).expect(50);

      const responses = await Promise.all(Array.from({ length: 50 }, (_, n) => app.send(`/write/${n}`, id, {})));
      expect(responses.map((res) => res.status)).toEqual(Array(50).fill(200));

      const raw = (await app.raw(id))!;
      const stored = JSON.parse(raw) as Record<string, unknown>;
      // Every writer loaded { cart } before any saved: what is left is exactly one writer's view.
      const winner = stored.last as number;
      expect(stored).toEqual({ cart: ['apple'], [`k${winner}`]: winner, last: winner });
      expect(await app.whoami(id)).toMatchObject({ id: idOf(id), cart: ['apple'], cookie: undefined });
      console.info(`[26] ${kind.name}: 50 concurrent writers, stored ${raw} (writer ${winner} finished last)`);
    });

    it.skipIf(kind.skip)(`26. sessions: a request still running when its session is destroyed (log-out) does not bring it back (${kind.name})`, async () => {
      const app = await accountApp(kind);
      const id = await app.newSession();
      await app.send('/login-without-regenerate', id, { user: 'ada' });
      const gate = app.get(Gate);

      const slow = app.send('/slow', id, {}); // loads the logged-in session, then waits
      await gate.entered;
      expect((await app.send('/logout', id, {})).status).toBe(200);
      gate.release();
      expect(await (await slow).json()).toEqual({ user: 'ada' });

      expect(await app.raw(id)).toBeUndefined();
      // A copy of the old cookie still carries a validly signed id, but an empty session: the
      // log-out holds. (The browser itself dropped the cookie: /logout cleared it.)
      const after = await app.whoami(id);
      expect(after.user).toBeNull();
      expect(await app.raw(id)).toBeUndefined();
    });

    it.skipIf(kind.skip)(`26. sessions: a forged id never reads another session, and is never adopted (${kind.name})`, async () => {
      const app = await accountApp(kind);
      const victim = await app.newSession();
      await app.send('/login-without-regenerate', victim, { user: 'victim' });
      const destroyed = await app.newSession();
      await app.send('/logout', destroyed, {});
      const flip = (id: string, at: number) => id.slice(0, at) + (id[at] === 'A' ? 'B' : 'A') + id.slice(at + 1);
      const forged = [
        'AbCdEfGhIjKlMnOpQrStUvWxYz012345', // well-shaped, unsigned, never issued
        idOf(victim), // the victim's id without its signature (a cookie from before signing)
        `AbCdEfGhIjKlMnOpQrStUvWxYz012345${victim.slice(32)}`, // another id under the victim's signature
        flip(victim, 0),
        flip(victim, 31),
        flip(victim, 75), // the signature's last character
        victim.slice(0, 75), // too short
        `${victim}A`, // too long
        victim.toLowerCase() === victim ? victim.toUpperCase() : victim.toLowerCase(),
        `${victim.slice(0, 75)}=`,
      ];

      for (const id of forged) {
        const seen = await app.whoami(id);
        expect(seen.user, id).toBeNull();
        expect(seen.cookie, id).toMatch(/^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/); // a new session for this client…
        expect(idOf(seen.cookie!), id).not.toBe(idOf(victim));
        expect(seen.id, id).toBe(idOf(seen.cookie!));
        expect(await app.raw(seen.cookie!), id).toBeUndefined(); // …that costs nothing until it is written
      }
      // Issued once, destroyed since: still signed, so the same id, but nothing of what it held.
      const after = await app.whoami(destroyed);
      expect(after).toMatchObject({ id: idOf(destroyed), user: null, cookie: undefined });
      expect((await app.whoami(victim)).user).toBe('victim');
    });

    it.skipIf(kind.skip)(`26. sessions: regenerate() at login makes an attacker-fixed id useless (${kind.name})`, async () => {
      const app = await accountApp(kind);
      // The attacker gets a real id from the site and plants it in the victim's browser.
      const fixed = await app.newSession();
      await app.send('/cart/book', fixed, {}); // the victim shops before logging in

      // Without regenerate(), the planted id is logged in too: this is the attack the fix stops.
      const control = await app.newSession();
      await app.send('/login-without-regenerate', control, { user: 'victim' });
      expect((await app.whoami(control)).user).toBe('victim');

      // A page of the victim's still loading on the old id while the login goes through.
      const gate = app.get(Gate);
      const slow = app.send('/slow', fixed, {});
      await gate.entered;
      const login = await app.send('/login', fixed, { user: 'victim' });
      gate.release();
      expect(await (await slow).json()).toEqual({ user: null });
      expect(login.status).toBe(200);
      const fresh = sessionCookie(login)!.value;
      expect(fresh).toMatch(/^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/);
      expect(idOf(fresh)).not.toBe(idOf(fixed));
      expect(await login.json()).toEqual({ id: idOf(fresh) });

      // The victim's browser, now on the new id: logged in, the cart carried over.
      expect(await app.whoami(fresh)).toEqual({ id: idOf(fresh), user: 'victim', cart: ['book'], cookie: undefined });
      // The attacker, on the planted id: nothing; the store forgot it, and its id is not the victim's.
      expect(await app.raw(fixed)).toBeUndefined();
      const attacker = await app.whoami(fixed);
      expect(attacker).toMatchObject({ user: null, cart: null });
      expect(attacker.id).not.toBe(idOf(fresh));
      expect(JSON.parse((await app.raw(fresh))!)).toEqual({ cart: ['book'], user: 'victim' });
    });
  }

  it('26. sessions: regenerate() after destroy() fails the request with an error that says why', async () => {
    const app = await accountApp(memory);
    const id = await app.newSession();
    expect((await app.send('/logout-then-regenerate', id, {})).status).toBe(500);
    expect((app.logs.entries.find((entry) => entry.level === 'error')?.fields.error as Error).message).toBe(
      "Session.regenerate() after destroy(): the session is gone. The client's next request starts a new session with a new id.",
    );
  });

  it('26. sessions: expiry — a session unused for its ttl is gone; used within it, it slides (memory store, its clock moved by hand)', async () => {
    const clock = manualClock();
    const store = memorySessionStore({ now: clock.now });
    const app = await startTestApp(AccountModule, { sessions: { store, ttl: 60_000 } });
    const whoami = async (id: string) => {
      const res = await plainFetch(app, '/whoami', withSession(id));
      return { ...((await res.json()) as { id: string; cart: string[] | null }), cookie: sessionCookie(res)?.value };
    };
    const id = sessionCookie(await plainFetch(app, '/whoami'))!.value;
    await plainFetch(app, '/cart/tea', { method: 'POST', ...withSession(id) });

    clock.advance(50_000);
    expect(await whoami(id)).toEqual({ id: idOf(id), user: null, cart: ['tea'], cookie: undefined }); // used: 60 s more from now
    clock.advance(50_000);
    expect(await whoami(id)).toEqual({ id: idOf(id), user: null, cart: ['tea'], cookie: undefined });
    clock.advance(60_001);
    // Still a signed id, now of an empty session.
    expect(await whoami(id)).toEqual({ id: idOf(id), user: null, cart: null, cookie: undefined });
    expect(await store.load(idOf(id))).toBeUndefined();
  });

  it.skipIf(redisMissing)('26. sessions: expiry — Redis drops a session after its ttl, and its id then has an empty session (Redis store)', async () => {
    const app = await accountApp(redis, 500);
    const id = await app.newSession();
    await app.send('/cart/tea', id, {});
    expect(JSON.parse((await app.raw(id))!)).toEqual({ cart: ['tea'] });

    const saved = Date.now();
    await eventually(() => app.raw(id), (raw) => raw === undefined, 'Redis to expire the session', 3_000);
    const expiredAfterMs = Date.now() - saved;
    expect(expiredAfterMs).toBeGreaterThanOrEqual(400);
    const after = await app.whoami(id);
    expect(after).toMatchObject({ id: idOf(id), cart: null, cookie: undefined });
    console.info(`[26] Redis store: a 500 ms session was gone ${expiredAfterMs} ms after its last save`);
  });
});
