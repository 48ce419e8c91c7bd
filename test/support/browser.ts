/**
 * Real headless Chromium for page tests: the Debian `chromium` driven by playwright-core
 * (never a downloaded browser). Set CREMA_TEST_CHROMIUM to use another binary.
 */
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

export const CHROMIUM = process.env.CREMA_TEST_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
}

/** One browser for all tests of a file: launched before them, closed after them. */
export function useBrowser(): { readonly browser: Browser } {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    get browser() {
      return browser!;
    },
  };
}

/** What a page reported that a test should see: console errors, uncaught errors, CSP violations. */
export interface PageProblems {
  readonly console: string[];
  readonly errors: string[];
  /** CSP violations as `directive blocked-uri`, read from the page. */
  cspViolations(): Promise<string[]>;
}

/** Records a page's problems from before its first script runs. */
export async function watchPage(page: Page): Promise<PageProblems> {
  const console: string[] = [];
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') console.push(`${message.type()}: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(error.message));
  // A string, not a function: this file is compiled without the DOM library.
  await page.addInitScript({
    content: `window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));`,
  });
  return {
    console,
    errors,
    cspViolations: () => page.evaluate<string[]>('window.cspViolations ?? []'),
  };
}
