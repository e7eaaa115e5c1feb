/**
 * Headless Chromium for browser tests, driven by playwright-core: the Debian `chromium`
 * package's binary (CI installs it), or a skip with the reason when it is missing.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildClient, isStale } from '../client/build.ts';
import type { ConfigInput } from '../homeserver/config.ts';
import { backends, startTestServer, type TestServer, type TestUser } from './harness.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(import.meta.dirname, 'artifacts');

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
}

/** Saves a screenshot under spec-tests/artifacts (gitignored) for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Collects what the page complains about: console errors, uncaught exceptions, CSP violations. */
export function watchProblems(page: Page, label: string): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`${label} pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // Failed requests are reported below with their URL; expected 4xx (UIA's 401) are not problems.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`${label} console: ${msg.text()}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 500 || (res.status() === 404 && !res.url().includes('/_matrix/'))) problems.push(`${label} ${res.status()} ${res.url()}`);
  });
  page.on('requestfailed', (req) => {
    if (!req.url().includes('/sync')) problems.push(`${label} request failed: ${req.url()} ${req.failure()?.errorText}`);
  });
  return problems;
}

/**
 * The pages a browser test opens, each in a context of its own (one person each), watched for
 * problems; on a failed test, screenshots and the problems seen; closed together at the end.
 */
export class BrowserPages {
  readonly pages: Array<[label: string, page: Page]> = [];
  private readonly contexts: BrowserContext[] = [];
  private readonly problemsOf = new Map<Page, string[]>();
  private readonly failurePrefix: string;

  constructor(failurePrefix: string) {
    this.failurePrefix = failurePrefix;
  }

  /** `prepare` attaches the test's own listeners before the app loads. */
  async open(browser: Browser, url: string, label: string, prepare?: (page: Page) => void): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    this.contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    this.pages.push([label, page]);
    this.problemsOf.set(page, watchProblems(page, label));
    prepare?.(page);
    await page.goto(url);
    return page;
  }

  /** Console errors, uncaught exceptions, CSP violations and failed requests the page saw. */
  problems(page: Page): string[] {
    return this.problemsOf.get(page) ?? [];
  }

  async recordFailure(): Promise<void> {
    for (const [label, page] of this.pages) await screenshot(page, `${this.failurePrefix}${label}`).catch(() => {});
    for (const [, page] of this.pages) console.log(this.problems(page));
  }

  async close(): Promise<void> {
    for (const c of this.contexts) await c.close().catch(() => {});
  }
}

/**
 * The frame every web-client test shares, set up with mocha hooks in the calling `describe`:
 * a skip without Chromium, a fresh client build, a server (with `overrides`, read when it
 * starts), Chromium; on a failed test the pages' screenshots and problems; all closed at the
 * end. `open` opens the app in a context of its own (one person each); `signIn` also signs
 * `user` in through the sign-in form.
 */
export function webClientSuite(failurePrefix: string, overrides: () => Partial<ConfigInput> = () => ({})): {
  srv: () => TestServer;
  opened: BrowserPages;
  open: (label: string, prepare?: (page: Page) => void) => Promise<Page>;
  signIn: (label: string, user: TestUser) => Promise<Page>;
} {
  let srv: TestServer | undefined;
  let browser: Browser | undefined;
  const opened = new BrowserPages(failurePrefix);
  before(async function () {
    const missing = chromiumMissing();
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    if (await isStale()) await buildClient();
    // The page is served by the server under test on 127.0.0.1; one backend is enough for the UI.
    srv = await startTestServer(backends()[0], overrides());
    browser = await launchChromium();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await opened.recordFailure();
  });
  after(async () => {
    await opened.close();
    await browser?.close();
    await srv?.close();
  });
  const open = (label: string, prepare?: (page: Page) => void) => opened.open(browser!, srv!.url, label, prepare);
  const signIn = async (label: string, user: TestUser): Promise<Page> => {
    const page = await open(label);
    await page.getByLabel('Username').fill(user.user_id.slice(1, user.user_id.indexOf(':')));
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Chats' }).waitFor();
    return page;
  };
  return { srv: () => srv!, opened, open, signIn };
}

/**
 * The recovery key shown once after setting up (or resetting) secure backup. While that runs,
 * the card can pass through "enter your recovery key", whose input has the same label.
 */
export async function shownRecoveryKey(page: Page): Promise<string> {
  return (await page.locator('code[aria-label="Recovery key"]').textContent({ timeout: 30_000 }))!;
}
