// app.http: JSON in and out, forms, a browser's cookie jar, and redirects handed back.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from 'vela/testing';
import { AppModule } from './fixture.js';

let app: TestApp;
beforeEach(async () => {
  app = await startTestApp(AppModule);
});
afterEach(() => app.close());

const me = async () => (await (await app.http.get('/api/me')).json()) as { session: string; visits: number };

describe('app.http', () => {
  it('sends a body as JSON with post, put and patch, and returns the fetch Response', async () => {
    for (const method of ['post', 'put', 'patch'] as const) {
      const res = await app.http[method]('/api/echo', { name: 'Ada', tags: ['x'] });
      expect(res).toBeInstanceOf(Response);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        method: method.toUpperCase(),
        type: 'application/json',
        body: { name: 'Ada', tags: ['x'] },
      });
    }
  });

  it('sends no body when none is given (the app sees an empty object, as with @koa/bodyparser), and the headers it is told', async () => {
    const res = await app.http.delete('/api/echo', { headers: { 'x-hello': 'there' } });
    expect(await res.json()).toMatchObject({ method: 'DELETE', type: '', body: {}, hello: 'there' });
    expect(await (await app.http.post('/api/echo')).json()).toMatchObject({ method: 'POST', type: '' });
  });

  it('lets a content-type given in headers win, in any case', async () => {
    const res = await app.http.post('/api/echo', { a: 1 }, { headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(await res.json()).toMatchObject({ type: 'application/merge-patch+json' });
  });

  it('posts a form urlencoded', async () => {
    const res = await app.http.form('/api/echo', { name: 'Ada', note: 'a&b=c' });
    expect(await res.json()).toMatchObject({
      method: 'POST',
      type: 'application/x-www-form-urlencoded',
      body: { name: 'Ada', note: 'a&b=c' },
    });
  });

  it('keeps the session cookie across calls, like a browser', async () => {
    const first = await me();
    const second = await me();
    expect(second).toEqual({ session: first.session, visits: 2 });
    expect(app.http.cookie('session_id')).toMatch(new RegExp(`^${first.session}\\.`));
  });

  it('forgets a cookie the server clears, and everything with clearCookies()', async () => {
    const first = await me();
    await app.http.post('/api/logout');
    expect(app.http.cookie('session_id')).toBeUndefined();
    const second = await me();
    expect(second.session).not.toBe(first.session);

    app.http.clearCookies();
    expect((await me()).session).not.toBe(second.session);
  });

  it('keeps a cookie to its Path and drops it when the server clears it', async () => {
    await me(); // sessions are lazy: a request that reads its id gets the cookie
    await app.http.post('/api/cookies/theme', { value: 'dark', path: '/api/docs' });
    const session = `session_id=${app.http.cookie('session_id')}`;
    expect(await (await app.http.get('/api/docs/page')).json()).toEqual({ cookie: `theme=dark; ${session}` });
    expect(await (await app.http.get('/api/echo')).json()).toMatchObject({ cookie: session });

    await app.http.post('/api/cookies/theme', { value: null, path: '/api/docs' });
    expect(await (await app.http.get('/api/docs/page')).json()).toEqual({ cookie: session });
  });

  it('sends a cookie header given in headers instead of the jar', async () => {
    await me();
    const res = await app.http.get('/api/echo', { headers: { cookie: 'mine=1' } });
    expect(await res.json()).toMatchObject({ cookie: 'mine=1' });
  });

  it('returns a redirect as it is, for the test to assert or follow', async () => {
    const res = await app.http.get('/api/elsewhere');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/api/me');
    expect((await app.http.get(res.headers.get('location')!)).status).toBe(200);
  });

  it('sends any other request with fetch(path, init), cookies kept', async () => {
    await me();
    const res = await app.http.fetch('/api/echo', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(await res.json()).toMatchObject({ type: 'text/plain', body: 'hi', cookie: `session_id=${app.http.cookie('session_id')}` });
  });

  it('names the request when the server cannot be reached', async () => {
    await new Promise((resolve) => {
      app.server.close(resolve);
      app.server.closeAllConnections();
    });
    await expect(app.http.get('/api/me')).rejects.toThrow(/^app\.http: GET \/api\/me failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });
});
