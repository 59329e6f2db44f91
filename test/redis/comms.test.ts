// Comms across nodes (Rwf): two apps sharing redisSessionStore and redisPubSub. A browser gets its
// session cookie from node A, opens its socket on node B, and A reaches it by session id.
import { afterEach, describe, expect, it } from 'vitest';
import {
  Comms,
  Controller,
  Module,
  Route,
  json,
  redisPubSub,
  redisSessionStore,
  type Context,
  type SessionStore,
} from 'vela';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { testPrefix } from './support.js';
import { startTestApp, type TestApp, type TestSocket } from 'vela/testing';
import { plainFetch } from '../support/plain-fetch.js';
import { NotificationsGateway } from '../fixtures/gateways.js';

@Controller({ prefix: '/api' })
class MeController {
  @Route('/me')
  me(ctx: Context) {
    return json({ session: ctx.state.session.id });
  }
}

@Module({ controllers: [MeController], gateways: [NotificationsGateway] })
class AppModule {}

const stores: SessionStore[] = [];
afterEach(async () => {
  // app.close() leaves a store it was given open; these are the test's to close.
  await Promise.all(stores.splice(0).map((store) => store.close?.()));
});

/** Two nodes of one app: one pub/sub prefix, one session prefix, a store and an adapter each. */
async function twoNodes(): Promise<[TestApp, TestApp]> {
  const keyPrefix = testPrefix();
  const apps = await Promise.all(
    [0, 1].map(() => {
      const store = redisSessionStore({ url: REDIS_URL, keyPrefix: `${keyPrefix}:session:` });
      stores.push(store);
      return startTestApp(AppModule, { sessions: { store }, pubsub: redisPubSub({ url: REDIS_URL, keyPrefix }) });
    }),
  );
  return apps as [TestApp, TestApp];
}

/** A browser: its cookie comes from `home`; its sockets open wherever it is told. */
async function browser(home: TestApp) {
  const res = await plainFetch(home, '/api/me');
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const { session } = (await res.json()) as { session: string };
  const socket = async (app: TestApp): Promise<TestSocket> => {
    const ws = await app.ws('/notifications', { headers: { cookie } });
    expect(await ws.recv()).toBe(`session ${session}`); // the other node found the session in Redis
    return ws;
  };
  return { session, cookie, socket };
}

describe.skipIf(redisMissing)('Comms across nodes', () => {
  it("#send reaches a session's socket on the other node, as text, bytes or json(value)", async () => {
    const [a, b] = await twoNodes();
    const ada = await browser(a);
    const tab = await ada.socket(b);

    expect(a.comms.send(ada.session, 'you have mail')).toBe(0); // none on A itself
    expect(await tab.recv()).toBe('you have mail');
    a.comms.send(ada.session, Buffer.from([1, 2, 3]));
    expect(await tab.recv()).toEqual(Buffer.from([1, 2, 3]));
    a.comms.send(ada.session, json({ unread: 3 }));
    expect(await tab.recvJson()).toEqual({ unread: 3 });
  });

  it('#send reaches every socket of the session, on both nodes, and only those', async () => {
    const [a, b] = await twoNodes();
    const ada = await browser(a);
    const joe = await browser(b);
    const [onA, onB, joesTab] = [await ada.socket(a), await ada.socket(b), await joe.socket(a)];

    expect(b.comms.send(ada.session, 'both tabs')).toBe(1);
    expect(await onA.recv()).toBe('both tabs');
    expect(await onB.recv()).toBe('both tabs');
    b.comms.send(joe.session, 'for joe');
    expect(await joesTab.recv()).toBe('for joe'); // the first thing Joe's socket got
  });

  it("#info reaches the session's @OnInfo on the other node", async () => {
    const [a, b] = await twoNodes();
    const ada = await browser(a);
    const tab = await ada.socket(b);
    expect(a.comms.info(ada.session, { kind: 'mention', by: 'grace' })).toBe(0);
    expect(await tab.recv()).toBe('mentioned by grace');
  });

  it('#broadcast reaches every socket on every node except those of one session', async () => {
    const [a, b] = await twoNodes();
    const ada = await browser(a);
    const joe = await browser(a);
    const [adaOnB, joeOnA, joeOnB] = [await ada.socket(b), await joe.socket(a), await joe.socket(b)];

    expect(a.comms.broadcast(json({ announcement: 'deploy at 5' }), { except: ada.session })).toBe(1);
    expect(await joeOnA.recvJson()).toEqual({ announcement: 'deploy at 5' });
    expect(await joeOnB.recvJson()).toEqual({ announcement: 'deploy at 5' });
    a.comms.send(ada.session, 'only you');
    expect(await adaOnB.recv()).toBe('only you');
  });
});
