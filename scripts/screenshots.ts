/**
 * Screenshots of the server's pages for docs/server.md, taken from a real `keycard serve` (temp SQLite
 * store, in-process) in Chromium at a fixed 1000×700 viewport (the admin page in full, 1000 wide):
 *
 *   node --import tsx --conditions=source scripts/screenshots.ts
 *
 * Writes docs/images/{signin-first-admin,signin-failed,account-sessions,admin-users}.png. The users and
 * passwords are made up here and shown nowhere; the pages never show a token.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerConfig, startServer } from 'keycard/server';
import { type Browser, chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/helpers/services.js';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'docs', 'images');
const VIEWPORT = { width: 1000, height: 700 };
// Fixed user agents, so the "Device" column reads the same on every run and machine.
const LINUX_CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const WINDOWS_FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';

const ADA = { username: 'ada', password: 'correct horse battery staple' };

/** The viewport, or with `fullPage` the whole page (still 1000 pixels wide). */
async function shoot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  const path = join(out, `${name}.png`);
  await page.screenshot({ path, animations: 'disabled', caret: 'hide', fullPage: options.fullPage ?? false });
  console.log(`${path.slice(root.length)}  ${Math.round(statSync(path).size / 1024)} KB`);
}

async function newPage(browser: Browser, userAgent: string): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT, userAgent, colorScheme: 'light' });
  return context.newPage();
}

async function signIn(page: Page, base: string, password: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('#username', ADA.username);
  await page.fill('#password', password);
  await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
}

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  // The server runs in a temp directory with the default store URL, so the sign-in page shows the
  // first-admin command exactly as a newcomer sees it (no temp path in it).
  const dir = mkdtempSync(join(tmpdir(), 'keycard-screenshots-'));
  const cwd = process.cwd();
  process.chdir(dir);
  const server = await startServer(
    loadServerConfig({ flags: { port: '0', host: '127.0.0.1', 'log-level': 'silent' }, env: {} }),
  );
  const base = `http://localhost:${new URL(server.url).port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    const page = await newPage(browser, LINUX_CHROME);
    await page.goto(`${base}/login`);
    await shoot(page, 'signin-first-admin');

    const users = server.keycard.users;
    await users.create({ ...ADA, role: 'admin' });
    await users.create({ username: 'bob', password: 'bob likes long passwords' });
    const carol = await users.create({ username: 'carol', password: 'carol keeps hers in a manager' });
    await users.block(carol.id);

    await signIn(page, base, 'not the password');
    await page.locator('#username').blur();
    await shoot(page, 'signin-failed');

    // Two logins of ada, from two browsers, so the account page lists two sessions.
    await signIn(await newPage(browser, WINDOWS_FIREFOX), base, ADA.password);
    await signIn(page, base, ADA.password);
    await page.goto(`${base}/account`);
    await shoot(page, 'account-sessions');

    await page.goto(`${base}/admin`);
    await shoot(page, 'admin-users', { fullPage: true });
  } finally {
    await browser.close();
    await server.close();
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
