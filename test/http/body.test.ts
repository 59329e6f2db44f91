// Request bodies: parsed once, before middleware and security, into ctx.request.body.
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Controller, Module, Route, json, type Context } from 'vela';
import { startTestApp, type TestApp, type TestAppOptions } from 'vela/testing';

@Controller()
class EchoController {
  @Route('/echo', { methods: ['post', 'put'] })
  echo(ctx: Context) {
    const body: unknown = ctx.request.body;
    return json({ type: typeof body, body: body ?? null }, { status: 200 });
  }
}
@Module({ controllers: [EchoController] })
class AppModule {}

const echo = (options?: TestAppOptions) => startTestApp(AppModule, options);

function post(app: TestApp, contentType: string, body: string) {
  return app.http.fetch('/echo', { method: 'POST', headers: { 'content-type': contentType }, body });
}

describe('request body parsing', () => {
  it('parses JSON', async () => {
    const app = await echo();

    const res = await post(app, 'application/json', '{"name":"Ada","tags":["x"],"n":1}');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ type: 'object', body: { name: 'Ada', tags: ['x'], n: 1 } });
  });

  it('parses JSON with a charset and the +json suffix', async () => {
    const app = await echo();

    const charset = await post(app, 'application/json; charset=utf-8', '{"a":"é"}');
    expect(await charset.json()).toEqual({ type: 'object', body: { a: 'é' } });
    const suffix = await post(app, 'application/vnd.api+json', '{"data":[]}');
    expect(await suffix.json()).toEqual({ type: 'object', body: { data: [] } });
  });

  it('parses urlencoded forms', async () => {
    const app = await echo();

    const res = await post(app, 'application/x-www-form-urlencoded', 'name=Ada+Lovelace&lang=en&lang=fr&empty=');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ type: 'object', body: { name: 'Ada Lovelace', lang: ['en', 'fr'], empty: '' } });
  });

  it('parses text as a string', async () => {
    const app = await echo();

    const res = await post(app, 'text/plain', 'hello\nworld');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ type: 'string', body: 'hello\nworld' });
  });

  it('parses bodies of PUT as well as POST', async () => {
    const app = await echo();

    const res = await app.http.fetch('/echo', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '[1,2]' });
    expect(await res.json()).toEqual({ type: 'object', body: [1, 2] });
  });
});

describe('a malformed JSON body', () => {
  it('answers 400, and the server keeps serving', async () => {
    const app = await echo();

    const bad = await post(app, 'application/json', '{"name": ');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await bad.json()) as { error: string; status: number };
    expect(body.status).toBe(400);
    expect(body.error).not.toMatch(/\n\s+at /);

    const good = await post(app, 'application/json', '{"name":"Ada"}');
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({ type: 'object', body: { name: 'Ada' } });
  });

  it('is logged once as a warning with the route', async () => {
    const app = await echo();

    await post(app, 'application/json', 'not json');
    expect(app.logs.entries).toHaveLength(1);
    expect(app.logs.entries[0]).toMatchObject({
      level: 'warn',
      message: 'request refused',
      fields: { method: 'POST', path: '/echo', status: 400, controller: 'EchoController.echo' },
    });
  });
});

describe('bootstrap({ body })', () => {
  it('answers 413 to a JSON body over jsonLimit', async () => {
    const app = await echo({ body: { jsonLimit: '1kb' } });

    const small = await post(app, 'application/json', JSON.stringify({ s: 'x'.repeat(900) }));
    expect(small.status).toBe(200);

    const large = await post(app, 'application/json', JSON.stringify({ s: 'x'.repeat(2000) }));
    expect(large.status).toBe(413);
    expect(await large.json()).toEqual({ error: 'request entity too large', status: 413 });

    const after = await post(app, 'application/json', '{"ok":true}');
    expect(after.status).toBe(200);
  });

  it('answers 413 while the oversized body is still arriving, and the server keeps serving', async () => {
    const app = await echo({ body: { jsonLimit: '1kb' } });

    // Chunked, so the limit is found while reading rather than from Content-Length.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${app.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"s":"');
      req.write('x'.repeat(4096));
      req.end('"}');
    });
    expect(status).toBe(413);

    const after = await post(app, 'application/json', '{"ok":true}');
    expect(after.status).toBe(200);
  });
});
