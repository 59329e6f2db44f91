// sendfile(path, { root, contentType, status, headers }): a controller streams one file; Koa
// writes it, and every refusal goes through the status pages.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Controller, Module, Route, json, sendfile, type Context, type Result, type SendfileOptions } from 'vela';
import { HELLO, PUBLIC, rawRequest } from './support.js';
import { startTestApp } from 'vela/testing';

/** One route, GET /f?path=…, returning `result(path)`. */
async function serve(result: (path: string, ctx: Context) => unknown) {
  @Controller()
  class FilesController {
    @Route('/f', { methods: ['get', 'post'] })
    show(ctx: Context) {
      return result(String(ctx.query.path ?? ''), ctx);
    }
  }
  @Module({ controllers: [FilesController] })
  class AppModule {}
  return startTestApp(AppModule);
}

const fromPublic = (options: Omit<SendfileOptions, 'root'> = {}) => (path: string) => sendfile(path, { root: PUBLIC, ...options });

describe('#sendfile', () => {
  it('streams the file with its type, length, ETag and Last-Modified', async () => {
    const app = await serve(fromPublic());
    const { mtime } = await stat(join(PUBLIC, 'hello.txt'));

    const res = await app.http.fetch('/f?path=hello.txt');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('content-length')).toBe('14');
    expect(res.headers.get('last-modified')).toBe(mtime.toUTCString());
    expect(res.headers.get('etag')).toMatch(/^W\/"e-[0-9a-f]+"$/);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(await res.text()).toBe(HELLO);
  });

  it('guesses the type from the extension', async () => {
    const app = await serve(fromPublic());

    const css = await app.http.fetch('/f?path=app.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toBe('body { color: teal; }\n');

    const data = await app.http.fetch('/f?path=data.json');
    expect(data.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await data.json()).toEqual({ name: 'vela' });
  });

  it('sets no Cache-Control: a controller\'s file may be private', async () => {
    const app = await serve(fromPublic());

    const res = await app.http.fetch('/f?path=hello.txt');
    expect(res.headers.get('cache-control')).toBeNull();
  });

  // fetch() adds `Cache-Control: no-cache` to conditional requests (a reload, never a 304): raw requests here.
  it('answers 304 to a matching If-None-Match or a later If-Modified-Since, with no body', async () => {
    const app = await serve(fromPublic());
    const first = await app.http.fetch('/f?path=hello.txt');
    const etag = first.headers.get('etag')!;

    const byEtag = await rawRequest(app.url, '/f?path=hello.txt', { headers: { 'If-None-Match': etag } });
    expect(byEtag.status).toBe(304);
    expect(byEtag.headers.etag).toBe(etag);
    expect(byEtag.headers['content-type']).toBeUndefined();
    expect(byEtag.body).toBe('');

    const byDate = await rawRequest(app.url, '/f?path=hello.txt', { headers: { 'If-Modified-Since': first.headers.get('last-modified')! } });
    expect(byDate.status).toBe(304);

    const stale = await rawRequest(app.url, '/f?path=hello.txt', { headers: { 'If-None-Match': 'W/"other"' } });
    expect(stale.status).toBe(200);
    expect(stale.body).toBe(HELLO);

    const reload = await rawRequest(app.url, '/f?path=hello.txt', { headers: { 'If-None-Match': etag, 'Cache-Control': 'no-cache' } });
    expect(reload.status).toBe(200);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const app = await serve(fromPublic());

    const res = await app.http.fetch('/f?path=hello.txt', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('content-length')).toBe('14');
    expect(res.headers.get('etag')).toMatch(/^W\/"e-/);
    expect(await res.text()).toBe('');
  });

  it('answers a single Range with 206', async () => {
    const app = await serve(fromPublic());

    const res = await app.http.fetch('/f?path=hello.txt', { headers: { Range: 'bytes=7-11' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe('bytes 7-11/14');
    expect(res.headers.get('content-length')).toBe('5');
    expect(await res.text()).toBe('world');
  });

  it('takes contentType as a MIME type or an extension', async () => {
    const app = await serve((path, ctx) => sendfile(path, { root: PUBLIC, contentType: String(ctx.query.type) }));

    const mime = await app.http.fetch('/f?path=hello.txt&type=text/markdown');
    expect(mime.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(await mime.text()).toBe(HELLO);

    const ext = await app.http.fetch('/f?path=data.json&type=txt');
    expect(ext.headers.get('content-type')).toBe('text/plain; charset=utf-8');

    const head = await app.http.fetch('/f?path=hello.txt&type=csv', { method: 'HEAD' });
    expect(head.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(head.headers.get('content-length')).toBe('14');
  });

  it('replaces 200 with status; a Range still answers 206', async () => {
    const app = await serve(fromPublic({ status: 203 }));

    const res = await app.http.fetch('/f?path=hello.txt');
    expect(res.status).toBe(203);
    expect(await res.text()).toBe(HELLO);

    const range = await app.http.fetch('/f?path=hello.txt', { headers: { Range: 'bytes=0-4' } });
    expect(range.status).toBe(206);
    expect(await range.text()).toBe('Hello');
  });

  it('sends the whole file, without validators, with a status outside 2xx', async () => {
    const app = await serve(fromPublic({ status: 503 }));

    const res = await rawRequest(app.url, '/f?path=404.html', { headers: { Range: 'bytes=0-4', 'If-Modified-Since': 'Fri, 01 Jan 2100 00:00:00 GMT' } });
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['accept-ranges']).toBeUndefined();
    expect(res.headers.etag).toBeUndefined();
    expect(res.headers['last-modified']).toBeUndefined();
    expect(res.body).toBe('<!doctype html><title>Not here</title><h1>Nothing here</h1>\n');
  });

  it('sends a status route\'s file with the status it renders', async () => {
    @Controller()
    class PagesController {
      @Route(404)
      notFound() {
        return sendfile('404.html', { root: PUBLIC });
      }
    }
    @Module({ controllers: [PagesController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/nowhere', { headers: { Accept: 'text/html' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('etag')).toBeNull();
    expect(await res.text()).toBe('<!doctype html><title>Not here</title><h1>Nothing here</h1>\n');
  });

  it('sets headers last, so they win', async () => {
    const app = await serve(
      fromPublic({ headers: { 'Content-Disposition': 'attachment; filename="hello.txt"', 'Cache-Control': 'private, max-age=60' } }),
    );

    const res = await app.http.fetch('/f?path=hello.txt');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="hello.txt"');
    expect(res.headers.get('cache-control')).toBe('private, max-age=60');
    expect(await res.text()).toBe(HELLO);
  });

  it('sends a file for POST too, with 200', async () => {
    const app = await serve(fromPublic());

    const res = await app.http.fetch('/f?path=hello.txt', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(HELLO);
  });

  it('works as a tuple literal', async () => {
    const app = await serve((path): Result => ['sendfile', path, { root: PUBLIC }]);

    const res = await app.http.fetch('/f?path=hello.txt');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(HELLO);
    expect(sendfile('a.txt')).toEqual(['sendfile', 'a.txt']);
    expect(sendfile('a.txt', { root: 'r' })).toEqual(['sendfile', 'a.txt', { root: 'r' }]);
  });

  it('looks paths up in the working directory when no root is given', async () => {
    const app = await serve((path) => sendfile(path));

    const res = await app.http.fetch('/f?path=test/files/fixtures/public/hello.txt');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(HELLO);
  });

  it('takes a file name as it is: % is not decoded a second time', async () => {
    const app = await serve(fromPublic());

    // The query decodes once to `hello%2Etxt`, a name no file has.
    const res = await app.http.fetch('/f?path=hello%252Etxt');
    expect(res.status).toBe(404);
  });
});

describe('#sendfile refusals', () => {
  it('renders a missing file as a 404 through the status pages', async () => {
    @Controller()
    class FilesController {
      @Route('/f')
      show(ctx: Context) {
        return sendfile(String(ctx.query.path), { root: PUBLIC });
      }

      @Route(404)
      notFound(ctx: Context) {
        return json({ missing: ctx.path });
      }
    }
    @Module({ controllers: [FilesController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/f?path=nope.txt');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ missing: '/f' });
    expect(app.logs.entries.find((e) => e.message === 'request refused')).toMatchObject({
      level: 'warn',
      fields: { method: 'GET', path: '/f', status: 404, controller: 'FilesController.show' },
    });
  });

  it('answers the default 404 page without naming the file looked for', async () => {
    const app = await serve(fromPublic());

    const res = await app.http.fetch('/f?path=nope.txt');
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('{"error":"Not Found","status":404}');
  });

  it('answers 404 for a directory', async () => {
    const app = await serve(fromPublic());

    const res = await app.http.fetch('/f?path=docs');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'Not Found', status: 404 });
  });

  it('answers 404 for a dotfile and a file in a dot-directory', async () => {
    const app = await serve(fromPublic());

    for (const path of ['.env', '.hidden/inside.txt']) {
      const res = await app.http.fetch(`/f?path=${path}`);
      expect(res.status).toBe(404);
      expect(await res.text()).toBe('{"error":"Not Found","status":404}');
    }
  });

  it('answers 500 for a status without a body (3xx, 204), and for a path that is not a string', async () => {
    const app = await serve((path, ctx) => (ctx.query.bad === 'status' ? sendfile(path, { root: PUBLIC, status: 302 }) : sendfile(undefined as unknown as string)));

    const status = await app.http.fetch('/f?path=hello.txt&bad=status');
    expect(status.status).toBe(500);
    expect(await status.json()).toEqual({ error: 'Internal Server Error', status: 500 });

    const path = await app.http.fetch('/f?bad=path');
    expect(path.status).toBe(500);

    const messages = app.logs.entries.filter((e) => e.level === 'error').map((e) => (e.fields.error as Error).message);
    expect(messages).toEqual([
      "sendfile('hello.txt') was given status 302; a file needs a status with a body: 2xx (not 204 or 205), 4xx or 5xx.",
      'sendfile() was given undefined; it takes a file path relative to its root.',
    ]);
  });
});
