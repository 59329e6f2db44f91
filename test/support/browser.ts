// Headless Chromium for end-to-end tests: Debian's /usr/bin/chromium driven by playwright-core,
// never a downloaded browser. On a machine without it the browser tests skip and say why; in CI
// (CI=true, where .ci/run installs it) a missing browser is a failure, not a skip.
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const browserMissing = existsSync(CHROMIUM)
  ? undefined
  : `browser tests skipped: ${CHROMIUM} not found (install Debian's chromium: apt-get install chromium)`;

if (browserMissing) {
  if (process.env.CI === 'true') throw new Error(`${browserMissing}; CI must run them.`);
  console.warn(browserMissing);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/**
 * One Chromium for the tests of a describe block, launched before them and closed after; every page
 * opened with `newPage()` is closed after its test, so no test sees another's tabs.
 */
export function useBrowser(): { newPage(): Promise<Page> } {
  let browser: Browser | undefined;
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
  return {
    async newPage() {
      const page = await browser!.newPage();
      pages.push(page);
      return page;
    },
  };
}
