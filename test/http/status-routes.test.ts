// Status routes and error pages: `@Route(404)` methods, thrown errors, and the default page that
// follows Accept.
import { afterEach, describe, expect, it } from 'vitest';
import { Controller, HttpError, Module, Route, json, status, type Context } from 'vela';
import { startTestApp } from 'vela/testing';

const HTML = { accept: 'text/html' };
const JSON_ACCEPT = { accept: 'application/json' };

describe('@Route(status) in a controller with a prefix', () => {
  @Controller({ prefix: '/api' })
  class ApiController {
    @Route('/users/:id')
    show(ctx: Context) {
      if (ctx.params.id !== '1') throw new HttpError(404, 'no such user');
      return json({ id: 1 });
    }

    @Route(404)
    notFound(ctx: Context, error: HttpError) {
      return json({ error: 'api not found', path: ctx.path, message: error.message });
    }
  }
  @Controller({ prefix: '/other' })
  class OtherController {
    @Route('/thing')
    thing() {
      throw new HttpError(404);
    }
  }
  @Module({ controllers: [ApiController, OtherController] })
  class AppModule {}

  it('renders the 404s of unknown paths under the prefix', async () => {
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/api/x');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ error: 'api not found', path: '/api/x', message: 'Not Found' });
  });

  it('renders a thrown HttpError(404), receiving the error', async () => {
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/api/users/2');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'api not found', path: '/api/users/2', message: 'no such user' });
  });

  it('does not render 404s outside the prefix', async () => {
    const app = await startTestApp(AppModule);

    for (const path of ['/other/x', '/other/thing', '/apix', '/']) {
      const res = await app.http.fetch(path);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'Not Found', status: 404 });
    }
  });

  it('covers the prefix itself', async () => {
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/api');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'api not found', path: '/api', message: 'Not Found' });
  });
});

