// Static routes: `@Module({ static: [{ prefix, dir, index, maxAge, immutable }] })` serves a
// directory under a prefix, with Range, index files and cache headers; what it does not find falls
// through to the controllers.
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, Controller, Module, Route, json, type Class, type StaticRoute } from 'vela';
import { FIXTURES, HELLO, PUBLIC, rawRequest, symlinkTree } from './support.js';
import { startTestApp } from 'vela/testing';

async function serveStatic(routes: StaticRoute[], controllers: Class[] = []) {
  @Module({ static: routes, controllers })
  class AppModule {}
  return startTestApp(AppModule);
}

const HOME = '<!doctype html><title>Home</title><h1>Home</h1>\n';
const DOCS = '<!doctype html><title>Docs</title><h1>Docs</h1>\n';

describe('static routes', () => {
  it('serve a file under the prefix with type, length, validators and cache headers', async () => {
    const app = await serveStatic([{ prefix: '/assets', dir: PUBLIC }]);
    const { mtime } = await stat(join(PUBLIC, 'hello.txt'));

    const res = await app.http.fetch('/assets/hello.txt');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('content-length')).toBe('14');
    expect(res.headers.get('cache-control')).toBe('public, max-age=0');
    expect(res.headers.get('last-modified')).toBe(mtime.toUTCString());
    expect(res.headers.get('etag')).toMatch(/^W\/"e-[0-9a-f]+"$/);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(await res.text()).toBe(HELLO);

    const css = await app.http.fetch('/assets/app.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('serve the index file for a directory URL ending in /', async () => {
    const app = await serveStatic([{ prefix: '/assets', dir: PUBLIC, index: 'index.html' }]);

    const root = await app.http.fetch('/assets/');
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await root.text()).toBe(HOME);

    const docs = await app.http.fetch('/assets/docs/');
    expect(await docs.text()).toBe(DOCS);
  });

  it('redirect a directory URL without the slash to it with 301, query kept (as send does)', async () => {
    const app = await serveStatic([{ prefix: '/assets', dir: PUBLIC }]);

    const docs = await app.http.fetch('/assets/docs?v=2', { redirect: 'manual' });
    expect(docs.status).toBe(301);
    expect(docs.headers.get('location')).toBe('/assets/docs/?v=2');

    const prefix = await app.http.fetch('/assets', { redirect: 'manual' });
    expect(prefix.status).toBe(301);
    expect(prefix.headers.get('location')).toBe('/assets/');
  });

  it('take another index file, or none: then a directory is refused with 403', async () => {
    const named = await serveStatic([{ prefix: '/assets', dir: PUBLIC, index: ['missing.html', 'hello.txt'] }]);
    const res = await named.http.fetch('/assets/');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(HELLO);

    const none = await serveStatic([{ prefix: '/assets', dir: PUBLIC, index: false }]);
    const refused = await none.http.fetch('/assets/docs/');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ error: 'Forbidden', status: 403 });
  });

  it('answer a single Range with 206 and exactly those bytes', async () => {
    const app = await serveStatic([{ prefix: '/assets', dir: PUBLIC }]);

    const res = await app.http.fetch('/assets/hello.txt', { headers: { Range: 'bytes=0-4' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe('bytes 0-4/14');
    expect(res.headers.get('content-length')).toBe('5');
    expect(await res.text()).toBe('Hello');

    const suffix = await app.http.fetch('/assets/hello.txt', { headers: { Range: 'bytes=-7' } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get('content-range')).toBe('bytes 7-13/14');
    expect(await suffix.text()).toBe('world!\n');
  });

  it('answer an unsatisfiable Range with 416 and Content-Range: bytes */size', async () => {
    const app = await serveStatic([{ prefix: '/assets', dir: PUBLIC }]);

    const res = await app.http.fetch('/assets/hello.txt', { headers: { Range: 'bytes=999999-' } });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe('bytes */14');
    expect(await res.json()).toEqual({ error: 'Range Not Satisfiable', status: 416 });
  });

  it('merge overlapping or adjacent ranges into one 206, and send disjoint ones as a whole 200', async () => {
    const app = await serveStatic([{ prefix: '/assets', dir: PUBLIC }]);

    const adjacent = await app.http.fetch('/assets/hello.txt', { headers: { Range: 'bytes=0-1,2-4' } });
    expect(adjacent.status).toBe(206);
    expect(adjacent.headers.get('content-range')).toBe('bytes 0-4/14');
    expect(await adjacent.text()).toBe('Hello');

    const disjoint = await app.http.fetch('/assets/hello.txt', { headers: { Range: 'bytes=0-1,7-8' } });
    expect(disjoint.status).toBe(200);
    expect(disjoint.headers.get('content-range')).toBeNull();
    expect(await disjoint.text()).toBe(HELLO);
  });

  it('send the whole file when If-Range names another version', async () => {
    const app = await serveStatic([{ prefix: '/assets', dir: PUBLIC }]);

    const res = await app.http.fetch('/assets/hello.txt', { headers: { Range: 'bytes=0-4', 'If-Range': 'W/"old"' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(HELLO);
  });

  it('answer 304 to a conditional GET of an unchanged file', async () => {
    const app = await serveStatic([{ prefix: '/assets', dir: PUBLIC }]);
    const first = await app.http.fetch('/assets/hello.txt');

    // fetch() would add `Cache-Control: no-cache` to a conditional request.
    const res = await rawRequest(app.url, '/assets/hello.txt', { headers: { 'If-None-Match': first.headers.get('etag')! } });
    expect(res.status).toBe(304);
    expect(res.headers['cache-control']).toBe('public, max-age=0');
    expect(res.body).toBe('');
  });

  it('answer HEAD with the headers of GET and no body', async () => {
    const app = await serveStatic([{ prefix: '/assets', dir: PUBLIC }]);

    const res = await app.http.fetch('/assets/hello.txt', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('14');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe('');
  });

  it('set max-age from maxAge (milliseconds, or a string such as 1d) and immutable', async () => {
    const ms = await serveStatic([{ prefix: '/assets', dir: PUBLIC, maxAge: 3_600_000 }]);
    expect((await ms.http.fetch('/assets/hello.txt')).headers.get('cache-control')).toBe('public, max-age=3600');

    const text = await serveStatic([{ prefix: '/assets', dir: PUBLIC, maxAge: '1d', immutable: true }]);
    expect((await text.http.fetch('/assets/hello.txt')).headers.get('cache-control')).toBe('public, max-age=86400, immutable');
  });

  it('answer 404 for dotfiles and files in dot-directories', async () => {
    const app = await serveStatic([{ prefix: '/assets', dir: PUBLIC }]);

    for (const path of ['/assets/.env', '/assets/.hidden/inside.txt', '/assets/.hidden/']) {
      const res = await app.http.fetch(path);
      expect(res.status).toBe(404);
      expect(await res.text()).toBe('{"error":"Not Found","status":404}');
    }
  });

  it('leave other methods to the routes: 404 with none, the controller with one', async () => {
    @Controller({ prefix: '/assets' })
    class UploadController {
      @Route('/hello.txt', { methods: ['post'] })
      upload() {
        return json({ uploaded: true });
      }
    }
    const app = await serveStatic([{ prefix: '/assets', dir: PUBLIC }], [UploadController]);

    const post = await app.http.fetch('/assets/hello.txt', { method: 'POST' });
    expect(post.status).toBe(201);
    expect(await post.json()).toEqual({ uploaded: true });

    const put = await app.http.fetch('/assets/app.css', { method: 'PUT' });
    expect(put.status).toBe(404);
    expect(await put.text()).toBe('{"error":"Not Found","status":404}');
  });

  it('fall through to a controller for a file they do not have', async () => {
    @Controller({ prefix: '/assets' })
    class GeneratedController {
      @Route('/generated.js')
      script() {
        return json({ generated: true });
      }
    }
    const app = await serveStatic([{ prefix: '/assets', dir: PUBLIC }], [GeneratedController]);

    const res = await app.http.fetch('/assets/generated.js');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ generated: true });
    expect(app.logs.entries.filter((e) => e.level !== 'info')).toEqual([]);
  });

  it('only take paths under the prefix', async () => {
    const app = await serveStatic([{ prefix: '/assets', dir: PUBLIC }]);

    expect((await app.http.fetch('/assetshello.txt')).status).toBe(404);
    expect((await app.http.fetch('/hello.txt')).status).toBe(404);
  });

  it('serve the whole site from prefix /, next to the controllers', async () => {
    @Controller()
    class ApiController {
      @Route('/api/ping')
      ping() {
        return json({ pong: true });
      }
    }
    const app = await serveStatic([{ prefix: '/', dir: PUBLIC }], [ApiController]);

    expect(await (await app.http.fetch('/')).text()).toBe(HOME);
    expect(await (await app.http.fetch('/hello.txt')).text()).toBe(HELLO);
    expect(await (await app.http.fetch('/api/ping')).json()).toEqual({ pong: true });
    expect((await app.http.fetch('/missing.txt')).status).toBe(404);
  });

  it('try the longest prefix first, then the others', async () => {
    const { root } = await symlinkTree();
    const app = await serveStatic([
      { prefix: '/', dir: PUBLIC },
      { prefix: '/docs', dir: root },
    ]);

    expect(await (await app.http.fetch('/docs/inside.txt')).text()).toBe('inside the root\n');
    // Not in the `/docs` dir: the `/` route finds public/docs/index.html.
    expect(await (await app.http.fetch('/docs/index.html')).text()).toBe(DOCS);
    expect((await app.http.fetch('/docs/missing.txt')).status).toBe(404);
  });

  it('treat a trailing slash on the prefix as absent', async () => {
    const app = await serveStatic([{ prefix: '/assets/', dir: PUBLIC }]);

    expect(await (await app.http.fetch('/assets/hello.txt')).text()).toBe(HELLO);
  });

  it('resolve a relative dir against the working directory', async () => {
    const app = await serveStatic([{ prefix: '/assets', dir: 'test/files/fixtures/public' }]);

    expect(await (await app.http.fetch('/assets/hello.txt')).text()).toBe(HELLO);
  });

  it('join from imported modules', async () => {
    @Module({ static: [{ prefix: '/docs', dir: join(PUBLIC, 'docs') }] })
    class DocsModule {}
    @Module({ imports: [DocsModule], static: [{ prefix: '/assets', dir: PUBLIC }] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    expect(await (await app.http.fetch('/docs/')).text()).toBe(DOCS);
    expect(await (await app.http.fetch('/assets/hello.txt')).text()).toBe(HELLO);
  });
});

describe('static route validation', () => {
  async function bootError(routes: unknown, imports: Class[] = []): Promise<string> {
    @Module({ imports, static: routes as StaticRoute[] })
    class AppModule {}
    const error: unknown = await startTestApp(AppModule).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }

  it('rejects a dir that does not exist', async () => {
    expect(await bootError([{ prefix: '/assets', dir: 'no-such-dir' }])).toBe(
      `AppModule.static[0]: dir 'no-such-dir' does not exist (looked for ${resolve('no-such-dir')}). ` +
        `Create it, or fix the path: it is relative to ${process.cwd()}.`,
    );
  });

  it('rejects a dir that is a file', async () => {
    const file = join(PUBLIC, 'hello.txt');
    expect(await bootError([{ prefix: '/assets', dir: file }])).toBe(
      `AppModule.static[0]: dir '${file}' (${file}) is not a directory. ` +
        `A static route serves a directory; to send one file, return sendfile() from a route.`,
    );
  });

  it('rejects a prefix that does not start with /', async () => {
    expect(await bootError([{ prefix: '/ok', dir: PUBLIC }, { prefix: 'assets', dir: PUBLIC }])).toBe(
      `AppModule.static[1]: prefix "assets" must be a URL path starting with '/', such as '/assets'.`,
    );
    expect(await bootError([{ dir: PUBLIC }])).toBe(
      `AppModule.static[0]: prefix undefined must be a URL path starting with '/', such as '/assets'.`,
    );
  });

  it('rejects two static routes with the same prefix, across modules', async () => {
    @Module({ static: [{ prefix: '/assets', dir: PUBLIC }] })
    class ThemeModule {}
    expect(await bootError([{ prefix: '/assets/', dir: FIXTURES }], [ThemeModule])).toBe(
      `AppModule.static[0]: prefix '/assets/' is already served by ThemeModule.static[0] (dir '${PUBLIC}'). ` +
        `Give each static route its own prefix, or put the files in one directory.`,
    );
  });

  it('rejects a missing dir, a bad index and a bad maxAge', async () => {
    expect(await bootError([{ prefix: '/assets' }])).toBe(
      `AppModule.static[0]: dir must be the path of a directory, such as 'public', got undefined.`,
    );
    expect(await bootError([{ prefix: '/assets', dir: PUBLIC, index: true }])).toBe(
      `AppModule.static[0]: index must be a file name such as 'index.html', a list of them, or false.`,
    );
    expect(await bootError([{ prefix: '/assets', dir: PUBLIC, maxAge: -1 }])).toBe(
      `AppModule.static[0]: maxAge must be milliseconds (a number ≥ 0) or a string such as '1d', got -1.`,
    );
  });

  it('rejects a static option that is not a list of objects', async () => {
    expect(await bootError({ prefix: '/assets', dir: PUBLIC })).toBe(
      'AppModule.static must be an array of { prefix, dir }, got object.',
    );
    expect(await bootError(['public'])).toBe(
      `AppModule.static[0] must be an object { prefix: '/assets', dir: 'public' }, got public.`,
    );
  });
});
