// The example blog as a reader sees it, in Chromium at desktop (1280×800) and phone (390 px) widths:
// signed in through the form, the name in the navigation and on a posted comment, the pending mark
// until the server answers, who is here, no failed request (the favicon included), no sideways
// scrolling on a phone. The screenshots go to .build/screenshots/; with VELA_SCREENSHOTS=docs they
// replace docs/images/, where the README shows them (a test run leaves the tree as it was). Each test
// drives several browser profiles: 60 s each, for a loaded two-core machine.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { startTestApp } from 'vela/testing';
import { AppModule, BLOG_OPTIONS } from '../../example/blog/app.module.js';
import { browserMissing } from '../support/browser.js';
import { PHONE, commentTexts, livePost, openPost, pendingCount, posted, postFromPage, signIn, useProfiles, watch } from './blog-pages.js';

const IMAGES = fileURLToPath(new URL(process.env.VELA_SCREENSHOTS === 'docs' ? '../../docs/images/' : '../../.build/screenshots/', import.meta.url));

describe.skipIf(browserMissing)('the example blog in Chromium', { timeout: 60_000 }, () => {
  const { profile } = useProfiles();
  beforeAll(() => mkdirSync(IMAGES, { recursive: true }));

  it('signs Ada in and back to the post, shows her name on her comment after its pending mark, and looks right on desktop and phone', async () => {
    const app = await startTestApp(AppModule, BLOG_OPTIONS);

    // A visitor reads along, and is asked to sign in rather than given a comment box.
    const visitor = await openPost(await profile(), app, 2);
    expect(await visitor.locator('.sign-in-prompt a', { hasText: 'Sign in to comment' }).getAttribute('href')).toBe('/login?return=%2Fposts%2F2');
    expect(await visitor.locator('#comment-form').count()).toBe(0);

    // Ada follows the prompt from the post and comes back to it, signed in.
    const adaProfile = await profile();
    const ada = watch(await adaProfile.newPage());
    await ada.goto(`${app.url}/posts/2`);
    await ada.click('.sign-in-prompt a');
    await ada.fill('input[name="name"]', 'Ada');
    await ada.fill('input[name="password"]', 'ada-pass');
    await Promise.all([ada.waitForURL(`${app.url}/posts/2`), ada.click('form[action="/login"] button')]);
    expect(await ada.locator('.account').innerText()).toMatch(/Signed in as Ada\s*Sign out/);
    await livePost(ada);

    const joeProfile = await profile();
    const joeSignIn = watch(await joeProfile.newPage());
    await signIn(joeSignIn, app, 'Joe', 'joe-pass', '/posts/2');

    // Everyone on the post is listed, Ada once however many tabs; visitors are counted.
    for (const page of [ada, joeSignIn, visitor]) {
      await expect.poll(() => page.locator('#here li').evaluateAll((items) => items.map((item) => item.getAttribute('data-name')))).toEqual(['Ada', 'Joe']);
      await page.locator('#guests', { hasText: '1 visitor reading' }).waitFor();
    }

    // The comment shows at once, marked as sending, in the same task as the submit.
    await ada.fill('#comment', 'The live list is lovely: no reload, and I can see who is here.');
    const atSubmit = await ada.evaluate(`(() => {
      document.getElementById('comment-form').requestSubmit();
      const item = document.querySelector('#comment-list li:last-child');
      return { pending: item.dataset.pending !== undefined, state: item.querySelector('.state')?.textContent, author: item.querySelector('.author')?.textContent };
    })()`);
    expect(atSubmit).toEqual({ pending: true, state: 'Sending…', author: 'Ada' });
    await posted(ada, 'The live list is lovely');
    expect(await pendingCount(ada)).toBe(0);
    expect(await ada.locator('#comment-list li .state').count()).toBe(0);

    await postFromPage(joeSignIn, 'Agreed. And my comment reached you before I finished reading yours.');
    for (const page of [ada, joeSignIn, visitor]) {
      await posted(page, 'my comment reached you');
      expect(await commentTexts(page)).toEqual([
        'The live list is lovely: no reload, and I can see who is here.',
        'Agreed. And my comment reached you before I finished reading yours.',
      ]);
      // Author and time on every comment, the time machine-readable.
      const meta = await page.locator('#comment-list li').evaluateAll((items) =>
        items.map((item) => [item.querySelector('.author')?.textContent, !Number.isNaN(Date.parse(item.querySelector('time')!.getAttribute('datetime')!))]),
      );
      expect(meta).toEqual([
        ['Ada', true],
        ['Joe', true],
      ]);
    }
    expect(await ada.locator('#status').textContent()).toBe('Live');
    await ada.locator('#comment').blur();
    await ada.screenshot({ path: `${IMAGES}blog-desktop.png`, fullPage: true });

    // Ada on her phone: the same session, 390 px wide, nothing wider than the screen.
    const phoneProfile = await profile(PHONE);
    await phoneProfile.addCookies(await adaProfile.cookies());
    const phone = await openPost(phoneProfile, app, 2);
    await phone.locator('#viewer-name', { hasText: 'Ada' }).waitFor();
    await phone.locator('#here li[data-name="Ada"][data-tabs="2"]').waitFor();
    expect(await phone.evaluate('document.documentElement.scrollWidth <= innerWidth')).toBe(true);
    await phone.screenshot({ path: `${IMAGES}blog-phone.png`, fullPage: true });

    for (const page of [visitor, ada, joeSignIn, phone]) expect(page.failures).toEqual([]);
  });

  it('shows the post list with real counts, and HTML error pages in the browser', async () => {
    const app = await startTestApp(AppModule, BLOG_OPTIONS);
    const ada = watch(await (await profile()).newPage());
    await signIn(ada, app, 'Ada', 'ada-pass', '/posts/1');
    await ada.waitForSelector('#live[data-connected="true"]', { state: 'attached' });
    await postFromPage(ada, 'One for the count');
    await posted(ada, 'One for the count');

    await ada.goto(`${app.url}/`);
    expect(await ada.locator('.post-summary').evaluateAll((items) => items.map((item) => [item.querySelector('h2')!.textContent, item.querySelector('.comment-count')!.textContent]))).toEqual([
      ['Live comments', '0 comments'],
      ['Hello, Nova', '1 comment'],
    ]);

    const missing = await ada.goto(`${app.url}/posts/99`);
    expect(missing?.status()).toBe(404);
    expect(await ada.locator('main h1').textContent()).toBe('Not Found');
    expect(await ada.locator('#viewer-name').textContent()).toBe('Ada');
    ada.failures.length = 0; // the 404 was the point

    const phone = watch(await (await profile(PHONE)).newPage());
    await phone.goto(`${app.url}/`);
    expect(await phone.evaluate('document.documentElement.scrollWidth <= innerWidth')).toBe(true);
    expect(phone.failures).toEqual([]);
  });
});
