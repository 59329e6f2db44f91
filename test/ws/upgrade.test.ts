// The HTTP side of a WebSocket: which requests become sockets. The upgrade runs through the
// gateway's path, origins, middleware and security like a route; every refusal is a real HTTP
// response (read here as the client sees it), never a 101.
import { describe, expect, it } from 'vitest';
import {
  Connection,
  Controller,
  FallbackController,
  HttpError,
  Module,
  OnMessage,
  Route,
  WebSocket,
  json,
  redirect,
  reply,
  status,
  type Class,
  type Context,
  type Fallback,
  type Middleware,
  type WebSocketOptions,
} from 'vela';
import { startTestApp } from 'vela/testing';
import { expectOneFailedRequest } from '../support/failure-log.js';

const JSON_ACCEPT = { headers: { accept: 'application/json' } };

async function serve(...gateways: Class[]) {
  @Module({ gateways })
  class AppModule {}
  return startTestApp(AppModule);
}

/** A gateway on `path` whose init replies with what the connection knows about its client. */
function describedGateway(path: string, options: WebSocketOptions = {}): Class {
  @WebSocket(path, options)
  class GuardedGateway {
    init(conn: Connection) {
      const { path, query, params } = conn.request;
      return reply(json({ auth: conn.auth ?? null, path, query, params }));
    }

    @OnMessage()
    echo(text: string) {
      return reply(`${path}: ${text}`);
    }
  }
  return GuardedGateway;
}

describe('refused upgrades', () => {
  it('answers 404 for a path no gateway serves', async () => {
    const app = await serve(describedGateway('/ws'));

    const res = await app.wsRefusal('/nowhere', JSON_ACCEPT);
    expect(res.status).toBe(404);
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(res.body)).toEqual({ error: 'Not Found', status: 404 });
  });

  it('answers 401 when security returns false', async () => {
    const app = await serve(describedGateway('/guarded', { security: () => false }));

    const res = await app.wsRefusal('/guarded', JSON_ACCEPT);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toEqual({ error: 'Unauthorized', status: 401 });
  });

  it('sends a Result from security as it is: status(403)', async () => {
    const app = await serve(describedGateway('/guarded', { security: () => status(403, { body: { error: 'banned' } }) }));

    const res = await app.wsRefusal('/guarded');
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toBe('{"error":"banned"}');
  });

  it("sends a Result from security as it is: redirect('/login')", async () => {
    const app = await serve(describedGateway('/guarded', { security: () => redirect('/login') }));

    const res = await app.wsRefusal('/guarded');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/login');
  });

  it("resolves security's unknown result through the gateway's @FallbackController, with the Koa context", async () => {
    const targets: unknown[] = [];
    class BanFallback implements Fallback {
      resolve(target: unknown, returned: unknown) {
        targets.push(target instanceof Connection ? 'connection' : (target as Context).path);
        return status(451, { body: { refused: returned } });
      }
    }
    const gateway = describedGateway('/guarded', { security: () => ['banned', 'spam'] });
    FallbackController(BanFallback)(gateway);
    const app = await serve(gateway);

    const res = await app.wsRefusal('/guarded');
    expect(res.status).toBe(451);
    expect(JSON.parse(res.body)).toEqual({ refused: ['banned', 'spam'] });
    expect(targets).toEqual(['/guarded']);
  });

  it('answers 500 and logs the error when security throws', async () => {
    const app = await serve(
      describedGateway('/guarded', {
        security: () => {
          throw new Error('session store down');
        },
      }),
    );

    const res = await app.wsRefusal('/guarded', JSON_ACCEPT);
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ error: 'Internal Server Error', status: 500 });
    expect(res.body).not.toContain('session store down');
    expectOneFailedRequest(app.logs, {
      path: '/guarded',
      controller: 'GuardedGateway.upgrade',
      error: 'session store down',
    });
  });

  it('lets a thrown HttpError choose the status', async () => {
    const app = await serve(
      describedGateway('/guarded', {
        security: () => {
          throw new HttpError(403, 'suspended account');
        },
      }),
    );

    const res = await app.wsRefusal('/guarded', JSON_ACCEPT);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toEqual({ error: 'suspended account', status: 403 });
  });

  it("renders a refusal with the app's status route, as for HTTP", async () => {
    @Controller()
    class PagesController {
      @Route(401)
      unauthorized(ctx: Context) {
        return json({ login: `/login?next=${ctx.path}` }, { status: 401 });
      }
    }
    @Module({ controllers: [PagesController], gateways: [describedGateway('/guarded', { security: () => false })] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.wsRefusal('/guarded');
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toEqual({ login: '/login?next=/guarded' });
  });
});

