// Cases 35, 38 and 42: the rules around sessions that an attacker or a misreading of the docs could
// break. A CSRF token taken before login must not work after it; the example blog's APIs must refuse
// cross-site form posts; a second session middleware must fail loudly, not split a client's ids.
import { describe, expect, it } from 'vitest';
import { Module, csrf, sessionMiddleware } from 'vela';
import { AppModule, BLOG_OPTIONS, BLOG_VIEWS } from '../../example/blog/app.module.js';
import { SessionPagesController } from './session-support.js';
import { startTestApp } from 'vela/testing';

@Module({ controllers: [SessionPagesController] })
class LoginModule {}

const withToken = (token: string) => ({ headers: { 'x-csrf-token': token } });

describe('35. CSRF token and regenerate()', () => {
  it('35. a token taken before login is refused after login; the new one works', async () => {
    const app = await startTestApp(LoginModule, { middleware: [csrf()] });
    const before = ((await (await app.http.get('/form')).json()) as { token: string }).token;

    const login = await app.http.post('/login', undefined, withToken(before));
    expect(login.status).toBe(200);
    const after = ((await login.json()) as { token: string }).token;

    const stale = await app.http.post('/transfer', undefined, withToken(before));
    const fresh = await app.http.post('/transfer', undefined, withToken(after));
    console.info(`[35] before login ${before.slice(0, 8)}…, after ${after.slice(0, 8)}…: stale ${stale.status}, fresh ${fresh.status}`);
    expect(after).not.toBe(before);
    expect(stale.status).toBe(403);
    expect(fresh.status).toBe(200);
    expect(await fresh.json()).toEqual({ by: 'victim' });
    await app.close();
  });
});

describe('38. the example blog against cross-site forms', () => {
  const crossSite = (token?: string): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
    body: new URLSearchParams({ name: 'Eve', email: 'eve@evil.example', text: 'spam', ...(token ? { _csrf: token } : {}) }).toString(),
  });

  it('38. a cross-site form POST to /api/users or /api/posts/1/comments, with no token or a foreign one, is refused with 403; the page flow works', async () => {
    const app = await startTestApp(AppModule, { views: BLOG_VIEWS, middleware: BLOG_OPTIONS.middleware });
    // The victim has a session on the blog (the browser sends its cookie along with the forged form).
    const own = ((await (await app.http.get('/api/csrf-token')).json()) as { token: string }).token;
    // The attacker's own token, from their own session.
    const attacker = await startTestApp(AppModule, { views: BLOG_VIEWS, middleware: BLOG_OPTIONS.middleware });
    const foreign = ((await (await attacker.http.get('/api/csrf-token')).json()) as { token: string }).token;
    await attacker.close();

    const statuses: Record<string, number[]> = {};
    for (const path of ['/api/users', '/api/posts/1/comments']) {
      statuses[path] = [(await app.http.fetch(path, crossSite())).status, (await app.http.fetch(path, crossSite(foreign))).status];
    }
    console.info('[38] cross-site form POSTs (no token, foreign token):', statuses);
    expect(statuses).toEqual({ '/api/users': [403, 403], '/api/posts/1/comments': [403, 403] });
    expect(await (await app.http.get('/api/users')).json()).toHaveLength(2);
    expect(await (await app.http.get('/api/posts/1/comments')).json()).toEqual([]);

    // The blog's own flow: its forms and scripts send the session's token (a comment needs a signed-in user).
    const user = await app.http.post('/api/users', { name: 'Grace', email: 'grace@example.com' }, withToken(own));
    await app.http.form('/login', { name: 'Ada', password: 'ada-pass', _csrf: own });
    const signedIn = ((await (await app.http.get('/api/csrf-token')).json()) as { token: string }).token;
    const comment = await app.http.post('/api/posts/1/comments', { text: 'hello' }, withToken(signedIn));
    expect([user.status, comment.status]).toEqual([201, 201]);
    await app.close();
  });
});

describe('42. one session middleware per request', () => {
  it('42. a second sessionMiddleware stacked over the default one fails the request with a message naming the fix', async () => {
    const app = await startTestApp(LoginModule, { middleware: [sessionMiddleware()] });

    const res = await app.http.fetch('/page');
    expect(res.status).toBe(500);
    const error = app.logs.entries.find((entry) => entry.level === 'error')?.fields.error as Error;
    console.info(`[42] stacked session middleware: ${res.status}, "${error.message.slice(0, 60)}…"`);
    expect(error.message).toContain('bootstrap(App, { sessions: { store, ttl } })');
  });

  it('42. the way the docs now show (bootstrap sessions options) gives the page and its sockets one id', async () => {
    const app = await startTestApp(LoginModule, { sessions: { ttl: 60_000 } });
    const res = await app.http.fetch('/page');
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    expect(res.headers.getSetCookie()[0]).toMatch(new RegExp(`^session_id=${id}\\.`));
  });
});
