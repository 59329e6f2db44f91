// Reliability battery, cross-site WebSocket hijacking by default (34): a gateway that sets no
// `origins` accepts only its own origin, so a page on another site cannot open a socket with the
// victim's cookies; the refusal comes before sessions, middleware and security, and says the fix.
import { describe, expect, it } from 'vitest';
import { ConfigError, Module, WebSocket, memorySessionStore, type Class, type Middleware, type SessionStore, type WebSocketOptions } from 'vela';
import { Lifecycle, Tracked, connectionCount } from './support.js';
import { startTestApp, type TestApp } from 'vela/testing';

/** What ran on the upgrade after the origin check: session store calls, gateway middleware, security. */
class Counts {
  store = 0;
  middleware = 0;
  security = 0;
}

/** The memory store, counting every call the session middleware makes on it (close aside). */
function countingStore(counts: Counts): SessionStore {
  return new Proxy(memorySessionStore(), {
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      if (typeof value !== 'function') return value;
      // Called on the store itself, not the proxy: its #private fields are not the proxy's.
      return (...args: unknown[]) => {
        if (key !== 'close') counts.store += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** `/feed`, a gateway that sends its connection id on open, with `options` and counting hooks. */
async function serveFeed(options: WebSocketOptions = {}): Promise<{ app: TestApp; life: Lifecycle; counts: Counts }> {
  const life = new Lifecycle();
  const counts = new Counts();
  const middleware: Middleware = (_ctx, next) => {
    counts.middleware += 1;
    return next();
  };
  const security = () => {
    counts.security += 1;
    return true;
  };
  @WebSocket('/feed', { heartbeat: 0, middleware: [middleware], security, ...options })
  class FeedGateway extends Tracked(life) {}
  @Module({ gateways: [FeedGateway as Class] })
  class AppModule {}
  const app = await startTestApp(AppModule, { sessions: { store: countingStore(counts) } });
  return { app, life, counts };
}

describe('34. cross-site WebSocket hijacking, by default', () => {
  it('34. with no origins, a foreign Origin is refused with 403 before sessions, middleware and security; own origin and no Origin are accepted', async () => {
    const { app, life, counts } = await serveFeed();
    const own = `http://127.0.0.1:${app.port}`;
    const foreign = [
      'http://evil.example',
      'null',
      `http://localhost:${app.port}`,
      `https://127.0.0.1:${app.port}`,
      `http://127.0.0.1:${app.port + 1}`,
      `${own}.evil.example`,
    ];

    for (const origin of foreign) {
      const res = await app.wsRefusal('/feed', { headers: { origin, accept: 'application/json', cookie: 'vela.sid=whatever' } });
      expect(res.status, origin).toBe(403);
      expect(res.headers['set-cookie'], origin).toBeUndefined();
      const { error } = JSON.parse(res.body) as { error: string };
      expect(error, origin).toContain(`Cross-origin WebSocket refused: Origin '${origin}' is neither this gateway's own origin ('${own}') nor in its origins.`);
      expect(error, origin).toContain('If it is this site behind a proxy, set app.koa.proxy = true');
    }
    expect(counts).toEqual({ store: 0, middleware: 0, security: 0 });
    expect(life.inits).toEqual([]);
    expect(await connectionCount(app.server)).toBe(0);

    // The developer reads the fix in the log, with the origin to list when it is a real one.
    const refused = app.logs.entries.filter((e) => e.message === 'request refused');
    expect(refused).toHaveLength(foreign.length);
    expect(refused[0]!.fields.error).toContain("To let that site connect, list it: @WebSocket('/feed', { origins: ['http://evil.example'] }).");
    expect(refused[1]!.fields.error).toContain("list it: @WebSocket('/feed', { origins: ['https://app.example.com'] }).");

    // The page's own origin (as a browser sends it), and a client that sends none (not a browser).
    const page = await app.ws('/feed', { headers: { origin: own } });
    const script = await app.ws('/feed');
    await page.recv();
    await script.recv();
    expect(life.inits).toHaveLength(2);
    expect(counts.middleware).toBe(2);
    expect(counts.security).toBe(2);
  });

  it('34. behind a proxy the own origin is the forwarded one, with app.koa.proxy only', async () => {
    const { app, life } = await serveFeed();
    const headers = { origin: 'https://chat.example.com', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'chat.example.com' };

    const res = await app.wsRefusal('/feed', { headers: { ...headers, accept: 'application/json' } });
    expect(res.status).toBe(403);
    expect((JSON.parse(res.body) as { error: string }).error).toContain(
      `Origin 'https://chat.example.com' is neither this gateway's own origin ('http://127.0.0.1:${app.port}') nor in its origins.`,
    );

    app.koa.proxy = true;
    const client = await app.ws('/feed', { headers });
    await client.recv();
    expect(life.inits).toHaveLength(1);
    // A forged forwarded host does not make another site this one.
    expect((await app.wsRefusal('/feed', { headers: { ...headers, origin: 'https://evil.example' } })).status).toBe(403);
  });

  it("34. listed origins are accepted besides the own one; origins: '*' accepts every Origin", async () => {
    const listed = await serveFeed({ origins: ['https://app.example.com'] });
    await (await listed.app.ws('/feed', { headers: { origin: 'https://app.example.com' } })).recv();
    await (await listed.app.ws('/feed', { headers: { origin: `http://127.0.0.1:${listed.app.port}` } })).recv();
    expect((await listed.app.wsRefusal('/feed', { headers: { origin: 'https://evil.example' } })).status).toBe(403);
    expect(listed.life.inits).toHaveLength(2);

    const open = await serveFeed({ origins: '*' });
    for (const origin of ['https://evil.example', 'null', `http://127.0.0.1:${open.app.port}`]) {
      await (await open.app.ws('/feed', { headers: { origin } })).recv();
    }
    await (await open.app.ws('/feed')).recv();
    expect(open.life.inits).toHaveLength(4);
  });

  it("34. '*' inside a list of origins is a ConfigError saying to write origins: '*'", async () => {
    for (const origins of [['*'], ['https://app.example.com', '*']]) {
      const error: unknown = await serveFeed({ origins }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(
        "FeedGateway: @WebSocket origins lists '*': write origins: '*' (not in a list) to accept every origin, or list origins only.",
      );
    }
  });
});
