import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { requireCapability } from './broker-child.js';

/** Debian's chromium (apt-get install chromium); playwright-core downloads no browser of its own. */
export const CHROMIUM = process.env.BATON_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Debian's chromium, headless, closed after the test — or undefined when it is missing (the
 * test is then skipped, or failed under BATON_REQUIRE_ALL=1).
 */
export async function launchChromium(t: TestContext): Promise<Browser | undefined> {
  if (
    requireCapability(t, existsSync(CHROMIUM), `${CHROMIUM} not found (apt-get install chromium)`)
  )
    return undefined;
  // --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  return browser;
}

/** Logs in through the dashboard's form and waits for the overview. */
export async function logIn(
  page: Page,
  base: string,
  user = 'guest',
  pass = 'guest',
): Promise<void> {
  await page.goto(base);
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', pass);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('[data-tiles] .tile');
}

/** True when the page is wider than its viewport (a horizontal scrollbar on a phone). */
export async function overflowsHorizontally(page: Page): Promise<boolean> {
  // A string: the test's TypeScript has no DOM types.
  return page.evaluate<boolean>('document.documentElement.scrollWidth > window.innerWidth');
}
