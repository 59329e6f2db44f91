// The example blog answers the seeds' routes: this is what `npm start` serves.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from 'vela/testing';
import { AppModule, BLOG_OPTIONS, BLOG_VIEWS, blogMetrics } from '../example/blog/app.module.js';
import { BLOG_DB_FILE, blogDataFile } from '../example/blog/data/blog-database.js';

let app: TestApp;
afterEach(() => app?.close());

const startBlog = async (file = ':memory:') =>
  (app = await startTestApp(AppModule, { views: BLOG_VIEWS, middleware: BLOG_OPTIONS.middleware, providers: [{ provide: BLOG_DB_FILE, useValue: file }] }));

/** What the blog's own scripts do before posting to /api: fetch the session's CSRF token, sent as x-csrf-token. */
async function apiHeaders(): Promise<{ headers: Record<string, string> }> {
  const { token } = (await (await app.http.get('/api/csrf-token')).json()) as { token: string };
  return { headers: { 'x-csrf-token': token } };
}

/** What a browser does before posting a form: load the page (its cookie is kept), read the hidden token. */
async function formPage(path: string): Promise<{ token: string; html: string }> {
  const html = await (await app.http.get(path)).text();
  const token = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
  return { token, html };
}

describe('example/blog', () => {
  it('lists, shows and creates users under /api', async () => {
    await startBlog();
    const list = await app.http.get('/api/users');
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual([
      { id: 1, name: 'Ada', email: 'ada@example.com' },
      { id: 2, name: 'Joe', email: 'joe@example.com' },
    ]);

    const created = await app.http.post('/api/users', { name: 'Grace', email: 'grace@example.com' }, await apiHeaders());
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ id: 3, name: 'Grace', email: 'grace@example.com' });
    expect(await (await app.http.get('/api/users/3')).json()).toEqual({ id: 3, name: 'Grace', email: 'grace@example.com' });
  });

  it('keeps users, comments and post comments in its database file across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vela-blog-'));
    try {
      const file = blogDataFile({ BLOG_DATA_DIR: join(dir, 'data') });
      await startBlog(file);
      expect((await app.http.post('/api/users', { name: 'Grace', email: 'grace@example.com' }, await apiHeaders())).status).toBe(201);
      expect((await app.http.post('/api/comments', { text: 'before the restart' }, await apiHeaders())).status).toBe(201);
      const { token } = await formPage('/posts/1');
      expect((await app.http.form('/posts/1/comments', { author: 'Ada', text: 'first', _csrf: token })).status).toBe(302);
      expect(app.get(BLOG_DB_FILE)).toBe(file);
      await app.close();

      await startBlog(file);
      expect(await (await app.http.get('/api/users/3')).json()).toEqual({ id: 3, name: 'Grace', email: 'grace@example.com' });
      expect(((await (await app.http.get('/api/comments')).json()) as { text: string }[]).map((c) => c.text)).toEqual(['before the restart']);
      expect(await (await app.http.get('/posts/1')).text()).toContain('first');
      // Seeded once: a restart adds no second Ada or Joe.
      expect(((await (await app.http.get('/api/users')).json()) as unknown[]).length).toBe(3);
    } finally {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects an invalid user with 400 and the issues of its zod schema', async () => {
    await startBlog();
    const res = await app.http.post('/api/users', { name: 1, email: 'not an address' }, await apiHeaders());
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid request',
      issues: [
        { in: 'body', path: ['name'], message: 'Invalid input: expected string, received number' },
        { in: 'body', path: ['email'], message: 'Invalid email address' },
      ],
    });
    expect(await (await app.http.get('/api/users')).json()).toHaveLength(2);
  });

  it('refuses a blank or too long comment over /api/comments with 400, saying what to fix', async () => {
    await startBlog();
    const blank = await app.http.post('/api/comments', { text: '   ' }, await apiHeaders());
    expect([blank.status, await blank.json()]).toEqual([
      400,
      { error: 'invalid request', issues: [{ in: 'body', path: ['text'], message: 'text must be a non-empty string' }] },
    ]);
    const long = await app.http.post('/api/comments', { text: 'x'.repeat(501) }, await apiHeaders());
    expect(((await long.json()) as { issues: { message: string }[] }).issues[0]!.message).toBe('text is 501 characters: shorten it to 500 at most');
    const posted = await app.http.post('/api/comments', { text: '  trimmed  ' }, await apiHeaders());
    expect(await posted.json()).toMatchObject({ text: 'trimmed' });
  });

  it("turns ['error', 'not_found'] into a 404 through the module's fallback", async () => {
    await startBlog();
    const res = await app.http.get('/api/users/999');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found' });
  });

  it('answers /heartbeat with 200 and unknown paths with its 404 status route', async () => {
    await startBlog();
    expect((await app.http.get('/heartbeat')).status).toBe(200);
    const missing = await app.http.get('/no/such/page');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'not found', path: '/no/such/page' });
  });

  it('lets the right credentials through the login-protected group and redirects the wrong ones', async () => {
    await startBlog();
    const { token } = await formPage('/login');
    const welcome = await app.http.form('/', { username: 'admin', password: 'nova', _csrf: token });
    expect(welcome.status).toBe(200);
    expect(await welcome.json()).toEqual({ message: 'Welcome, admin!' });

    const refused = await app.http.form('/', { username: 'admin', password: 'wrong', _csrf: token });
    expect(refused.status).toBe(302);
    expect(refused.headers.get('location')).toBe('/login?failed=1');
  });

  it('refuses a login form without its CSRF token with 403, even with the right password', async () => {
    await startBlog();
    await formPage('/login');
    const res = await app.http.form('/', { username: 'admin', password: 'nova' });
    expect(res.status).toBe(403);
  });

  it('renders the login form from its view, with the failure message when asked', async () => {
    await startBlog();
    const res = await app.http.get('/login?failed=1');
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).toContain('<form method="post" action="/">');
    expect(html).toContain('Wrong username or password.');
  });

  it('renders the post list and a post page, and takes a comment through its CSRF-protected form', async () => {
    await startBlog();
    const list = await (await app.http.get('/posts')).text();
    expect(list).toContain('<a href="/posts/1">Hello, Nova</a> (0 comments)');

    const { token, html } = await formPage('/posts/1');
    expect(html).toContain('<h1>Hello, Nova</h1>');
    expect(html).toContain('No comments yet.');

    const posted = await app.http.form('/posts/1/comments', { author: 'Ada', text: '<b>first</b>', _csrf: token });
    expect(posted.status).toBe(302);
    expect(posted.headers.get('location')).toBe('/posts/1#comments');
    const page = await (await app.http.get('/posts/1')).text();
    expect(page).toContain('<strong>Ada</strong>: &lt;b&gt;first&lt;/b&gt;'); // escaped by the template

    const forged = await app.http.form('/posts/1/comments', { author: 'Eve', text: 'spam', _csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect(await (await app.http.get('/posts')).text()).toContain('(1 comments)');
  });

  it('renders a comment form that fails its schema again with the errors and what was typed, as 400', async () => {
    await startBlog();
    const { token } = await formPage('/posts/2');
    const refused = await app.http.form('/posts/2/comments', { author: 'Ada <3', text: '   ', _csrf: token });
    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(html).toContain('<h1>Live comments</h1>');
    expect(html).toContain('<li>text must be a non-empty string</li>');
    expect(html).toContain('value="Ada &lt;3"');
    expect(await (await app.http.get('/posts/2')).text()).toContain('No comments yet.');

    const missing = await app.http.form('/posts/x/comments', { text: 'hi', _csrf: token });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: 'invalid request', issues: [{ in: 'params', path: ['id'] }] });
  });

  it('answers an unknown post with the fallback 404 and serves the stylesheet under /assets', async () => {
    await startBlog();
    expect((await app.http.get('/posts/99')).status).toBe(404);
    const css = await app.http.get('/assets/style.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(css.headers.get('etag')).toBeTruthy();
  });

  it('serves its metrics at /metrics with VELA_METRICS=1, behind VELA_METRICS_TOKEN when set', async () => {
    app = await startTestApp(AppModule, { views: BLOG_VIEWS, middleware: BLOG_OPTIONS.middleware, metrics: blogMetrics({ VELA_METRICS: '1', VELA_METRICS_TOKEN: 't0k3n' }) });
    const ws = await app.ws('/ws');
    ws.sendText('Hello Nova!');
    expect(await ws.recv()).toBe('Echo: Hello Nova!');
    expect((await app.http.get('/metrics')).status).toBe(401);
    const text = await (await app.http.get('/metrics', { headers: { authorization: 'Bearer t0k3n' } })).text();
    expect(text).toMatch(/^vela_websocket_messages_received_total\{vela_gateway="\/ws",.*\} 1$/m);
    expect(blogMetrics({})).toBeUndefined();
  });

  it('echoes text frames on /ws', async () => {
    await startBlog();
    const ws = await app.ws('/ws');
    ws.sendText('Hello Nova!');
    expect(await ws.recv()).toBe('Echo: Hello Nova!');
  });
});
