// The seeds' live comments, end to end: two real browser tabs on the example blog's page.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { AppModule, BLOG_OPTIONS } from '../../example/blog/app.module.js';
import { browserMissing, launchChromium } from '../support/browser.js';
import { startTestApp, type TestApp } from 'vela/testing';

describe.skipIf(browserMissing)('live comments in the browser', () => {
  let browser: Browser;
  const pages: Page[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.close()));
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function openPage(app: TestApp, query = ''): Promise<Page> {
    const page = await browser.newPage();
    pages.push(page);
    await page.goto(`${app.url}/${query}`);
    await page.waitForSelector('#live[data-connected="true"]');
    return page;
  }

  const comments = (page: Page) => page.locator('#comments li').allTextContents();

  it('shows a comment posted in one tab in both tabs', async () => {
    const app = await startTestApp(AppModule, BLOG_OPTIONS);
    const [first, second] = [await openPage(app), await openPage(app)];

    await first.fill('#comment', 'Hello from tab one');
    await first.click('#comment-form button');

    for (const page of [first, second]) {
      await page.locator('#comments li', { hasText: 'Hello from tab one' }).waitFor();
      expect(await comments(page)).toEqual(['Hello from tab one']);
    }
  });

  it('pushes a comment posted over HTTP to open tabs, and shows history to a new one', async () => {
    const app = await startTestApp(AppModule, BLOG_OPTIONS);
    const first = await openPage(app);

    // A script posting over HTTP: the session's CSRF token first, then the comment with it.
    const tokenRes = await app.http.fetch('/api/csrf-token');
    const { token } = (await tokenRes.json()) as { token: string };
    const cookie = tokenRes.headers.getSetCookie()[0]!.split(';')[0]!;
    const res = await app.http.fetch('/api/comments', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': token },
      body: JSON.stringify({ text: 'Posted over HTTP' }),
    });
    expect(res.status).toBe(201);
    await first.locator('#comments li', { hasText: 'Posted over HTTP' }).waitFor();

    const later = await openPage(app);
    expect(await comments(later)).toEqual(['Posted over HTTP']);
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
