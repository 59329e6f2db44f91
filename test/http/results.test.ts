// Results: the built-in tags (json, status, redirect), as helpers and as tuple literals.
import { describe, expect, it } from 'vitest';
import { Controller, Module, Route, json, redirect, status, type Context, type Result } from 'vela';
import { startTestApp } from 'vela/testing';

/** One controller method returning `result`, mounted at `/r` for GET and POST. */
async function serve(result: (ctx: Context) => unknown) {
  @Controller()
  class ResultController {
    @Route('/r', { methods: ['get', 'post', 'put'] })
    r(ctx: Context) {
      return result(ctx);
    }
  }
  @Module({ controllers: [ResultController] })
  class AppModule {}
  return startTestApp(AppModule);
}

describe('#json', () => {
  it('answers 200 with a JSON body for GET', async () => {
    const app = await serve(() => json({ id: 1, name: 'Ada' }));

    const res = await app.http.fetch('/r');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.text()).toBe('{"id":1,"name":"Ada"}');
  });

  it('answers 201 for POST, and 200 for other methods', async () => {
    const app = await serve(() => json({ created: true }));

    const post = await app.http.fetch('/r', { method: 'POST' });
    expect(post.status).toBe(201);
    expect(await post.json()).toEqual({ created: true });

    const put = await app.http.fetch('/r', { method: 'PUT' });
    expect(put.status).toBe(200);
  });

  it('takes an explicit status and headers', async () => {
    const app = await serve(() => json({ errors: ['name'] }, { status: 422, headers: { 'X-Request-Id': 'abc', 'Cache-Control': 'no-store' } }));

    const res = await app.http.fetch('/r', { method: 'POST' });
    expect(res.status).toBe(422);
    expect(res.headers.get('x-request-id')).toBe('abc');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ errors: ['name'] });
  });

  it('sends null and strings as JSON, not as an empty or text body', async () => {
    const nullApp = await serve(() => json(null));
    const nullRes = await nullApp.http.fetch('/r');
    expect(nullRes.status).toBe(200);
    expect(nullRes.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await nullRes.text()).toBe('null');

    const textApp = await serve(() => json('text'));
    const textRes = await textApp.http.fetch('/r');
    expect(textRes.status).toBe(200);
    expect(textRes.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await textRes.text()).toBe('"text"');
  });

  it('sends undefined as JSON null', async () => {
    const app = await serve(() => json(undefined));

    const res = await app.http.fetch('/r');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('null');
  });
});

describe('#status', () => {
  it('answers a bare status with no body', async () => {
    const app = await serve(() => status(204));

    const res = await app.http.fetch('/r');
    expect(res.status).toBe(204);
    expect(res.headers.get('content-type')).toBeNull();
    expect(await res.text()).toBe('');
  });

  it('sends an object body as JSON', async () => {
    const app = await serve(() => status(403, { body: { error: 'forbidden' } }));

    const res = await app.http.fetch('/r');
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.text()).toBe('{"error":"forbidden"}');
  });

  it('sends a string body as it is', async () => {
    const app = await serve(() => status(202, { body: 'queued' }));

    const res = await app.http.fetch('/r');
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe('queued');
  });

  it('sets the given headers', async () => {
    const app = await serve(() => status(201, { headers: { Location: '/r/1', 'X-Id': '1' } }));

    const res = await app.http.fetch('/r', { method: 'POST' });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/r/1');
    expect(res.headers.get('x-id')).toBe('1');
  });
});

describe('#redirect', () => {
  it('answers 302 with Location', async () => {
    const app = await serve(() => redirect('/login'));

    const res = await app.http.fetch('/r', { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/login');
  });

  it('takes another redirect status', async () => {
    const app = await serve(() => redirect('https://example.com/new', { status: 301 }));

    const res = await app.http.fetch('/r', { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('https://example.com/new');
  });

  it('cannot be made to inject a header by CR/LF in the URL', async () => {
    const app = await serve((ctx) => redirect(String(ctx.query.next)));

    const res = await app.http.fetch(`/r?next=${encodeURIComponent('/home\r\nSet-Cookie: evil=1')}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/home%0D%0ASet-Cookie:%20evil=1');
    expect(res.headers.get('set-cookie') ?? '').not.toContain('evil');
  });

  it('rejects a status outside 300–399 with a 500', async () => {
    const app = await serve(() => redirect('/login', { status: 200 }));

    const res = await app.http.fetch('/r', { redirect: 'manual' });
    expect(res.status).toBe(500);
    expect(res.headers.get('location')).toBeNull();
    const failure = app.logs.entries.find((e) => e.level === 'error');
    expect((failure?.fields.error as Error).message).toBe("redirect('/login') was given status 200; a redirect status is 300–399.");
  });
});

describe('tuple literals', () => {
  it('work the same as the helpers', async () => {
    const results: Record<string, Result> = {
      json: ['json', { a: 1 }, { status: 202, headers: { 'X-T': 'j' } }],
      status: ['status', 418, { body: 'teapot' }],
      redirect: ['redirect', '/there', { status: 307 }],
    };
    const app = await serve((ctx) => results[String(ctx.query.kind)]);

    const j = await app.http.fetch('/r?kind=json');
    expect(j.status).toBe(202);
    expect(j.headers.get('x-t')).toBe('j');
    expect(await j.text()).toBe('{"a":1}');

    const s = await app.http.fetch('/r?kind=status');
    expect(s.status).toBe(418);
    expect(await s.text()).toBe('teapot');

    const r = await app.http.fetch('/r?kind=redirect', { redirect: 'manual' });
    expect(r.status).toBe(307);
    expect(r.headers.get('location')).toBe('/there');
  });

  it('are plain arrays: the helpers build exactly the tuple', () => {
    expect(json({ a: 1 })).toEqual(['json', { a: 1 }]);
    expect(json(1, { status: 202 })).toEqual(['json', 1, { status: 202 }]);
    expect(status(204)).toEqual(['status', 204]);
    expect(redirect('/x', { status: 301 })).toEqual(['redirect', '/x', { status: 301 }]);
  });
});

describe('async controller methods', () => {
  it('render the result the promise resolves to', async () => {
    const app = await serve(async () => {
      await Promise.resolve();
      return json({ async: true }, { status: 203 });
    });

    const res = await app.http.fetch('/r');
    expect(res.status).toBe(203);
    expect(await res.json()).toEqual({ async: true });
  });

  it('answer 500 when the promise rejects', async () => {
    const app = await serve(async () => {
      await Promise.resolve();
      throw new Error('database down');
    });

    const res = await app.http.fetch('/r');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'Internal Server Error', status: 500 });
  });
});
