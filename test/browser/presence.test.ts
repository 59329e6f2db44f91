// Who is on the example blog's live comments page, in real browser tabs: a name open in two tabs is
// listed once, and leaves the list only when its last tab closes. Every wait is on the page's DOM
// (the list and each name's tab count), never a sleep.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { AppModule, BLOG_OPTIONS } from '../../example/blog/app.module.js';
import { browserMissing, useBrowser } from '../support/browser.js';
import { startTestApp, type TestApp } from 'vela/testing';

describe.skipIf(browserMissing)('who is here, in the browser', () => {
  const browser = useBrowser();

  /** A tab on the live comments page as `name`, once the page lists it (its own presence has come). */
  async function openTab(app: TestApp, name: string): Promise<Page> {
    const tab = await browser.newPage();
    tab.setDefaultTimeout(10_000);
    await tab.goto(`${app.url}/?name=${encodeURIComponent(name)}`);
    await tab.locator('#here li', { hasText: name }).first().waitFor();
    return tab;
  }

  /** Waits until `tab` lists exactly these names with their tab counts, in order, and shows how many names. */
  async function expectHere(tab: Page, expected: [name: string, tabs: number][]): Promise<void> {
    const listed = () =>
      tab.locator('#here li').evaluateAll((items) => items.map((item) => [item.textContent, Number(item.getAttribute('data-tabs'))]));
    await expect.poll(listed, { timeout: 10_000 }).toEqual(expected);
    expect(await tab.locator('#here-count').textContent()).toBe(String(expected.length));
  }

  it('lists a name once however many tabs it has open, until its last tab closes', async () => {
    const app = await startTestApp(AppModule, BLOG_OPTIONS);
    const [ada, adaAgain, bob] = [await openTab(app, 'Ada'), await openTab(app, 'Ada'), await openTab(app, 'Bob')];
    for (const tab of [ada, adaAgain, bob]) await expectHere(tab, [['Ada', 2], ['Bob', 1]]);

    // Ada is still here in her other tab: only her tab count drops.
    await ada.close();
    for (const tab of [adaAgain, bob]) await expectHere(tab, [['Ada', 1], ['Bob', 1]]);

    await adaAgain.close();
    await expectHere(bob, [['Bob', 1]]);
  });
});
