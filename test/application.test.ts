// bootstrap() and the App it returns: where it listens, what it exposes, global middleware, and a
// graceful close() that lets in-flight requests finish.
import { Agent, Server, request } from 'node:http';
import { type AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  Controller,
  HandlerRegistry,
  Module,
  Route,
  bootstrap,
  json,
  type App,
  type Class,
  type Context,
  type Middleware,
} from 'vela';
import { memoryLogger, startTestApp } from 'vela/testing';
import { freePorts, occupyPort, tryConnect } from './support/ports.js';

@Controller()
class HomeController {
  @Route('/')
  index(ctx: Context) {
    return json({ seen: ctx.state.seen ?? null });
  }
}
@Module({ controllers: [HomeController] })
class HomeModule {}

/** bootstrap() with no port, so PORT decides: startTestApp always passes one. */
function bootWithoutPort(): Promise<App> {
  return bootstrap(HomeModule, { host: '127.0.0.1', logger: memoryLogger(), requestLog: false });
}

/** A controller whose one request waits for the test: `entered` when it starts, done on `release()`. */
function slowApp(): { AppModule: Class; entered: Promise<void>; release: () => void } {
  let entered!: () => void;
  let release!: () => void;
  const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  @Controller()
  class SlowController {
    @Route('/slow')
    async slow() {
      entered();
      await released;
      return json({ done: true });
    }
  }
  @Module({ controllers: [SlowController] })
  class AppModule {}
  return { AppModule, entered: enteredPromise, release };
}

// A keep-alive client, like a browser: graceful close must not wait for its idle connections.
const agent = new Agent({ keepAlive: true });
afterAll(() => agent.destroy());

