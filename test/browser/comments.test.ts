// A post's live comments, end to end: real browser tabs on the example blog's post page, signed in
// through its form, against real servers that go away and come back on the same port. Every wait
// is on the page's DOM, never a sleep.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBus, memoryPubSub } from 'vela';
import { AppModule, BLOG_OPTIONS } from '../../example/blog/app.module.js';
import { CommentStore } from '../../example/blog/comments/comment-store.js';
import { BLOG_DB_FILE, BlogDatabase } from '../../example/blog/data/blog-database.js';
import { SqliteSessionStore } from '../../example/blog/data/session-store.js';
import { browserMissing } from '../support/browser.js';
import { memoryLogger, startTestApp, type TestApp, type TestAppOptions, type TestSocket } from 'vela/testing';
import { commentTexts, connected, openPost, pendingCount, posted, postFromPage, signedInOnPost, useProfiles } from './blog-pages.js';

const dataDir = mkdtempSync(join(tmpdir(), 'vela-blog-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
let databases = 0;
/** A database file of the blog's own for one test, as `npm start` keeps example/data/blog.db. */
const databaseFile = () => join(dataDir, `blog-${++databases}.db`);

/**
 * Options for the blog as one app across restarts and instances: one MemoryBus (the channel's
 * history, the answers kept for repeated requests) as Redis would be, one database file, and the
 * sessions in it as `npm start` keeps them (a restart signs no one out). Each app needs its own
 * adapter on the bus and its own connection to the file.
 */
function sharedState(file = databaseFile()): () => TestAppOptions {
  const bus = new MemoryBus();
  return () => ({
    ...BLOG_OPTIONS,
    pubsub: memoryPubSub({ bus }),
    sessions: { store: new SqliteSessionStore(file) },
    providers: [{ provide: BLOG_DB_FILE, useValue: file }],
  });
}

/** The socket's next JSON frame other than a presence diff. */
async function recvPastPresenceDiffs(ws: TestSocket): Promise<unknown> {
  for (;;) {
    const frame = await ws.recvJson<{ event?: string }>();
    if (frame.event !== 'presence_diff') return frame;
  }
}

/** A script signed in as Joe (app.http keeps the cookie), posting over HTTP with the session's CSRF token. */
async function signInOverHttp(app: TestApp): Promise<{ post(text: string): Promise<Response> }> {
  const form = await (await app.http.get('/login')).text();
  const token = /name="_csrf" value="([^"]+)"/.exec(form)![1]!;
  expect((await app.http.form('/login', { name: 'Joe', password: 'joe-pass', _csrf: token })).status).toBe(302);
  // regenerate() at sign-in made a new token.
  const { token: fresh } = (await (await app.http.get('/api/csrf-token')).json()) as { token: string };
  return { post: (text) => app.http.post('/api/posts/1/comments', { text }, { headers: { 'x-csrf-token': fresh } }) };
}

