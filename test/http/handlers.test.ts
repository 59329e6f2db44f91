// Custom result tags: registered by a module or on the app, then returned by controllers as tuples.
import { describe, expect, it } from 'vitest';
import { ConfigError, Controller, Module, Route, type Context, type ResultHandler } from 'vela';
import { startTestApp } from 'vela/testing';
import { expectOneFailedRequest } from '../support/failure-log.js';

const xml: ResultHandler = (ctx: Context, body: string) => {
  ctx.type = 'application/xml';
  ctx.body = body;
};

describe('@Module({ handlers })', () => {
  it('lets controllers return a custom tag, rendered by its handler', async () => {
    @Controller()
    class UsersController {
      @Route('/user')
      show() {
        return ['xml', '<user/>'];
      }
    }
    @Module({ controllers: [UsersController], handlers: { xml } })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/user');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/xml');
    expect(await res.text()).toBe('<user/>');
  });

  it("serves a handler from an imported module to the importer's controllers", async () => {
    @Module({ handlers: { xml } })
    class XmlModule {}
    @Controller()
    class UsersController {
      @Route('/user')
      show() {
        return ['xml', '<user id="1"/>'];
      }
    }
    @Module({ imports: [XmlModule], controllers: [UsersController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/user');
    expect(res.headers.get('content-type')).toBe('application/xml');
    expect(await res.text()).toBe('<user id="1"/>');
  });

  it('fails bootstrap when two modules register the same tag, naming both', async () => {
    @Module({ handlers: { xml } })
    class XmlModule {}
    @Module({ imports: [XmlModule], handlers: { xml } })
    class AppModule {}

    const failure = startTestApp(AppModule);
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toThrow(
      "AppModule.handlers: result tag 'xml' is already registered by XmlModule.handlers. Pick another tag; handlers are never replaced.",
    );
  });

  it('fails bootstrap when a module takes a built-in tag', async () => {
    @Module({ handlers: { json: xml } })
    class AppModule {}

    await expect(startTestApp(AppModule)).rejects.toThrow(
      "AppModule.handlers: result tag 'json' is already registered by Vela (built-in). Pick another tag; handlers are never replaced.",
    );
  });
});

describe('app.handlers.register', () => {
  it('adds a tag after bootstrap, used by the next request', async () => {
    @Controller()
    class ReportController {
      @Route('/report')
      report() {
        return ['csv', [['id', 'name'], ['1', 'Ada']]];
      }
    }
    @Module({ controllers: [ReportController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    app.handlers.register('csv', (ctx: Context, rows: string[][]) => {
      ctx.type = 'text/csv';
      ctx.body = rows.map((r) => r.join(',')).join('\n');
    });

    const res = await app.http.fetch('/report');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(await res.text()).toBe('id,name\n1,Ada');
  });

  it('refuses a tag a module registered, naming the module', async () => {
    @Module({ handlers: { xml } })
    class AppModule {}
    const app = await startTestApp(AppModule);

    expect(() => app.handlers.register('xml', xml)).toThrow(
      "app.handlers.register: result tag 'xml' is already registered by AppModule.handlers. Pick another tag; handlers are never replaced.",
    );
  });

  it('refuses a second registration of its own tag', async () => {
    @Module({})
    class AppModule {}
    const app = await startTestApp(AppModule);

    app.handlers.register('csv', xml);
    expect(() => app.handlers.register('csv', xml)).toThrow(
      "app.handlers.register: result tag 'csv' is already registered by app.handlers.register. Pick another tag; handlers are never replaced.",
    );
  });

  it('refuses a built-in tag, and keeps the built-in', async () => {
    @Controller()
    class JsonController {
      @Route('/j')
      j() {
        return ['json', { still: 'json' }];
      }
    }
    @Module({ controllers: [JsonController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    expect(() => app.handlers.register('json', xml)).toThrow(ConfigError);
    expect(() => app.handlers.register('json', xml)).toThrow("result tag 'json' is already registered by Vela (built-in)");
    const res = await app.http.fetch('/j');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ still: 'json' });
  });

  it('refuses a tag that is not a name, and a handler that is not a function', async () => {
    @Module({})
    class AppModule {}
    const app = await startTestApp(AppModule);

    expect(() => app.handlers.register('', xml)).toThrow(
      `app.handlers.register: result tag "" is not a valid tag; use a name like 'xml' or 'csv'.`,
    );
    expect(() => app.handlers.register('pdf', 'render' as unknown as ResultHandler)).toThrow(
      "app.handlers.register: the handler for result tag 'pdf' must be a function (ctx, ...payload) => void, got string.",
    );
  });
});

describe('a result handler', () => {
  it('receives every element of the tuple after the tag, and may be async', async () => {
    const received: unknown[][] = [];
    @Controller()
    class EchoController {
      @Route('/echo', { methods: ['post'] })
      echo(ctx: Context) {
        return ['echo', ctx.request.body, 2, { pretty: true }, undefined, 'last'];
      }
    }
    @Module({
      controllers: [EchoController],
      handlers: {
        echo: async (ctx: Context, ...payload: unknown[]) => {
          await Promise.resolve();
          received.push(payload);
          ctx.status = 207;
          ctx.body = { count: payload.length };
        },
      },
    })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    expect(res.status).toBe(207);
    expect(await res.json()).toEqual({ count: 5 });
    expect(received).toEqual([[{ a: 1 }, 2, { pretty: true }, undefined, 'last']]);
  });

  it('that throws answers 500, logged with the controller', async () => {
    @Controller()
    class BrokenController {
      @Route('/broken')
      broken() {
        return ['boom'];
      }
    }
    @Module({
      controllers: [BrokenController],
      handlers: {
        boom: () => {
          throw new Error('renderer exploded');
        },
      },
    })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/broken');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'Internal Server Error', status: 500 });
    expectOneFailedRequest(app.logs, {
      path: '/broken',
      controller: 'BrokenController.broken',
      error: 'renderer exploded',
    });
  });
});
