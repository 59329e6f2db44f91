// The seeds' live comments, end to end: real browser tabs on the example blog's page, against real
// servers that go away and come back on the same port. Every wait is on the page's DOM, never a sleep.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { MemoryBus, memoryPubSub } from 'vela';
import { AppModule, BLOG_OPTIONS } from '../../example/blog/app.module.js';
import { CommentStore } from '../../example/blog/comments/comment-store.js';
import { BLOG_DB_FILE, BlogDatabase } from '../../example/blog/data/blog-database.js';
import { browserMissing, useBrowser } from '../support/browser.js';
import { memoryLogger, startTestApp, type TestApp, type TestAppOptions, type TestSocket } from 'vela/testing';

const dataDir = mkdtempSync(join(tmpdir(), 'vela-blog-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
let databases = 0;
/** A database file of the blog's own for one test, as `npm start` keeps example/data/blog.db. */
const databaseFile = () => join(dataDir, `blog-${++databases}.db`);

/**
 * Options for the blog as one app across restarts and instances: one MemoryBus (the channel's
 * history, the answers kept for repeated requests) as Redis would be, and one database file. Each
 * app needs its own adapter on the bus.
 */
function sharedState(): () => TestAppOptions {
  const bus = new MemoryBus();
  const file = databaseFile();
  return () => ({ ...BLOG_OPTIONS, pubsub: memoryPubSub({ bus }), providers: [{ provide: BLOG_DB_FILE, useValue: file }] });
}

describe.skipIf(browserMissing)('live comments in the browser', () => {
  const browser = useBrowser();

  /** A tab on the blog's page, once its socket is open and its list loaded; counts its loads of /api/comments. */
  async function openPage(app: TestApp, query = ''): Promise<Page & { listLoads: number }> {
    const page = Object.assign(await browser.newPage(), { listLoads: 0 });
    page.setDefaultTimeout(10_000);
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/comments') page.listLoads += 1;
    });
    await page.goto(`${app.url}/${query}`);
    // Attached, not visible: an empty list has no height.
    await page.waitForSelector('#live[data-connected="true"] #comments[data-loaded="true"]', { state: 'attached' });
    return page;
  }

  const comments = (page: Page) => page.locator('#comments li').allTextContents();
  /** A comment the server answered or broadcast: shown with its id, no longer pending. */
  const posted = (page: Page, text: string) => page.locator('#comments li[data-id]', { hasText: text }).waitFor();
  const pendingCount = (page: Page) => page.locator('#comments li[data-pending]').count();
  const connected = (page: Page, state: boolean) => page.locator(`#live[data-connected="${state}"]`).waitFor();

  async function postFromPage(page: Page, text: string): Promise<void> {
    await page.fill('#comment', text);
    await page.click('#comment-form button');
  }

  /** The socket's next JSON frame other than a presence diff. */
  async function recvPastPresenceDiffs(ws: TestSocket): Promise<unknown> {
    for (;;) {
      const frame = await ws.recvJson<{ event?: string }>();
      if (frame.event !== 'presence_diff') return frame;
    }
  }

  /** A script posting over HTTP: the session's CSRF token first, then the comment with it. */
  async function postOverHttp(app: TestApp, text: string): Promise<Response> {
    const tokenRes = await app.http.fetch('/api/csrf-token');
    const { token } = (await tokenRes.json()) as { token: string };
    const cookie = tokenRes.headers.getSetCookie()[0]!.split(';')[0]!;
    return app.http.fetch('/api/comments', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': token },
      body: JSON.stringify({ text }),
    });
  }

  it('shows a comment posted in one tab in both tabs, once', async () => {
    const app = await startTestApp(AppModule, BLOG_OPTIONS);
    const [first, second] = [await openPage(app), await openPage(app)];

    await postFromPage(first, 'Hello from tab one');

    for (const page of [first, second]) {
      await posted(page, 'Hello from tab one');
      expect(await comments(page)).toEqual(['Hello from tab one']);
    }
  });

  it('shows a pending comment at once, then as posted, and a refused one with its error', async () => {
    const app = await startTestApp(AppModule, BLOG_OPTIONS);
    const page = await openPage(app);

    await postFromPage(page, 'Quick one');
    await posted(page, 'Quick one');
    expect(await comments(page)).toEqual(['Quick one']);
    expect(await pendingCount(page)).toBe(0);

    // The input stops at 500 characters; a page that gets past it is refused by the server.
    await page.evaluate("document.getElementById('comment').removeAttribute('maxlength')");
    await postFromPage(page, 'x'.repeat(501));
    await page.locator('#comments li.failed', { hasText: 'not posted: text is 501 characters: shorten it to 500 at most' }).waitFor();
    expect(await pendingCount(page)).toBe(0);
    expect(await (await app.http.get('/api/comments')).json()).toEqual([expect.objectContaining({ text: 'Quick one' })]);

    // What the page's request gets on the wire, for a blank text; the HTTP API refuses alike.
    // The socket first gets who is here; diffs follow whenever a tab opens or closes, so the answer is awaited past them.
    const ws = await app.ws('/comments');
    expect(await ws.recvJson()).toMatchObject({ event: 'presence_state', data: { guest: { metas: expect.any(Array) } } });
    ws.sendJson({ event: 'post', data: { text: '  ' }, ref: '1' });
    expect(await recvPastPresenceDiffs(ws)).toEqual({
      ref: '1',
      error: {
        code: 'invalid',
        message: "invalid data for event 'post': text: text must be a non-empty string",
        issues: [{ path: ['text'], message: 'text must be a non-empty string' }],
      },
    });
    const tooLong = await postOverHttp(app, 'x'.repeat(501));
    expect([tooLong.status, await tooLong.json()]).toEqual([
      400,
      { error: 'invalid request', issues: [{ in: 'body', path: ['text'], message: 'text is 501 characters: shorten it to 500 at most' }] },
    ]);
  });

  it('pushes a comment posted over HTTP to open tabs, and shows history to a new one', async () => {
    const app = await startTestApp(AppModule, BLOG_OPTIONS);
    const first = await openPage(app);

    const res = await postOverHttp(app, 'Posted over HTTP');
    expect(res.status).toBe(201);
    const stored = (await res.json()) as { id: string; text: string };
    expect(stored).toEqual({ id: expect.any(String), text: 'Posted over HTTP', at: expect.any(String) });
    await posted(first, 'Posted over HTTP');
    expect(await first.locator('#comments li[data-id]').getAttribute('data-id')).toBe(stored.id);

    const later = await openPage(app);
    expect(await comments(later)).toEqual(['Posted over HTTP']);
  });

  it("shows a comment posted while the other tab's server was down in that tab once, replayed when it is back", async () => {
    const shared = sharedState();
    const one = await startTestApp(AppModule, shared());
    const two = await startTestApp(AppModule, shared());
    const [a, b] = [await openPage(one), await openPage(two)];
    // Tab B's position on the channel: the last comment it got before its server went away.
    await postFromPage(a, 'Before the restart');
    await posted(b, 'Before the restart');

    await two.close();
    await connected(b, false);
    await postFromPage(a, 'While B was away');
    await posted(a, 'While B was away');

    await startTestApp(AppModule, { ...shared(), port: two.port });
    await posted(b, 'While B was away');
    await connected(b, true);
    for (const page of [a, b]) expect(await comments(page)).toEqual(['Before the restart', 'While B was away']);
    // B got it from the channel's replay, not from reloading its list.
    expect(b.listLoads).toBe(1);
  });

  it("shows a comment posted while the tab's own server is down as pending, then posted once when the server is back", async () => {
    const shared = sharedState();
    const app = await startTestApp(AppModule, shared());
    const page = await openPage(app);

    await app.close();
    await connected(page, false);
    await postFromPage(page, 'Written offline');
    await page.locator('#comments li.pending[data-pending]', { hasText: 'Written offline (sending…)' }).waitFor();

    const back = await startTestApp(AppModule, { ...shared(), port: app.port });
    await posted(page, 'Written offline');
    expect(await comments(page)).toEqual(['Written offline']);
    expect(await pendingCount(page)).toBe(0);
    // The request was sent again after the reconnect and posted once.
    expect(((await (await back.http.get('/api/comments')).json()) as { text: string }[]).map((c) => c.text)).toEqual(['Written offline']);
  });

  it('reloads its list after its server lost the history, keeping its pending comment', async () => {
    const first = await startTestApp(AppModule, BLOG_OPTIONS);
    const page = await openPage(first);
    // Received from the channel, so the tab has a position to present when it reconnects.
    expect((await postOverHttp(first, 'Said before the restart')).status).toBe(201);
    await posted(page, 'Said before the restart');

    await first.close();
    await connected(page, false);
    await postFromPage(page, 'Written while down');
    await page.locator('#comments li[data-pending]', { hasText: 'Written while down' }).waitFor();

    // A fresh app (new bus, another database) on the same port: another epoch, so recovered: false.
    const file = databaseFile();
    const database = new BlogDatabase(file, memoryLogger());
    database.onInit();
    const store = new CommentStore(database);
    store.onInit();
    store.add('Said after the restart');
    database.onClose();
    const second = await startTestApp(AppModule, { ...BLOG_OPTIONS, port: first.port, providers: [{ provide: BLOG_DB_FILE, useValue: file }] });
    await expect.poll(() => comments(page), { timeout: 10_000 }).toEqual(['Said after the restart', 'Written while down']);
    expect(await pendingCount(page)).toBe(0);
    expect(page.listLoads).toBe(2);
    expect(second.get(CommentStore).all().map((comment) => comment.text)).toEqual(['Said after the restart', 'Written while down']);
  });

  it('keeps the comments after a restart: a new tab on the restarted blog shows one posted before it', async () => {
    const file = databaseFile();
    const first = await startTestApp(AppModule, { ...BLOG_OPTIONS, providers: [{ provide: BLOG_DB_FILE, useValue: file }] });
    const before = await openPage(first);
    await postFromPage(before, 'Kept across a restart');
    await posted(before, 'Kept across a restart');
    await first.close();

    // Another process in all but name: a new bus (no channel history), the same database file.
    const second = await startTestApp(AppModule, { ...BLOG_OPTIONS, providers: [{ provide: BLOG_DB_FILE, useValue: file }] });
    const page = await openPage(second);
    expect(await comments(page)).toEqual(['Kept across a restart']);
  });

  it('sends a chat line to the other tab only once, not back to its sender', async () => {
    const app = await startTestApp(AppModule, BLOG_OPTIONS);
    const ada = await openPage(app, '?name=Ada');
    const joe = await openPage(app, '?name=Joe');

    await ada.fill('#chat-line', 'hi Joe');
    await ada.click('#chat-form button');
    await joe.locator('#chat li', { hasText: 'Ada: hi Joe' }).waitFor();

    // Joe answers; once Ada sees it, her own line would have come back before it if it were echoed.
    await joe.fill('#chat-line', 'hi Ada');
    await joe.click('#chat-form button');
    await ada.locator('#chat li', { hasText: 'Joe: hi Ada' }).waitFor();
    expect(await ada.locator('#chat li').allTextContents()).toEqual(['me: hi Joe', 'Joe: hi Ada']);
    expect(await joe.locator('#chat li').allTextContents()).toEqual(['Ada: hi Joe', 'me: hi Ada']);
  });
});