describe('@Route(status) in a controller without a prefix', () => {
  it('covers the whole app, and a longer prefix wins over it', async () => {
    @Controller()
    class SiteController {
      @Route(404)
      notFound() {
        return status(404, { body: 'site 404' });
      }
    }
    @Controller({ prefix: '/api' })
    class ApiController {
      @Route(404)
      notFound() {
        return status(404, { body: 'api 404' });
      }
    }
    @Module({ controllers: [SiteController, ApiController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const site = await app.http.fetch('/anything/at/all');
    expect(site.status).toBe(404);
    expect(await site.text()).toBe('site 404');

    const api = await app.http.fetch('/api/anything');
    expect(api.status).toBe(404);
    expect(await api.text()).toBe('api 404');
  });

  it('covers the controllers of imported modules', async () => {
    @Controller({ prefix: '/shop' })
    class ShopController {
      @Route('/items/:id')
      item() {
        throw new HttpError(404);
      }
    }
    @Module({ controllers: [ShopController] })
    class ShopModule {}
    @Controller()
    class SiteController {
      @Route(404)
      notFound() {
        return status(404, { body: 'site 404' });
      }
    }
    @Module({ imports: [ShopModule], controllers: [SiteController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/shop/items/1');
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('site 404');
  });
});

describe("the controller's own status route", () => {
  it('wins over a status route whose prefix matches the path', async () => {
    @Controller({ prefix: '/api' })
    class ApiController {
      @Route(403)
      forbidden() {
        return status(403, { body: 'api 403' });
      }
    }
    @Controller()
    class ReportsController {
      @Route('/api/reports')
      reports() {
        throw new HttpError(403);
      }

      @Route(403)
      forbidden() {
        return status(403, { body: 'reports 403' });
      }
    }
    @Module({ controllers: [ApiController, ReportsController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/api/reports');
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('reports 403');
  });
});

describe('results in a status route', () => {
  it('json() defaults to the rendered status, not 200', async () => {
    @Controller()
    class SiteController {
      @Route(404)
      notFound() {
        return json({ missing: true });
      }

      @Route(422)
      invalid() {
        return json({ invalid: true });
      }

      @Route('/form', { methods: ['post'] })
      form() {
        throw new HttpError(422, 'bad form');
      }
    }
    @Module({ controllers: [SiteController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const missing = await app.http.fetch('/missing');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ missing: true });

    // A POST would default to 201 elsewhere; a status route keeps its status.
    const invalid = await app.http.fetch('/form', { method: 'POST' });
    expect(invalid.status).toBe(422);
    expect(await invalid.json()).toEqual({ invalid: true });
  });

  it('an empty status(404) from a controller gets the 404 status route', async () => {
    @Controller()
    class SiteController {
      @Route('/gone')
      gone() {
        return status(404);
      }

      @Route(404)
      notFound() {
        return status(404, { body: 'the 404 page' });
      }
    }
    @Module({ controllers: [SiteController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/gone');
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('the 404 page');
  });
});

describe('throw new HttpError(status, message)', () => {
  it('renders the status route for that status', async () => {
    @Controller()
    class PostsController {
      @Route('/posts/:id', { methods: ['delete'] })
      remove() {
        throw new HttpError(403, 'You do not own this post');
      }

      @Route(403)
      forbidden(_ctx: Context, error: HttpError) {
        return json({ forbidden: error.message });
      }
    }
    @Module({ controllers: [PostsController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/posts/1', { method: 'DELETE' });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ forbidden: 'You do not own this post' });
  });

  it('renders a plain page with the message when no status route applies', async () => {
    @Controller()
    class PostsController {
      @Route('/posts/:id', { methods: ['delete'] })
      remove() {
        throw new HttpError(403, 'You do not own this post');
      }
    }
    @Module({ controllers: [PostsController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/posts/1', { method: 'DELETE' });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ error: 'You do not own this post', status: 403 });
  });

  it('sends the headers given in its options', async () => {
    @Controller()
    class AccountController {
      @Route('/account')
      account() {
        throw new HttpError(401, 'Sign in first', { headers: { 'WWW-Authenticate': 'Bearer realm="vela"' } });
      }
    }
    @Module({ controllers: [AccountController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/account');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="vela"');
    expect(await res.json()).toEqual({ error: 'Sign in first', status: 401 });
  });

  it('keeps a 5xx message private unless exposed', async () => {
    @Controller()
    class UpstreamController {
      @Route('/hidden')
      hidden() {
        throw new HttpError(503, 'db password wrong');
      }

      @Route('/shown')
      shown() {
        throw new HttpError(503, 'Back in five minutes', { expose: true, headers: { 'Retry-After': '300' } });
      }
    }
    @Module({ controllers: [UpstreamController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const hidden = await app.http.fetch('/hidden');
    expect(hidden.status).toBe(503);
    expect(await hidden.json()).toEqual({ error: 'Service Unavailable', status: 503 });

    const shown = await app.http.fetch('/shown');
    expect(shown.status).toBe(503);
    expect(shown.headers.get('retry-after')).toBe('300');
    expect(await shown.json()).toEqual({ error: 'Back in five minutes', status: 503 });
  });

  it("treats Koa's ctx.throw the same way", async () => {
    @Controller()
    class KoaController {
      @Route('/koa')
      koa(ctx: Context) {
        ctx.throw(422, 'name is required');
      }
    }
    @Module({ controllers: [KoaController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/koa');
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ error: 'name is required', status: 422 });
  });

  it('rejects a status outside 400–599', () => {
    expect(() => new HttpError(302)).toThrow(new RangeError('HttpError status must be an integer from 400 to 599, got 302.'));
  });
});

describe('a thrown plain Error', () => {
  @Controller()
  class CrashController {
    @Route('/crash')
    crash() {
      throw new Error('secret <connection> string');
    }

    @Route('/html-error')
    htmlError() {
      throw new HttpError(400, '<script>alert("x")</script> & more');
    }
  }
  @Module({ controllers: [CrashController] })
  class AppModule {}

  let savedEnv: string | undefined;
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = savedEnv;
  });

  /** Boots with NODE_ENV set only for the bootstrap, which is when Vela reads it. */
  async function startIn(env: string) {
    savedEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = env;
    try {
      return await startTestApp(AppModule);
    } finally {
      if (savedEnv === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = savedEnv;
    }
  }

  it('answers 500 without its message or stack in production', async () => {
    const app = await startIn('production');

    const json = await app.http.fetch('/crash', { headers: JSON_ACCEPT });
    expect(json.status).toBe(500);
    const jsonBody = await json.text();
    expect(JSON.parse(jsonBody)).toEqual({ error: 'Internal Server Error', status: 500 });

    const html = await app.http.fetch('/crash', { headers: HTML });
    expect(html.status).toBe(500);
    const htmlBody = await html.text();
    for (const body of [jsonBody, htmlBody]) {
      expect(body).not.toContain('secret');
      expect(body).not.toContain('at ');
      expect(body).not.toContain('.ts');
    }
  });

  it('includes the message and the stack when NODE_ENV=development', async () => {
    const app = await startIn('development');

    const json = await app.http.fetch('/crash', { headers: JSON_ACCEPT });
    expect(json.status).toBe(500);
    const body = (await json.json()) as { error: string; status: number; stack: string };
    expect(body.error).toBe('secret <connection> string');
    expect(body.status).toBe(500);
    expect(body.stack).toMatch(/^Error: secret <connection> string\n\s+at /);
    expect(body.stack).toContain('status-routes.test.ts');

    const html = await app.http.fetch('/crash', { headers: HTML });
    const page = await html.text();
    expect(page).toContain('<p>secret &#60;connection&#62; string</p>');
    expect(page).toMatch(/<pre>Error: secret &#60;connection&#62; string\n\s+at /);
  });

  it('reads NODE_ENV at bootstrap, not per request', async () => {
    const app = await startIn('production');
    process.env.NODE_ENV = 'development';

    const res = await app.http.fetch('/crash');
    expect(await res.json()).toEqual({ error: 'Internal Server Error', status: 500 });
  });

  it('follows Accept: HTML with the message escaped', async () => {
    const app = await startIn('production');

    const res = await app.http.fetch('/html-error', { headers: HTML });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toBe(
      '<!doctype html><html><head><meta charset="utf-8"><title>400 Bad Request</title></head>' +
        '<body><h1>400 Bad Request</h1><p>&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; more</p></body></html>',
    );
  });

  it('follows Accept: JSON with {error, status}', async () => {
    const app = await startIn('production');

    const res = await app.http.fetch('/html-error', { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ error: '<script>alert("x")</script> & more', status: 400 });
  });

  it('prefers HTML for a browser Accept header, and JSON for */*', async () => {
    const app = await startIn('production');

    const browser = await app.http.fetch('/nowhere', {
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    });
    expect(browser.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await browser.text()).toContain('<h1>404 Not Found</h1><p>Not Found</p>');

    const any = await app.http.fetch('/nowhere', { headers: { accept: '*/*' } });
    expect(any.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await any.json()).toEqual({ error: 'Not Found', status: 404 });
  });
});

describe('error logging', () => {
  @Controller({ prefix: '/api' })
  class ApiController {
    @Route('/crash', { methods: ['post'] })
    crash() {
      throw new Error('boom');
    }

    @Route('/refuse')
    refuse() {
      throw new HttpError(409, 'already exists');
    }
  }
  @Module({ controllers: [ApiController] })
  class AppModule {}

  it('logs a 5xx once, as an error, with method, path, controller and the error', async () => {
    const app = await startTestApp(AppModule);

    await app.http.fetch('/api/crash', { method: 'POST' });
    expect(app.logs.entries).toHaveLength(1);
    const [entry] = app.logs.entries;
    expect(entry).toMatchObject({
      level: 'error',
      message: 'request failed',
      fields: { method: 'POST', path: '/api/crash', status: 500, controller: 'ApiController.crash' },
    });
    expect(entry!.fields.error).toBeInstanceOf(Error);
    expect((entry!.fields.error as Error).message).toBe('boom');
  });

  it('logs a 4xx once, as a warning, with its message', async () => {
    const app = await startTestApp(AppModule);

    await app.http.fetch('/api/refuse');
    expect(app.logs.entries).toEqual([
      {
        level: 'warn',
        message: 'request refused',
        fields: { method: 'GET', path: '/api/refuse', status: 409, controller: 'ApiController.refuse', error: 'already exists' },
      },
    ]);
  });

  it('does not log a 404 for an unknown path', async () => {
    const app = await startTestApp(AppModule);

    expect((await app.http.fetch('/api/none')).status).toBe(404);
    expect(app.logs.entries).toEqual([]);
  });
});

describe('a status route that fails', () => {
  it('falls back to the default page, and is logged', async () => {
    @Controller()
    class SiteController {
      @Route('/secret')
      secret() {
        throw new HttpError(403, 'members only');
      }

      @Route(403)
      forbidden() {
        throw new Error('template missing');
      }

      @Route(404)
      notFound() {
        return undefined;
      }
    }
    @Module({ controllers: [SiteController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/secret');
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'members only', status: 403 });
    expect(app.logs.entries).toHaveLength(2);
    expect(app.logs.entries[0]).toMatchObject({ level: 'warn', message: 'request refused', fields: { status: 403 } });
    expect(app.logs.entries[1]).toMatchObject({
      level: 'error',
      message: 'status route failed',
      fields: { method: 'GET', path: '/secret', status: 403, controller: 'SiteController.forbidden' },
    });
    expect((app.logs.entries[1]!.fields.error as Error).message).toBe('template missing');

    app.logs.entries.length = 0;
    const missing = await app.http.fetch('/missing');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'Not Found', status: 404 });
    expect(app.logs.entries).toHaveLength(1);
    expect(app.logs.entries[0]).toMatchObject({
      level: 'error',
      message: 'status route failed',
      fields: { path: '/missing', status: 404, controller: 'SiteController.notFound' },
    });
  });

  it('does not leak headers it set before failing', async () => {
    @Controller()
    class SiteController {
      @Route(404)
      notFound(ctx: Context) {
        ctx.set('X-Half-Built', 'yes');
        throw new Error('oops');
      }
    }
    @Module({ controllers: [SiteController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/missing');
    expect(res.status).toBe(404);
    expect(res.headers.get('x-half-built')).toBeNull();
    expect(await res.json()).toEqual({ error: 'Not Found', status: 404 });
  });
});

describe('405 Method Not Allowed', () => {
  it('keeps its Allow header on the default page and on a 405 status route', async () => {
    @Controller()
    class ItemsController {
      @Route('/items', { methods: ['get', 'post'] })
      items() {
        return json([]);
      }
    }
    @Controller({ prefix: '/api' })
    class ApiController {
      @Route('/things', { methods: ['put'] })
      things() {
        return json([]);
      }

      @Route(405)
      notAllowed() {
        return json({ error: 'method not allowed here' });
      }
    }
    @Module({ controllers: [ItemsController, ApiController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const plain = await app.http.fetch('/items', { method: 'DELETE' });
    expect(plain.status).toBe(405);
    expect(plain.headers.get('allow')).toBe('HEAD, GET, POST');
    expect(await plain.json()).toEqual({ error: 'Method Not Allowed', status: 405 });

    const routed = await app.http.fetch('/api/things', { method: 'DELETE' });
    expect(routed.status).toBe(405);
    expect(routed.headers.get('allow')).toBe('PUT');
    expect(await routed.json()).toEqual({ error: 'method not allowed here' });
  });
});
