// Headless Chromium for end-to-end tests: Debian's /usr/bin/chromium driven by playwright-core,
// never a downloaded browser. On a machine without it the browser tests skip and say why; in CI
// (CI=true, where .ci/run installs it) a missing browser is a failure, not a skip.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

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