describe.skipIf(browserMissing)('live comments in the browser', { timeout: 60_000 }, () => {
  const { profile } = useProfiles();

  it("shows a comment posted in one tab in the other readers' tabs, once, with its author", async () => {
    const app = await startTestApp(AppModule, BLOG_OPTIONS);
    const [ada, visitor] = [await signedInOnPost(profile, app, 'Ada'), await openPost(await profile(), app)];

    await postFromPage(ada, 'Hello from tab one');

    for (const page of [ada, visitor]) {
      await posted(page, 'Hello from tab one');
      expect(await commentTexts(page)).toEqual(['Hello from tab one']);
      expect(await page.locator('#comment-list li .author').allTextContents()).toEqual(['Ada']);
    }
  });

  it('shows a pending comment at once, then as posted, and a refused one with its error and a retry', async () => {
    const app = await startTestApp(AppModule, BLOG_OPTIONS);
    const page = await signedInOnPost(profile, app, 'Ada');

    await postFromPage(page, 'Quick one');
    await posted(page, 'Quick one');
    expect(await commentTexts(page)).toEqual(['Quick one']);
    expect(await pendingCount(page)).toBe(0);

    // The box stops at 500 characters; a page that gets past it is refused by the server.
    await page.evaluate("document.getElementById('comment').removeAttribute('maxlength')");
    await postFromPage(page, 'x'.repeat(501));
    const failed = page.locator('#comment-list li.failed', { hasText: 'Not posted: text is 501 characters: shorten it to 500 at most.' });
    await failed.waitFor();
    expect(await failed.locator('button', { hasText: 'Retry' }).count()).toBe(1);
    expect(await pendingCount(page)).toBe(0);
    expect(await (await app.http.get('/api/posts/1/comments')).json()).toEqual([expect.objectContaining({ text: 'Quick one', author: 'Ada' })]);

    // What a request gets on the wire, for a blank text and from a visitor; the HTTP API refuses alike.
    // The socket first gets who is here; diffs follow whenever a tab opens or closes, so answers are awaited past them.
    const ws = await app.ws('/posts/1/live');
    expect(await ws.recvJson()).toMatchObject({ event: 'presence_state', data: { 'user:1': { metas: [{ name: 'Ada', guest: false }] } } });
    ws.sendJson({ event: 'post', data: { text: '  ' }, ref: '1' });
    expect(await recvPastPresenceDiffs(ws)).toEqual({
      ref: '1',
      error: {
        code: 'invalid',
        message: "invalid data for event 'post': text: text must be a non-empty string",
        issues: [{ path: ['text'], message: 'text must be a non-empty string' }],
      },
    });
    ws.sendJson({ event: 'post', data: { text: 'from nobody' }, ref: '2' });
    expect(await recvPastPresenceDiffs(ws)).toEqual({ ref: '2', error: { code: 'unauthorized', message: 'sign in to comment' } });
    const anonymous = await app.http.post('/api/posts/1/comments', { text: 'from nobody' });
    expect(anonymous.status).toBe(403); // no CSRF token: refused before anything else
    const joe = await signInOverHttp(app);
    const tooLong = await joe.post('x'.repeat(501));
    expect([tooLong.status, await tooLong.json()]).toEqual([
      400,
      { error: 'invalid request', issues: [{ in: 'body', path: ['text'], message: 'text is 501 characters: shorten it to 500 at most' }] },
    ]);
  });

  it('pushes a comment posted over HTTP to open tabs, and shows it to a new one', async () => {
    const app = await startTestApp(AppModule, BLOG_OPTIONS);
    const first = await openPost(await profile(), app);

    const res = await (await signInOverHttp(app)).post('Posted over HTTP');
    expect(res.status).toBe(201);
    const stored = (await res.json()) as { id: string; text: string };
    expect(stored).toEqual({ id: expect.any(String), author: 'Joe', text: 'Posted over HTTP', at: expect.any(String) });
    await posted(first, 'Posted over HTTP');
    expect(await first.locator('#comment-list li[data-id]').getAttribute('data-id')).toBe(stored.id);

    const later = await openPost(await profile(), app);
    expect(await commentTexts(later)).toEqual(['Posted over HTTP']);
  });

  it("shows a comment posted while the other tab's server was down in that tab once, replayed when it is back", async () => {
    const shared = sharedState();
    const one = await startTestApp(AppModule, shared());
    const two = await startTestApp(AppModule, shared());
    const [a, b] = [await signedInOnPost(profile, one, 'Ada'), await openPost(await profile(), two)];
    // Tab B's position on the channel: the last comment it got before its server went away.
    await postFromPage(a, 'Before the restart');
    await posted(b, 'Before the restart');

    await two.close();
    await connected(b, false);
    expect(await b.locator('#status').getAttribute('data-state')).toBe('reconnecting');
    await postFromPage(a, 'While B was away');
    await posted(a, 'While B was away');

    await startTestApp(AppModule, { ...shared(), port: two.port });
    await posted(b, 'While B was away');
    await connected(b, true);
    for (const page of [a, b]) expect(await commentTexts(page)).toEqual(['Before the restart', 'While B was away']);
    // B got it from the channel's replay, not from reloading its list, and says so.
    expect(b.listLoads).toBe(1);
    await b.locator('#notice', { hasText: 'Reconnected. 1 comment you missed is shown.' }).waitFor();
    expect(await b.locator('#status').textContent()).toBe('Live');
  });

  it("shows a comment posted while the tab's own server is down as pending, then posted once, by its author, when the server is back", async () => {
    const shared = sharedState();
    const app = await startTestApp(AppModule, shared());
    const page = await signedInOnPost(profile, app, 'Ada');

    await app.close();
    await connected(page, false);
    // Honest about it: reconnecting (counting down to vela/client's next attempt), "offline" only when the browser has no network.
    expect(await page.locator('#status').textContent()).toMatch(/^Reconnecting( in \d+ s)?…$/);
    await page.context().setOffline(true);
    await page.locator('#status[data-state="offline"]', { hasText: 'Offline: waiting for the network' }).waitFor();
    await page.context().setOffline(false);
    await page.locator('#status[data-state="reconnecting"]').waitFor();
    await postFromPage(page, 'Written offline');
    await page.locator('#comment-list li.pending[data-pending]', { hasText: 'Written offline' }).locator('.state', { hasText: 'Sending…' }).waitFor();

    const back = await startTestApp(AppModule, { ...shared(), port: app.port });
    await posted(page, 'Written offline');
    expect(await commentTexts(page)).toEqual(['Written offline']);
    expect(await pendingCount(page)).toBe(0);
    // The request was sent again after the reconnect and posted once, still as Ada: the session outlived the restart.
    expect(((await (await back.http.get('/api/posts/1/comments')).json()) as { author: string; text: string }[]).map((c) => [c.author, c.text])).toEqual([['Ada', 'Written offline']]);
  });

  it('reloads its list after its server lost the history, keeping its pending comment', async () => {
    const sessions = databaseFile();
    const withSessions = (file: string): TestAppOptions => ({ ...BLOG_OPTIONS, sessions: { store: new SqliteSessionStore(sessions) }, providers: [{ provide: BLOG_DB_FILE, useValue: file }] });
    const first = await startTestApp(AppModule, withSessions(':memory:'));
    const page = await signedInOnPost(profile, first, 'Ada');
    // Received from the channel, so the tab has a position to present when it reconnects.
    expect((await (await signInOverHttp(first)).post('Said before the restart')).status).toBe(201);
    await posted(page, 'Said before the restart');

    await first.close();
    await connected(page, false);
    await postFromPage(page, 'Written while down');
    await page.locator('#comment-list li[data-pending]', { hasText: 'Written while down' }).waitFor();

    // A fresh app (new bus, another database) on the same port: another epoch, so recovered: false.
    const file = databaseFile();
    const database = new BlogDatabase(file, memoryLogger());
    database.onInit();
    const store = new CommentStore(database);
    database.db.prepare('INSERT INTO posts (id, title, body) VALUES (1, ?, ?)').run('Hello, Nova', 'restored');
    store.add(1, 'Joe', 'Said after the restart');
    database.onClose();
    const second = await startTestApp(AppModule, { ...withSessions(file), port: first.port });
    await expect.poll(() => commentTexts(page), { timeout: 10_000 }).toEqual(['Said after the restart', 'Written while down']);
    expect(await pendingCount(page)).toBe(0);
    expect(page.listLoads).toBe(2);
    await page.locator('#notice', { hasText: 'Reconnected. The comments were reloaded.' }).waitFor();
    expect(second.get(CommentStore).forPost(1).map((comment) => comment.text)).toEqual(['Said after the restart', 'Written while down']);
  });

  it('keeps the comments after a restart: a new tab on the restarted blog shows one posted before it', async () => {
    const shared = sharedState();
    const first = await startTestApp(AppModule, shared());
    const before = await signedInOnPost(profile, first, 'Ada');
    await postFromPage(before, 'Kept across a restart');
    await posted(before, 'Kept across a restart');
    await first.close();

    // Another process in all but name: a new bus (no channel history), the same database file.
    const second = await startTestApp(AppModule, { ...shared(), pubsub: memoryPubSub() });
    const page = await openPost(await profile(), second);
    expect(await commentTexts(page)).toEqual(['Kept across a restart']);
    expect(await page.locator('#comment-list time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});
