// What the blog's browser tests do on its pages: sign in through the form, open a post once its
// socket is live and its list loaded, post from the comment box, read the comments. Every wait is
// on the page's DOM, never a sleep.
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { TestApp } from 'vela/testing';
import { launchChromium } from '../support/browser.js';

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * One Chromium for a describe block, and browser profiles in it: each its own cookies (one
 * signed-in user, or a visitor), light colour scheme, closed after each test with their tabs.
 */
export function useProfiles(): { profile(viewport?: { width: number; height: number }): Promise<BrowserContext> } {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });
  afterAll(() => browser?.close());
  return {
    async profile(viewport = DESKTOP) {
      const context = await browser!.newContext({ viewport, colorScheme: 'light' });
      contexts.push(context);
      return context;
    },
  };
}

/** A page that counts its loads of the post's comment list, and records every request that failed. */
export type BlogPage = Page & { listLoads: number; failures: string[] };

/** Wraps `page`: counts list loads, records failed requests and responses of 400 and up (a favicon 404 too). */
export function watch(page: Page): BlogPage {
  const watched = Object.assign(page, { listLoads: 0, failures: [] as string[] });
  page.setDefaultTimeout(10_000);
  page.on('request', (request) => {
    if (/^\/api\/posts\/\d+\/comments$/.test(new URL(request.url()).pathname) && request.method() === 'GET') watched.listLoads += 1;
  });
  page.on('requestfailed', (request) => {
    // A page closed or navigated away aborts what it had in flight: not a failure of the app.
    if (request.failure()?.errorText !== 'net::ERR_ABORTED') watched.failures.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) watched.failures.push(`${response.request().method()} ${response.url()}: ${response.status()}`);
  });
  return watched;
}

/** A new profile signed in as `name` (password `<lowercase name>-pass`, as the seeded users'), with a tab on post `id`. */
export async function signedInOnPost(profile: () => Promise<BrowserContext>, app: TestApp, name: string, id = 1): Promise<BlogPage> {
  const page = watch(await (await profile()).newPage());
  await signIn(page, app, name, `${name.toLowerCase()}-pass`, `/posts/${id}`);
  await livePost(page);
  return page;
}

/** Signs in on the blog's form, from `back` (the page it returns to), and waits until the nav names the user. */
export async function signIn(page: Page, app: Pick<TestApp, 'url'>, name: string, password: string, back = '/'): Promise<void> {
  await page.goto(`${app.url}/login?return=${encodeURIComponent(back)}`);
  await page.fill('input[name="name"]', name);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForURL(`${app.url}${back}`), page.click('form[action="/login"] button')]);
  await page.locator('#viewer-name', { hasText: name }).waitFor();
}

/** A tab in `context` (its cookies: signed in or not) on post `id`, once its socket is open and its list loaded. */
export async function openPost(context: BrowserContext, app: Pick<TestApp, 'url'>, id = 1): Promise<BlogPage> {
  const page = watch(await context.newPage());
  await page.goto(`${app.url}/posts/${id}`);
  await livePost(page);
  return page;
}

/** Waits until the post page's socket is open and its list loaded. Attached, not visible: an empty list has no height. */
export const livePost = async (page: Page): Promise<void> => {
  await page.waitForSelector('#live[data-connected="true"] #comment-list[data-loaded="true"]', { state: 'attached' });
};

/** The texts of the comments on the page, oldest first. */
export const commentTexts = (page: Page) => page.locator('#comment-list li .comment-text').allTextContents();
/** A comment the server answered or broadcast: shown with its id, no longer pending. */
export const posted = (page: Page, text: string) => page.locator('#comment-list li[data-id]', { hasText: text }).waitFor();
export const pendingCount = (page: Page) => page.locator('#comment-list li[data-pending]').count();
export const connected = (page: Page, state: boolean) => page.locator(`#live[data-connected="${state}"]`).waitFor();

export async function postFromPage(page: Page, text: string): Promise<void> {
  await page.fill('#comment', text);
  await page.click('#comment-form button');
}
