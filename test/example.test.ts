// The example blog answers the seeds' routes: this is what `npm start` serves. Its pages, sign-in,
// error pages and APIs over HTTP here; in a browser in test/browser/.
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from 'vela/testing';
import { AppModule, BLOG_OPTIONS, BLOG_VIEWS, blogMetrics } from '../example/blog/app.module.js';
import { BLOG_DB_FILE, blogDataFile } from '../example/blog/data/blog-database.js';
import { SqliteSessionStore } from '../example/blog/data/session-store.js';
import { describeSessionStore } from './session/store-contract.js';
import { manualClock } from './session/support.js';

let app: TestApp;
afterEach(() => app?.close());

const startBlog = async (file = ':memory:') =>
  (app = await startTestApp(AppModule, {
    views: BLOG_VIEWS,
    middleware: BLOG_OPTIONS.middleware,
    sessions: { store: new SqliteSessionStore(file) },
    providers: [{ provide: BLOG_DB_FILE, useValue: file }],
  }));

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

/** Signs in through the form as a seeded user (app.http keeps the session cookie); the answer is the form's. */
async function signIn(name = 'Ada', password = `${name.toLowerCase()}-pass`, back = '/posts/1'): Promise<Response> {
  const { token } = await formPage(`/login?return=${encodeURIComponent(back)}`);
  return app.http.form('/login', { name, password, return: back, _csrf: token });
}

/** Posts a comment over the API as the signed-in user, with the session's token (new since sign-in). */
async function postComment(text: string, post = 1): Promise<Response> {
  return app.http.post(`/api/posts/${post}/comments`, { text }, await apiHeaders());
}

