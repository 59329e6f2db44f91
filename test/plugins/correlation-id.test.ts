// correlationId(): which incoming ids are kept, the response header, and the id on every log line
// of the request — Vela's, the app's, across awaits, and never another request's.
import { connect as netConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  Controller,
  Inject,
  LOGGER,
  Module,
  OnMessage,
  Route,
  WebSocket,
  correlationId,
  json,
  reply,
  type Context,
  type Middleware,
  type Logger,
} from 'vela';
import { startTestApp, type TestApp } from 'vela/testing';
import { deferred } from '../support/deferred.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Both /wait requests have entered the controller: each then logs again. */
let bothIn = deferred();
let waiting = 0;

@Controller()
class TraceController {
  constructor(@Inject(LOGGER) private readonly log: Logger) {}

  @Route('/id')
  id(ctx: Context) {
    return json({ id: ctx.state.correlationId });
  }

  @Route('/fail')
  async fail() {
    this.log.info('charging card', { amount: 10 });
    await Promise.resolve();
    throw new Error('card declined');
  }

  @Route('/wait/:name')
  async wait(ctx: Context) {
    this.log.info('entered', { name: ctx.params.name });
    if (++waiting === 2) bothIn.resolve();
    await bothIn.promise;
    this.log.info('leaving', { name: ctx.params.name });
    return json({ ok: true });
  }
}

@WebSocket('/live', { middleware: [correlationId()] })
class LiveGateway {
  @OnMessage()
  echo(text: string) {
    return reply(text);
  }
}

@WebSocket('/guarded', {
  middleware: [correlationId()],
  security: () => {
    throw new Error('token service down');
  },
})
class GuardedGateway {
  @OnMessage()
  echo(text: string) {
    return reply(text);
  }
}

/** correlationId() on one route group only, with the request log off: Vela must still open a log scope. */
@Controller({ prefix: '/billing', middleware: [correlationId()] })
class BillingController {
  @Route('/charge')
  async charge() {
    await Promise.resolve();
    throw new Error('card declined');
  }
}

@Module({ controllers: [TraceController, BillingController], gateways: [LiveGateway, GuardedGateway] })
class AppModule {}

const traced = (header?: string) => startTestApp(AppModule, { middleware: [correlationId(header ? { header } : {})] });

/** A request written byte for byte, for header values fetch refuses to send; resolves with the raw response head. */
function rawGet(app: TestApp, path: string, headerLines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(app.port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headerLines.map((l) => `${l}\r\n`).join('')}\r\n`, 'latin1');
    });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

function headerOf(rawResponse: string, name: string): string | undefined {
  const line = rawResponse
    .split('\r\n\r\n')[0]!
    .split('\r\n')
    .find((l) => l.toLowerCase().startsWith(`${name}:`));
  return line?.slice(name.length + 1).trim();
}

describe('correlationId() ids', () => {
  it('makes a UUID when the request has none, and echoes it on the response and ctx.state', async () => {
    const app = await traced();

    const res = await app.http.fetch('/id');
    const id = res.headers.get('x-correlation-id')!;
    expect(id).toMatch(UUID);
    expect(await res.json()).toEqual({ id });
    const again = await app.http.fetch('/id');
    expect(again.headers.get('x-correlation-id')).not.toBe(id);
  });

  it('keeps a sane incoming id', async () => {
    const app = await traced();

    for (const id of ['abc-123', 'A.b_C-9', 'x'.repeat(128), '9f1c2e4a-0000-4000-8000-000000000000']) {
      const res = await app.http.fetch('/id', { headers: { 'x-correlation-id': id } });
      expect(res.headers.get('x-correlation-id')).toBe(id);
      expect(await res.json()).toEqual({ id });
    }
  });

  it('replaces an id that is too long, empty, or has other characters', async () => {
    const app = await traced();

    for (const id of ['x'.repeat(129), '', 'has space', 'semi;colon', '<script>', '%0D%0ASet-Cookie:%20a=b', 'ünïcode']) {
      const res = await app.http.fetch('/id', { headers: { 'x-correlation-id': id } });
      expect(res.headers.get('x-correlation-id'), id).toMatch(UUID);
    }
  });

  it('replaces ids with control characters or raw bytes, as written on the wire', async () => {
    const app = await traced();

    const tab = await rawGet(app, '/id', ['X-Correlation-Id: abc\tdef']);
    expect(headerOf(tab, 'x-correlation-id')).toMatch(UUID);
    const bytes = await rawGet(app, '/id', ['X-Correlation-Id: abc\xff\xfe']);
    expect(headerOf(bytes, 'x-correlation-id')).toMatch(UUID);
    // A CR or LF cannot be inside a header value: the request is refused before Vela sees it.
    const injected = await rawGet(app, '/id', ['X-Correlation-Id: abc\rSet-Cookie: a=b']);
    expect(injected).toMatch(/^HTTP\/1\.1 400 /);
    expect(injected.toLowerCase()).not.toContain('set-cookie: a=b');
  });

  it('reads and writes the header given', async () => {
    const app = await traced('x-request-id');

    const res = await app.http.fetch('/id', { headers: { 'x-request-id': 'from-proxy', 'x-correlation-id': 'ignored' } });
    expect(res.headers.get('x-request-id')).toBe('from-proxy');
    expect(res.headers.get('x-correlation-id')).toBeNull();
    expect(await res.json()).toEqual({ id: 'from-proxy' });
  });

  it('keeps the header on error pages and 404s', async () => {
    const app = await traced();

    const failed = await app.http.fetch('/fail', { headers: { 'x-correlation-id': 'failing-1' } });
    expect(failed.status).toBe(500);
    expect(failed.headers.get('x-correlation-id')).toBe('failing-1');
    const missing = await app.http.fetch('/nowhere', { headers: { 'x-correlation-id': 'missing-1' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-correlation-id')).toBe('missing-1');
  });

  it('refuses a header option that is not a header name', () => {
    for (const header of ['', 'x correlation', 'x-id\r\n']) {
      expect(() => correlationId({ header })).toThrow(
        new ConfigError(
          `correlationId({ header: ${JSON.stringify(header)} }): a header name is letters, digits and !#$%&'*+-.^_\`|~ only, e.g. 'x-request-id'.`,
        ),
      );
    }
  });
});

