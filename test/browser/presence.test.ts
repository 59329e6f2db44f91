// Who is reading a post of the example blog, in real browser tabs: a signed-in user open in two
// tabs is listed once, by name, and leaves the list only when their last tab closes; visitors are
// counted, never listed as a shared "guest". Every wait is on the page's DOM, never a sleep.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { AppModule, BLOG_OPTIONS } from '../../example/blog/app.module.js';
import { browserMissing } from '../support/browser.js';
import { startTestApp } from 'vela/testing';
import { openPost, signedInOnPost, useProfiles } from './blog-pages.js';

describe.skipIf(browserMissing)('who is here, in the browser', { timeout: 60_000 }, () => {
  const { profile } = useProfiles();

  /** Waits until `tab` lists exactly these names with their tab counts, in order, and counts the visitors. */
  async function expectHere(tab: Page, expected: [name: string, tabs: number][], visitors: number): Promise<void> {
    const listed = () => tab.locator('#here li').evaluateAll((items) => items.map((item) => [item.getAttribute('data-name'), Number(item.getAttribute('data-tabs'))]));
    await expect.poll(listed, { timeout: 10_000 }).toEqual(expected);
    await expect.poll(() => tab.locator('#here-count').textContent()).toBe(String(expected.length + visitors));
    expect(await tab.locator('#guests').isVisible()).toBe(visitors > 0);
  }

  it('lists a signed-in name once however many tabs it has open, until its last tab closes', async () => {
    const app = await startTestApp(AppModule, BLOG_OPTIONS);
    const ada = await signedInOnPost(profile, app, 'Ada');
    const adaAgain = await openPost(ada.context(), app);
    const joe = await signedInOnPost(profile, app, 'Joe');
    const visitor = await openPost(await profile(), app);
    for (const tab of [ada, adaAgain, joe, visitor]) await expectHere(tab, [['Ada', 2], ['Joe', 1]], 1);
    expect(await visitor.locator('#guests').textContent()).toBe('1 visitor reading');
    expect(await ada.locator('#here li.me').getAttribute('data-name')).toBe('Ada');

    // Ada is still here in her other tab: only her tab count drops.
    await ada.close();
    for (const tab of [adaAgain, joe]) await expectHere(tab, [['Ada', 1], ['Joe', 1]], 1);

    await adaAgain.close();
    await visitor.close();
    await expectHere(joe, [['Joe', 1]], 0);
  });
});