function get(url: string): Promise<{ status: number; body: string; connection?: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

describe('bootstrap({ port })', () => {
  let savedPort: string | undefined;
  beforeEach(() => {
    savedPort = process.env.PORT;
    delete process.env.PORT;
  });
  afterEach(() => {
    if (savedPort === undefined) delete process.env.PORT;
    else process.env.PORT = savedPort;
  });

  it('picks a free port for 0, and app.url points at it', async () => {
    const app = await startTestApp(HomeModule, { port: 0 });
    expect(app.port).toBeGreaterThan(0);
    expect(app.url).toBe(`http://127.0.0.1:${app.port}`);
    expect((await app.http.fetch('/')).status).toBe(200);
  });

  it('uses the PORT environment variable when no port is given', async () => {
    const [port] = await freePorts(1);
    process.env.PORT = String(port);

    const app = await bootWithoutPort();
    try {
      expect(app.port).toBe(port);
      expect(app.url).toBe(`http://127.0.0.1:${port}`);
      expect((await fetch(`${app.url}/`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('prefers an explicit port over PORT', async () => {
    const [fromEnv, explicit] = await freePorts(2);
    process.env.PORT = String(fromEnv);

    const app = await startTestApp(HomeModule, { port: explicit });
    expect(app.port).toBe(explicit);
    expect(await tryConnect(fromEnv!)).toBe('ECONNREFUSED');
  });

  it('rejects a PORT that is not a port number', async () => {
    process.env.PORT = 'eighty';

    const error: unknown = await bootWithoutPort().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe('Port eighty is not a valid port: use 0–65535 (0 picks a free port).');
  });

  it('rejects a port in use with a ConfigError saying so', async () => {
    const blocker = await occupyPort();
    try {
      const error: unknown = await startTestApp(HomeModule, { port: blocker.port }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(
        `Port ${blocker.port} is already in use: stop the other server, or set PORT / bootstrap({ port }).`,
      );
      expect((error as Error).cause).toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await blocker.release();
    }
  });
});

describe('App', () => {
  it('exposes the Koa app, the listening Node server and the handler registry', async () => {
    const app = await startTestApp(HomeModule);
    expect(app.koa).toBeInstanceOf(Koa);
    expect(app.server).toBeInstanceOf(Server);
    expect(app.server.listening).toBe(true);
    expect((app.server.address() as AddressInfo).port).toBe(app.port);
    expect(app.handlers).toBeInstanceOf(HandlerRegistry);
    expect(app.handlers.tags()).toEqual(expect.arrayContaining(['json', 'status', 'redirect']));
  });

  it('renders with tags registered on app.handlers after bootstrap', async () => {
    @Controller()
    class FeedController {
      @Route('/feed')
      feed() {
        return ['xml', '<feed/>'];
      }
    }
    @Module({ controllers: [FeedController] })
    class AppModule {}

    const app = await startTestApp(AppModule);
    app.handlers.register('xml', (ctx: Context, body: string) => {
      ctx.type = 'application/xml';
      ctx.body = body;
    });
    const res = await app.http.fetch('/feed');
    expect(res.headers.get('content-type')).toMatch(/^application\/xml/);
    expect(await res.text()).toBe('<feed/>');
  });
});

describe('bootstrap({ middleware })', () => {
  it('runs before every route, in order, and on responses no route answers', async () => {
    const calls: string[] = [];
    const first: Middleware = async (ctx, next) => {
      calls.push('first');
      ctx.set('X-Request-Id', 'r-1');
      ctx.state.seen = 'global';
      await next();
    };
    const second: Middleware = async (_ctx, next) => {
      calls.push('second');
      await next();
    };

    const app = await startTestApp(HomeModule, { middleware: [first, second] });
    const home = await app.http.fetch('/');
    expect(await home.json()).toEqual({ seen: 'global' });
    expect(home.headers.get('x-request-id')).toBe('r-1');

    const missing = await app.http.fetch('/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBe('r-1');
    expect(calls).toEqual(['first', 'second', 'first', 'second']);
  });

  it('can answer without reaching the route', async () => {
    const maintenance: Middleware = (ctx) => {
      ctx.status = 503;
      ctx.body = 'maintenance';
    };

    const app = await startTestApp(HomeModule, { middleware: [maintenance] });
    const res = await app.http.fetch('/');
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('maintenance');
  });
});

describe('#close', () => {
  it('stops accepting at once, lets an in-flight request finish, then resolves', { timeout: 3000 }, async () => {
    const { AppModule, entered, release } = slowApp();
    const app = await startTestApp(AppModule);
    const inFlight = get(`${app.url}/slow`);
    await entered;

    let closed = false;
    const closing = app.close().then(() => (closed = true));
    expect(await tryConnect(app.port)).toBe('ECONNREFUSED');
    expect(closed).toBe(false);

    release();
    // Connection: close, so the client sends no further request on a connection about to go.
    expect(await inFlight).toEqual({ status: 200, body: '{"done":true}', connection: 'close' });
    // The keep-alive connection went idle after its response: close() must not wait for it.
    await closing;
    expect(app.server.listening).toBe(false);
  });

  it('does not wait for idle keep-alive connections', { timeout: 3000 }, async () => {
    const app = await startTestApp(HomeModule);
    expect((await get(`${app.url}/`)).status).toBe(200);

    await app.close();
    expect(app.server.listening).toBe(false);
  });

  it('cuts requests still running after shutdownTimeout', { timeout: 3000 }, async () => {
    const { AppModule, entered, release } = slowApp();
    const app = await startTestApp(AppModule, { shutdownTimeout: 200 });
    const inFlight = get(`${app.url}/slow`).then(
      () => 'answered',
      (error: NodeJS.ErrnoException) => error.code,
    );
    await entered;

    await app.close();
    expect(await inFlight).toBe('ECONNRESET');
    release();
  });

  it('can be called more than once', async () => {
    const app = await startTestApp(HomeModule);
    const first = app.close();
    const second = app.close();
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    await expect(app.close()).resolves.toBeUndefined();
  });
});