describe('correlationId() on log lines', () => {
  it("puts the id on the app's lines and on the error boundary's line of a failing request", async () => {
    const app = await traced();

    const res = await app.http.fetch('/fail');
    const id = res.headers.get('x-correlation-id')!;
    expect(id).toMatch(UUID);
    expect(app.logs.entries).toHaveLength(2);
    expect(app.logs.entries[0]).toEqual({ level: 'info', message: 'charging card', fields: { amount: 10, correlationId: id } });
    expect(app.logs.entries[1]).toMatchObject({
      level: 'error',
      message: 'request failed',
      fields: { method: 'GET', path: '/fail', status: 500, controller: 'TraceController.fail', correlationId: id },
    });
    expect((app.logs.entries[1]!.fields.error as Error).message).toBe('card declined');
  });

  it("reaches the error boundary's line from a route group's middleware, with the request log off", async () => {
    const app = await startTestApp(AppModule, { requestLog: false });

    const res = await app.http.fetch('/billing/charge');
    expect(res.status).toBe(500);
    const id = res.headers.get('x-correlation-id')!;
    expect(id).toMatch(UUID);
    expect(app.logs.entries).toHaveLength(1);
    expect(app.logs.entries[0]).toMatchObject({ message: 'request failed', fields: { controller: 'BillingController.charge', correlationId: id } });
  });

  it('puts it on the request log line', async () => {
    const app = await startTestApp(AppModule, { middleware: [correlationId()], requestLog: true });

    await app.http.fetch('/id', { headers: { 'x-correlation-id': 'logged-1' } });
    expect(app.logs.entries).toEqual([
      {
        level: 'info',
        message: 'request',
        fields: { method: 'GET', path: '/id', status: 200, durationMs: expect.any(Number), correlationId: 'logged-1' },
      },
    ]);
  });

  it('never mixes the ids of two requests handled at the same time', async () => {
    bothIn = deferred();
    waiting = 0;
    const app = await traced();

    const [a, b] = await Promise.all([
      app.http.fetch('/wait/a', { headers: { 'x-correlation-id': 'req-a' } }),
      app.http.fetch('/wait/b', { headers: { 'x-correlation-id': 'req-b' } }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const lines = app.logs.entries.map((e) => `${e.message} ${String(e.fields.name)} ${String(e.fields.correlationId)}`);
    expect(lines).toHaveLength(4);
    expect(lines.slice(0, 2).sort()).toEqual(['entered a req-a', 'entered b req-b']);
    expect(lines.slice(2).sort()).toEqual(['leaving a req-a', 'leaving b req-b']);
  });

  it('lets a field given to the call win over the scope’s', async () => {
    let logger: Logger | undefined;
    const explicit: Middleware = (_ctx, next) => {
      logger!.info('explicit', { correlationId: 'mine' });
      return next();
    };
    const app = await startTestApp(AppModule, { middleware: [correlationId(), explicit] });
    logger = app.logger;

    await app.http.fetch('/id', { headers: { 'x-correlation-id': 'scope-1' } });
    expect(app.logs.entries).toEqual([{ level: 'info', message: 'explicit', fields: { correlationId: 'mine' } }]);
  });

  it('adds nothing to lines logged outside a request', async () => {
    const app = await traced();

    await app.http.fetch('/id');
    app.logger.warn('outside', { n: 1 });
    app.logger.info('bare');
    expect(app.logs.entries).toEqual([
      { level: 'warn', message: 'outside', fields: { n: 1 } },
      { level: 'info', message: 'bare', fields: {} },
    ]);
  });
});

describe('correlationId() on a WebSocket upgrade', () => {
  it('sends the id on the 101 and logs it with the upgrade', async () => {
    const app = await startTestApp(AppModule, { requestLog: true });

    const client = await app.ws('/live', { headers: { 'x-correlation-id': 'socket-1' } });
    expect(client.response.headers['x-correlation-id']).toBe('socket-1');
    expect(app.logs.entries).toEqual([
      {
        level: 'info',
        message: 'request',
        fields: { method: 'GET', path: '/live', status: 101, durationMs: expect.any(Number), correlationId: 'socket-1' },
      },
    ]);
    client.sendText('hi');
    expect(await client.recv()).toBe('hi');
    expect(app.logs.entries).toHaveLength(1);
  });

  it("puts it on a refused upgrade's response and error line", async () => {
    const app = await startTestApp(AppModule);

    const res = await app.wsRefusal('/guarded', { headers: { 'x-correlation-id': 'socket-2', accept: 'application/json' } });
    expect(res.status).toBe(500);
    expect(res.headers['x-correlation-id']).toBe('socket-2');
    expect(app.logs.entries).toHaveLength(1);
    expect(app.logs.entries[0]).toMatchObject({
      level: 'error',
      message: 'request failed',
      fields: { path: '/guarded', status: 500, controller: 'GuardedGateway.upgrade', correlationId: 'socket-2' },
    });
  });
});
