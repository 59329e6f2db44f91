// The request log (bootstrap's `requestLog`): one line per request with the status the client got,
// error pages and 404s included, through the app's logger; and addLogFields for the app's own fields.
import { describe, expect, it } from 'vitest';
import {
  Controller,
  HttpError,
  Module,
  Route,
  addLogFields,
  bootstrap,
  correlationId,
  json,
  status,
  wantsLogScope,
  type Middleware,
} from 'vela';
import { memoryLogger, startTestApp } from 'vela/testing';
import { echoGateway } from '../fixtures/gateways.js';

@Controller()
class PagesController {
  @Route('/hello')
  hello() {
    return json({ hello: 'world' });
  }

  @Route('/items', { methods: ['post'] })
  create() {
    return json({ created: true });
  }

  @Route('/boom')
  boom() {
    throw new Error('kaput');
  }

  @Route('/private')
  refuse() {
    throw new HttpError(403, 'not yours');
  }

  @Route('/gone')
  gone() {
    return status(410);
  }
}

const EchoGateway = echoGateway();

@Module({ controllers: [PagesController], gateways: [EchoGateway] })
class AppModule {}

const logged = (middleware: Middleware[] = []) => startTestApp(AppModule, { requestLog: true, middleware });
const line = (method: string, path: string, status: number, extra: Record<string, unknown> = {}) => ({
  level: 'info',
  message: 'request',
  fields: { method, path, status, durationMs: expect.any(Number), ...extra },
});

describe('bootstrap({ requestLog })', () => {
  it('logs one info line per request: method, path without the query, status and duration', async () => {
    const app = await logged();

    await app.http.fetch('/hello?token=secret');
    await app.http.fetch('/items', { method: 'POST' });
    expect(app.logs.entries).toEqual([line('GET', '/hello', 200), line('POST', '/items', 201)]);
    const duration = app.logs.entries[0]!.fields.durationMs as number;
    expect(duration).toBeGreaterThanOrEqual(0);
    expect(duration).toBe(Math.round(duration * 10) / 10);
  });

  it('logs the status of error pages, after the error line, and of 404, 405 and bodyless statuses', async () => {
    const app = await logged();

    expect((await app.http.fetch('/boom')).status).toBe(500);
    expect(app.logs.entries.map((e) => [e.level, e.message])).toEqual([
      ['error', 'request failed'],
      ['info', 'request'],
    ]);
    expect(app.logs.entries[1]).toEqual(line('GET', '/boom', 500));
    app.logs.entries.length = 0;

    await app.http.fetch('/private');
    await app.http.fetch('/nowhere');
    await app.http.fetch('/hello', { method: 'DELETE' });
    await app.http.fetch('/gone');
    expect(app.logs.entries.filter((e) => e.message === 'request')).toEqual([
      line('GET', '/private', 403),
      line('GET', '/nowhere', 404),
      line('DELETE', '/hello', 405),
      line('GET', '/gone', 410),
    ]);
  });

  it('logs the status a global middleware answered with', async () => {
    const maintenance: Middleware = (ctx) => {
      ctx.status = 503;
      ctx.body = 'maintenance';
    };
    const app = await logged([maintenance]);

    await app.http.fetch('/hello');
    expect(app.logs.entries).toEqual([line('GET', '/hello', 503)]);
  });

  it('logs a WebSocket upgrade once, with 101, and no frame', async () => {
    const app = await logged();

    const client = await app.ws('/echo');
    client.sendText('hi');
    expect(await client.recv()).toBe('hi');
    await client.close();
    expect(app.logs.entries).toEqual([line('GET', '/echo', 101)]);
  });

  it('adds the correlation id when correlationId() runs', async () => {
    const app = await logged([correlationId()]);

    const res = await app.http.fetch('/nowhere');
    expect(app.logs.entries).toEqual([line('GET', '/nowhere', 404, { correlationId: res.headers.get('x-correlation-id') })]);
  });

  it('is on by default, through the logger given', async () => {
    const log = memoryLogger();
    const app = await bootstrap(AppModule, { port: 0, host: '127.0.0.1', logger: log });
    try {
      await fetch(`${app.url}/hello`);
      expect(log.entries).toEqual([line('GET', '/hello', 200)]);
    } finally {
      await app.close();
    }
  });

  it('is off with requestLog: false', async () => {
    const app = await startTestApp(AppModule, { requestLog: false });

    await app.http.fetch('/hello');
    await app.http.fetch('/nowhere');
    expect(app.logs.entries).toEqual([]);
  });
});

describe('addLogFields', () => {
  it("adds fields to the rest of the request's lines, the request line included, and to no other request", async () => {
    const tagUser = wantsLogScope<Middleware>(async (ctx, next) => {
      if (ctx.get('x-user')) addLogFields({ userId: ctx.get('x-user') });
      await next();
    });
    const app = await logged([tagUser]);

    await app.http.fetch('/boom', { headers: { 'x-user': 'u-7' } });
    await app.http.fetch('/hello');
    expect(app.logs.entries.map((e) => [e.message, e.fields.userId])).toEqual([
      ['request failed', 'u-7'],
      ['request', 'u-7'],
      ['request', undefined],
    ]);
  });

  it('has no scope to add to when the request log is off and no correlationId() is mounted', async () => {
    // No scope, so that an app without them does not pay for AsyncLocalStorage on every promise.
    const added: boolean[] = [];
    const tagUser: Middleware = async (_ctx, next) => {
      added.push(addLogFields({ userId: 'u-7' }));
      await next();
    };
    const app = await startTestApp(AppModule, { requestLog: false, middleware: [tagUser] });

    await app.http.fetch('/boom');
    expect(added).toEqual([false]);
    expect(app.logs.entries[0]!.fields.userId).toBeUndefined();
  });

  it('46. has no scope either with only the request log on (the default): its line needs none', async () => {
    const added: boolean[] = [];
    const tagUser: Middleware = async (_ctx, next) => {
      added.push(addLogFields({ userId: 'u-7' }));
      await next();
    };
    const app = await logged([tagUser]);

    await app.http.fetch('/hello');
    expect(added).toEqual([false]);
    expect(app.logs.entries).toEqual([line('GET', '/hello', 200)]);
  });

  it('does nothing, and says so, outside a request', () => {
    expect(addLogFields({ userId: 'u-1' })).toBe(false);
  });
});
