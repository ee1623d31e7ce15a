/**
 * What only a real browser can check: the session cookie is invisible to scripts, SameSite and the
 * Origin/Sec-Fetch-Site check stop cross-site and same-site forgeries, and the pages work end to end.
 * Drives Debian's Chromium through playwright-core.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumSkipReason } from '../helpers/services.js';

const skip = chromiumSkipReason();

/** An attacker's page on another origin: a form that posts to the auth server. */
function attackerServer(target: string, action: string, fields: Record<string, string>): Promise<Server> {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input name="${name}" value="${value}">`)
    .join('');
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(
      `<!doctype html><form id="f" method="post" action="${target}${action}">${inputs}<button id="go">Win a prize</button></form>`,
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('browser: sessions in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  before(async () => {
    server = await startTestServer();
    await server.keycard.users.create({ username: 'alice', password: 'alice-password', role: 'admin' });
    await server.keycard.users.create({ username: 'mallory', password: 'mallory-password' });
    base = `http://localhost:${new URL(server.url).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signIn(page: import('playwright-core').Page) {
    await page.goto(`${base}/`);
    await page.fill('#username', 'alice');
    await page.fill('#password', 'alice-password');
    await Promise.all([page.waitForURL(`${base}/account`), page.click('button[type=submit]')]);
  }

  test('sign in through the page; the session cookie is HttpOnly and invisible to scripts', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page);
    assert.match((await page.textContent('h1')) ?? '', /Signed in as alice/);
    assert.equal(await page.locator('tr[data-session]').count(), 1);
    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === 'keycard_session');
    assert.ok(session, 'the browser holds the session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.path, '/');
    assert.equal(await page.evaluate(() => document.cookie.includes('keycard_session')), false);
    await context.close();
  });

  test('a same-site page on another origin cannot post with the session (Sec-Fetch-Site check)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page);
    // localhost:<other port> is the same site as localhost:<server port> (ports do not count), so the
    // browser sends the SameSite=Lax cookie: only the server's own check stands in the way.
    const evil = await attackerServer(base, '/auth/logout-all', {});
    const evilPort = (evil.address() as AddressInfo).port;
    await page.goto(`http://localhost:${evilPort}/`);
    const [response] = await Promise.all([
      page.waitForResponse(`${base}/auth/logout-all`),
      page.click('#go'),
    ]);
    assert.equal(response.status(), 403);
    await page.goto(`${base}/account`);
    assert.equal(new URL(page.url()).pathname, '/account', 'still signed in');
    evil.close();
    await context.close();
  });

  test('a cross-site page cannot sign the browser in to the attacker’s account (login CSRF)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const evil = await attackerServer(base, '/auth/login', {
      username: 'mallory',
      password: 'mallory-password',
    });
    const evilURL = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
    await page.goto(evilURL);
    const [response] = await Promise.all([page.waitForResponse(`${base}/auth/login`), page.click('#go')]);
    assert.equal(response.status(), 403);
    assert.equal(
      (await context.cookies()).some((cookie) => cookie.name === 'keycard_session'),
      false,
    );
    evil.close();
    await context.close();
  });

  test('signing out from the account page ends the session', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page);
    await Promise.all([page.waitForURL(`${base}/login`), page.click('header button')]);
    assert.equal(
      (await context.cookies()).some((cookie) => cookie.name === 'keycard_session'),
      false,
    );
    await page.goto(`${base}/account`);
    assert.equal(new URL(page.url()).pathname, '/login');
    await context.close();
  });
});