describe('origins', () => {
  const gateway = () => describedGateway('/chat', { origins: ['http://good.example'] });

  it('refuses an upgrade from any other Origin with 403', async () => {
    const app = await serve(gateway());

    const res = await app.wsRefusal('/chat', { headers: { origin: 'http://evil.example' } });
    expect(res.status).toBe(403);
  });

  it('accepts a listed Origin, and a client that sends none (not a browser)', async () => {
    const app = await serve(gateway());

    const browser = await app.ws('/chat', { headers: { origin: 'http://good.example' } });
    browser.sendText('hi');
    expect(await browser.recvJson()).toMatchObject({ path: '/chat' });
    expect(await browser.recv()).toBe('/chat: hi');
    const script = await app.ws('/chat');
    expect(await script.recvJson()).toMatchObject({ path: '/chat' });
  });

  it("accepts only the gateway's own origin when origins is not set, and says how to allow another", async () => {
    const app = await serve(describedGateway('/chat'));

    const res = await app.wsRefusal('/chat', { headers: { origin: 'http://good.example', accept: 'application/json' } });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toEqual({
      error:
        `Cross-origin WebSocket refused: Origin 'http://good.example' is neither this gateway's own origin ('http://127.0.0.1:${app.port}') ` +
        `nor in its origins. To let that site connect, list it: @WebSocket('/chat', { origins: ['http://good.example'] }). ` +
        'If it is this site behind a proxy, set app.koa.proxy = true so the own origin is read from X-Forwarded-Proto and X-Forwarded-Host.',
      status: 403,
    });
    const page = await app.ws('/chat', { headers: { origin: `http://127.0.0.1:${app.port}` } });
    expect(await page.recvJson()).toMatchObject({ path: '/chat' });
  });

  it("accepts every Origin with origins: '*'", async () => {
    const app = await serve(describedGateway('/chat', { origins: '*' }));

    const browser = await app.ws('/chat', { headers: { origin: 'http://evil.example' } });
    expect(await browser.recvJson()).toMatchObject({ path: '/chat' });
  });
});

describe('security', () => {
  it('hands what it returns to the connection as conn.auth', async () => {
    const app = await serve(describedGateway('/me', { security: (ctx) => ({ user: ctx.get('authorization').slice(7) }) }));

    const client = await app.ws('/me', { headers: { authorization: 'Bearer ada' } });
    expect(await client.recvJson()).toMatchObject({ auth: { user: 'ada' } });
  });

  it('receives a Koa context for the upgrade: url, query, headers, path params, cookies', async () => {
    const seen: unknown[] = [];
    const app = await serve(
      describedGateway('/rooms/:room', {
        security: (ctx) => {
          seen.push({
            method: ctx.method,
            url: ctx.url,
            query: { ...ctx.query },
            authorization: ctx.get('authorization'),
            params: { ...ctx.params },
            cookie: ctx.cookies.get('sid'),
          });
          return ctx.params.room === 'lobby';
        },
      }),
    );
    const headers = { authorization: 'Bearer ada', cookie: 'sid=s1; other=2' };

    await app.ws('/rooms/lobby?token=abc&tag=a&tag=b', { headers });
    expect((await app.wsRefusal('/rooms/vault', { headers })).status).toBe(401);
    expect(seen).toEqual([
      {
        method: 'GET',
        url: '/rooms/lobby?token=abc&tag=a&tag=b',
        query: { token: 'abc', tag: ['a', 'b'] },
        authorization: 'Bearer ada',
        params: { room: 'lobby' },
        cookie: 's1',
      },
      expect.objectContaining({ url: '/rooms/vault', params: { room: 'vault' } }),
    ]);
  });
});

