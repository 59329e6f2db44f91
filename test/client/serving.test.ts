// bootstrap({ client: true }) serves the browser client at /vela/client.js: the built
// dist/client/index.js (test/support/client-build.ts keeps it up to date with src/client).
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { Controller, Module, Route, status } from 'vela';
import { rawRequest } from '../files/support.js';
import { startTestApp } from 'vela/testing';

const built = () => readFile(new URL('../../dist/client/index.js', import.meta.url), 'utf8');

@Controller()
class PageController {
  @Route('/page')
  page() {
    return status(200, { body: 'page' });
  }
}

@Module({ controllers: [PageController] })
class AppModule {}

describe('bootstrap({ client })', () => {
  it('serves the built client as a JavaScript module at /vela/client.js', async () => {
    const app = await startTestApp(AppModule, { client: true });
    const res = await app.http.fetch('/vela/client.js');

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('etag')).toMatch(/^"[\w-]{27}"$/);
    // The same public file for everyone: no session is started for it.
    expect(res.headers.get('set-cookie')).toBeNull();
    const body = await res.text();
    expect(body).toBe(await built());
    expect(body).toContain('export function connect(');
    expect(await (await app.http.fetch('/page')).text()).toBe('page');
  });

  it('serves every module the client imports beside it, so a browser can load it without a bundler', async () => {
    const app = await startTestApp(AppModule, { client: true });
    const entry = await (await app.http.fetch('/vela/client.js')).text();
    const imported = [...entry.matchAll(/from '\.\/([\w-]+\.js)'/g)].map((match) => match[1]!);

    expect(imported.length).toBeGreaterThan(0);
    for (const name of new Set(imported)) {
      const res = await app.http.fetch(`/vela/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(await res.text()).toBe(await readFile(new URL(`../../dist/client/${name}`, import.meta.url), 'utf8'));
    }
  });

  it('answers HEAD with the headers only, and a matching If-None-Match with 304', async () => {
    const app = await startTestApp(AppModule, { client: true });
    const get = await app.http.fetch('/vela/client.js');
    const etag = get.headers.get('etag')!;

    const head = await app.http.fetch('/vela/client.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(await get.text())));
    expect(head.headers.get('etag')).toBe(etag);
    expect(await head.text()).toBe('');

    // fetch() adds `Cache-Control: no-cache` to conditional requests (a reload, never a 304): raw requests here.
    const cached = await rawRequest(app.url, '/vela/client.js', { headers: { 'If-None-Match': etag } });
    expect(cached.status).toBe(304);
    expect(cached.headers.etag).toBe(etag);
    expect(cached.body).toBe('');

    const stale = await rawRequest(app.url, '/vela/client.js', { headers: { 'If-None-Match': '"older"' } });
    expect(stale.status).toBe(200);
  });

  it('is off by default, and leaves other methods to the routes', async () => {
    const off = await startTestApp(AppModule);
    expect((await off.http.fetch('/vela/client.js')).status).toBe(404);

    const on = await startTestApp(AppModule, { client: true });
    expect((await on.http.fetch('/vela/client.js', { method: 'POST' })).status).toBe(404);
  });
});