const HTML = { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } };

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

  it('keeps users, comments and sign-ins in its database file across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vela-blog-'));
    try {
      const file = blogDataFile({ BLOG_DATA_DIR: join(dir, 'data') });
      await startBlog(file);
      expect((await app.http.post('/api/users', { name: 'Grace', email: 'grace@example.com' }, await apiHeaders())).status).toBe(201);
      expect((await signIn()).status).toBe(302);
      expect((await postComment('before the restart')).status).toBe(201);
      const { token } = await formPage('/posts/2');
      expect((await app.http.form('/posts/2/comments', { text: 'from the form', _csrf: token })).status).toBe(302);
      expect(app.get(BLOG_DB_FILE)).toBe(file);
      const cookie = `session_id=${app.http.cookie('session_id')}`;
      await app.close();

      await startBlog(file);
      expect(await (await app.http.get('/api/users/3')).json()).toEqual({ id: 3, name: 'Grace', email: 'grace@example.com' });
      expect(await (await app.http.get('/api/posts/1/comments')).json()).toEqual([
        { id: expect.any(String), author: 'Ada', text: 'before the restart', at: expect.any(String) },
      ]);
      // Still signed in: the session is in the file too (the browser keeps its cookie; a new test app has a new jar).
      const page = await (await app.http.get('/posts/2', { headers: { cookie } })).text();
      expect(page).toContain('Signed in as <strong id="viewer-name">Ada</strong>');
      expect(page).toContain('<p class="comment-text">from the form</p>');
      // Seeded once: a restart adds no second Ada or Joe.
      expect(((await (await app.http.get('/api/users')).json()) as unknown[]).length).toBe(3);
    } finally {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('opens a database from before posts had live comments, moving its comments under their posts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vela-blog-'));
    try {
      const file = join(dir, 'blog.db');
      const old = new Database(file);
      old.exec(`
        CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT NOT NULL);
        INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com'), ('Joe', 'joe@example.com');
        CREATE TABLE comments (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, text TEXT NOT NULL, at TEXT NOT NULL);
        INSERT INTO comments (id, text, at) VALUES ('c1', 'said on the old live page', '2026-01-02T03:04:05.000Z');
        CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL);
        INSERT INTO posts VALUES (1, 'Hello, Nova', 'old'), (2, 'Live comments', 'old');
        CREATE TABLE post_comments (seq INTEGER PRIMARY KEY AUTOINCREMENT, post_id INTEGER NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL);
        INSERT INTO post_comments (post_id, author, text) VALUES (1, 'Ada', 'first');
      `);
      old.close();
      await startBlog(file);
      expect(await (await app.http.get('/api/posts/1/comments')).json()).toEqual([{ id: expect.any(String), author: 'Ada', text: 'first', at: expect.any(String) }]);
      expect(await (await app.http.get('/api/posts/2/comments')).json()).toEqual([
        { id: 'c1', author: 'guest', text: 'said on the old live page', at: '2026-01-02T03:04:05.000Z' },
      ]);
      // Its users get the seeded passwords.
      expect((await signIn('Joe')).status).toBe(302);
    } finally {
      await app?.close();
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

  it('refuses a blank or too long comment over the API with 400, saying what to fix, and a visitor with 401', async () => {
    await startBlog();
    expect((await postComment('from a visitor')).status).toBe(401);
    await signIn();
    const blank = await postComment('   ');
    expect([blank.status, await blank.json()]).toEqual([
      400,
      { error: 'invalid request', issues: [{ in: 'body', path: ['text'], message: 'text must be a non-empty string' }] },
    ]);
    const long = await postComment('x'.repeat(501));
    expect(((await long.json()) as { issues: { message: string }[] }).issues[0]!.message).toBe('text is 501 characters: shorten it to 500 at most');
    const posted = await postComment('  trimmed  ');
    expect(await posted.json()).toMatchObject({ author: 'Ada', text: 'trimmed' });
    expect((await postComment('on no post', 99)).status).toBe(404);
  });

  it("turns ['error', 'not_found'] into a 404 through the module's fallback: JSON for API clients, the error page for browsers", async () => {
    await startBlog();
    const res = await app.http.get('/api/users/999');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found' });

    const page = await app.http.get('/posts/99', HTML);
    expect([page.status, page.headers.get('content-type')]).toEqual([404, 'text/html; charset=utf-8']);
    const html = await page.text();
    expect(html).toContain('<p class="error-code">404</p>');
    expect(html).toContain('<link rel="stylesheet" href="/assets/style.css">'); // in the blog's layout
  });

  it('answers /heartbeat with 200 and unknown paths with its 404 status route, by Accept', async () => {
    await startBlog();
    expect((await app.http.get('/heartbeat')).status).toBe(200);
    const missing = await app.http.get('/no/such/page');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'not found', path: '/no/such/page' });

    const page = await app.http.get('/no/such/page', HTML);
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('<h1>Not Found</h1>');
    // Under /api a browser gets JSON too: it is the API.
    expect(await (await app.http.get('/api/nothing', HTML)).json()).toEqual({ error: 'not found', path: '/api/nothing' });
  });

  it('signs a user in and back to where they were, shows the name in the navigation, and signs them out', async () => {
    await startBlog();
    expect(await (await app.http.get('/posts/1')).text()).toContain('<a class="button small" href="/login?return=%2Fposts%2F1">Sign in</a>');

    const signedIn = await signIn('ada', 'ada-pass', '/posts/1'); // the name in any case, or the email
    expect([signedIn.status, signedIn.headers.get('location')]).toEqual([302, '/posts/1']);
    const page = await (await app.http.get('/posts/1')).text();
    expect(page).toContain('Signed in as <strong id="viewer-name">Ada</strong>');
    expect(page).toContain('Comment as <strong>Ada</strong>');

    const { token } = await formPage('/posts/1');
    const out = await app.http.form('/logout', { return: '/posts/1', _csrf: token });
    expect([out.status, out.headers.get('location')]).toEqual([302, '/posts/1']);
    expect(await (await app.http.get('/posts/1')).text()).toContain('Sign in to comment');
  });

  it('shows the form again with 401 for a wrong password, and never redirects off the site', async () => {
    await startBlog();
    const refused = await signIn('Ada', 'wrong');
    expect(refused.status).toBe(401);
    const html = await refused.text();
    expect(html).toContain('Wrong name or password.');
    expect(html).toContain('value="Ada"');
    expect((await signIn('Nobody', 'ada-pass')).status).toBe(401);

    for (const back of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const res = await signIn('Ada', 'ada-pass', back);
      expect([res.status, res.headers.get('location')]).toEqual([302, '/']);
    }
  });

  it('refuses a sign-in form without its CSRF token with 403, even with the right password', async () => {
    await startBlog();
    await formPage('/login');
    const res = await app.http.form('/login', { name: 'Ada', password: 'ada-pass' });
    expect(res.status).toBe(403);
    expect(await (await app.http.get('/posts/1')).text()).not.toContain('Signed in as');
  });

  it('renders the posts with their comment counts, a post with author and time on each comment, and takes a comment through its form', async () => {
    await startBlog();
    const home = await (await app.http.get('/')).text();
    expect(home).toContain('<a href="/posts/1">Hello, Nova</a>');
    expect(home).toContain('<a class="comment-count" href="/posts/1#comments">0 comments</a>');

    // A visitor reads, and is asked to sign in; their form post goes to the sign-in, and back.
    const visitor = await (await app.http.get('/posts/1')).text();
    expect(visitor).toContain('<h1>Hello, Nova</h1>');
    expect(visitor).toContain('No comments yet.');
    const { headers } = await apiHeaders();
    const bounced = await app.http.form('/posts/1/comments', { text: 'hi', _csrf: headers['x-csrf-token']! }, { headers: { referer: `${app.url}/posts/1` } });
    expect([bounced.status, bounced.headers.get('location')]).toEqual([302, '/login?return=%2Fposts%2F1']);
    const garbled = await app.http.form('/posts/1/comments', { text: 'hi', _csrf: headers['x-csrf-token']! }, { headers: { referer: 'not a URL' } });
    expect([garbled.status, garbled.headers.get('location')]).toEqual([302, '/login?return=%2F']);

    await signIn();
    const { token } = await formPage('/posts/1');
    const posted = await app.http.form('/posts/1/comments', { text: '<b>first</b>', _csrf: token });
    expect([posted.status, posted.headers.get('location')]).toEqual([302, '/posts/1#comments']);
    const page = await (await app.http.get('/posts/1')).text();
    expect(page).toContain('<strong class="author">Ada</strong>');
    expect(page).toContain('<p class="comment-text">&lt;b&gt;first&lt;/b&gt;</p>'); // escaped by the template
    expect(page).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z">/);

    const forged = await app.http.form('/posts/1/comments', { text: 'spam', _csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect(await (await app.http.get('/posts')).text()).toContain('>1 comment</a>');
  });

  it('renders a comment form that fails its schema again with the errors and what was typed, as 400', async () => {
    await startBlog();
    await signIn();
    const { token } = await formPage('/posts/2');
    const refused = await app.http.form('/posts/2/comments', { text: ' '.repeat(3), _csrf: token });
    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(html).toContain('<h1>Live comments</h1>');
    expect(html).toContain('<li>text must be a non-empty string</li>');
    const long = await app.http.form('/posts/2/comments', { text: '<i>' + 'x'.repeat(600), _csrf: token });
    expect(await long.text()).toContain('>&lt;i&gt;xxx'); // what was typed, escaped, kept in the box
    expect(await (await app.http.get('/posts/2')).text()).toContain('No comments yet.');

    const missing = await app.http.form('/posts/x/comments', { text: 'hi', _csrf: token });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: 'invalid request', issues: [{ in: 'params', path: ['id'] }] });
  });

  it('serves the stylesheet and the favicon the layout links under /assets', async () => {
    await startBlog();
    const css = await app.http.get('/assets/style.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(css.headers.get('etag')).toBeTruthy();
    expect(await (await app.http.get('/')).text()).toContain('<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">');
    const icon = await app.http.get('/assets/favicon.svg');
    expect([icon.status, icon.headers.get('content-type')]).toEqual([200, 'image/svg+xml']);
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

describeSessionStore("the blog's SqliteSessionStore", () => {
  const clock = manualClock();
  return { store: new SqliteSessionStore(':memory:', { now: clock.now }), advance: clock.advance };
});

describe("the blog's SqliteSessionStore", () => {
  it('keeps at most maxAnonymous visitors, dropping the oldest, and never a signed-in session for them', async () => {
    const store = new SqliteSessionStore(':memory:', { maxAnonymous: 2 });
    try {
      await store.save('signed-in', { user: 1 }, 1_000);
      for (const id of ['a', 'b', 'c']) await store.save(id, { n: id }, 60_000 + id.charCodeAt(0), { anonymous: true });
      expect(await Promise.all(['signed-in', 'a', 'b', 'c'].map((id) => store.load(id)))).toEqual([{ user: 1 }, undefined, { n: 'b' }, { n: 'c' }]);
      expect(await store.secret()).toBe(await store.secret());
    } finally {
      store.close();
    }
  });
});