describe('middleware', () => {
  const stamp: Middleware = async (ctx, next) => {
    ctx.set('X-Request-Id', 'req-1');
    ctx.cookies.set('visited', 'yes');
    ctx.state.user = 'ada';
    await next();
  };

  it('runs before security, and the headers it sets go on the 101 response', async () => {
    const app = await serve(describedGateway('/stamped', { middleware: [stamp], security: (ctx) => ({ user: ctx.state.user as string }) }));

    const client = await app.ws('/stamped');
    expect(client.response.statusCode).toBe(101);
    expect(client.response.headers['x-request-id']).toBe('req-1');
    expect(client.response.headers['set-cookie']).toContain('visited=yes; path=/; httponly');
    expect(await client.recvJson()).toMatchObject({ auth: { user: 'ada' } });
  });

  it('may refuse the upgrade itself', async () => {
    const limit: Middleware = (ctx) => {
      ctx.status = 429;
      ctx.set('Retry-After', '5');
    };
    const app = await serve(describedGateway('/limited', { middleware: [limit] }));

    const res = await app.wsRefusal('/limited');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('5');
  });
});

describe('a plain HTTP request to a gateway path', () => {
  it('answers GET and HEAD with 426 Upgrade Required and Upgrade: websocket', async () => {
    const app = await serve(describedGateway('/ws'));

    for (const method of ['GET', 'HEAD']) {
      const res = await app.http.fetch('/ws', { method });
      expect(res.status).toBe(426);
      expect(res.headers.get('upgrade')).toBe('websocket');
    }
  });

  it('answers other methods with 405 and Allow: GET', async () => {
    const app = await serve(describedGateway('/rooms/:room'));

    const res = await app.http.fetch('/rooms/lobby', { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });

  it('leaves a path that an HTTP route also serves to that route', async () => {
    @Controller()
    class ChatPageController {
      @Route('/chat')
      page() {
        return json({ page: 'chat' });
      }
    }
    @Module({ controllers: [ChatPageController], gateways: [describedGateway('/chat')] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    expect(await (await app.http.fetch('/chat')).json()).toEqual({ page: 'chat' });
    const client = await app.ws('/chat');
    expect(await client.recvJson()).toMatchObject({ path: '/chat' });
  });
});

describe('gateway paths', () => {
  it('gives path params and the query to conn.request', async () => {
    const app = await serve(describedGateway('/rooms/:room'));

    const client = await app.ws('/rooms/caf%C3%A9?token=abc&n=1', { headers: { 'x-client': 'test-suite' } });
    expect(await client.recvJson()).toEqual({
      auth: null,
      path: '/rooms/caf%C3%A9',
      query: { token: 'abc', n: '1' },
      params: { room: 'café' },
    });
  });

  it("gives every path param as a string, as an HTTP route's ctx.params: a wildcard's segments joined by '/', an absent optional param left out", async () => {
    @Controller({ prefix: '/http' })
    class FilesController {
      @Route('/files/*rest')
      show(ctx: Context) {
        return json(ctx.params);
      }
    }
    @Module({ controllers: [FilesController], gateways: [describedGateway('/files/*rest'), describedGateway('/docs{/:lang}/:page')] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const wildcard = await app.ws('/files/a/b%20c/d');
    expect(await wildcard.recvJson()).toMatchObject({ params: { rest: 'a/b c/d' } });
    expect(await (await app.http.get('/http/files/a/b%20c/d')).json()).toEqual({ rest: 'a/b c/d' });
    const optional = await app.ws('/docs/intro');
    expect(await optional.recvJson()).toMatchObject({ params: { page: 'intro' } });
    const both = await app.ws('/docs/fr/intro');
    expect(await both.recvJson()).toMatchObject({ params: { lang: 'fr', page: 'intro' } });
  });

  it('keeps the upgrade request headers on conn.request', async () => {
    const headers: unknown[] = [];
    @WebSocket('/headers')
    class HeadersGateway {
      init(conn: Connection) {
        headers.push(conn.request.headers['x-client']);
      }

      @OnMessage()
      echo(text: string) {
        return reply(text);
      }
    }
    const app = await serve(HeadersGateway);

    const client = await app.ws('/headers', { headers: { 'x-client': 'test-suite' } });
    client.sendText('sync');
    await client.recv();
    expect(headers).toEqual(['test-suite']);
  });

  it('serves several gateways on one port, each frame to its own', async () => {
    const app = await serve(describedGateway('/a'), describedGateway('/b/:id'));
    const a = await app.ws('/a');
    const b = await app.ws('/b/7');
    await a.recv();
    await b.recv();

    a.sendText('one');
    b.sendText('two');
    a.sendText('three');
    expect(await a.recv()).toBe('/a: one');
    expect(await a.recv()).toBe('/a: three');
    expect(await b.recv()).toBe('/b/:id: two');
  });
});
