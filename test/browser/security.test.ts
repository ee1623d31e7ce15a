/**
 * Cookie and CSRF rules as a real browser applies them (Chromium): scripts can neither read nor overwrite
 * the HttpOnly cookies, a single-page app's fetch needs the CSRF token, SameSite keeps the session cookie
 * off cross-site posts, and the hybrid strategy's cookies behave the same way.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumSkipReason } from '../helpers/services.js';

const skip = chromiumSkipReason();

function attackerPage(target: string): Promise<Server> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(
      `<!doctype html><form method="post" action="${target}/auth/logout-all"><button id="go">Claim</button></form>`,
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

for (const preset of ['web-app', 'spa'] as const) {
  describe(`browser: cookie and CSRF rules (${preset})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;
    let base: string;

    before(async () => {
      server = await startTestServer({ flags: { preset } });
      // One user per test: a login made in the same second as a user-wide revocation (the previous test's
      // sign-out everywhere) is refused under hybrid, whose tokens' iat has whole seconds (docs/hybrid.md).
      for (const username of ['alice', 'bob', 'carol']) {
        await server.keycard.users.create({ username, password: `${username}-password` });
      }
      base = `http://localhost:${new URL(server.url).port}`;
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    async function signIn(page: Page, username: string): Promise<void> {
      await page.goto(`${base}/login`);
      await page.fill('#username', username);
      await page.fill('#password', `${username}-password`);
      await Promise.all([page.waitForURL(`${base}/account`), page.click('button[type=submit]')]);
      // The application's own single-page front end on the same origin (keycard's pages forbid scripts
      // and fetch with their CSP, so the app page is served here by the browser harness).
      await page.route(`${base}/app`, (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>app</title>' }),
      );
      await page.goto(`${base}/app`);
    }

    const status = (page: Page, path: string, init: { method?: string; token?: string } = {}) =>
      page.evaluate(
        async ({ path, method, token }) => {
          const headers: Record<string, string> = {};
          if (token) headers['x-csrf-token'] = token;
          return (await fetch(path, { method: method ?? 'GET', headers, credentials: 'same-origin' })).status;
        },
        { path, method: init.method, token: init.token },
      );

    test('scripts see none of keycard’s cookies and cannot overwrite them', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signIn(page, 'alice');
      assert.equal(await page.evaluate(() => document.cookie), '', 'every keycard cookie is HttpOnly');
      await page.evaluate(() => {
        // biome-ignore lint/suspicious/noDocumentCookie: the attack under test
        document.cookie = 'keycard_session=forged; path=/';
        // biome-ignore lint/suspicious/noDocumentCookie: the attack under test
        document.cookie = 'keycard_access=forged; path=/';
      });
      assert.equal(await status(page, '/auth/me'), 200, 'a script cannot replace an HttpOnly cookie');
      await context.close();
    });

    test('a single-page app’s fetch needs the CSRF token from /auth/csrf', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signIn(page, 'bob');
      assert.equal(await status(page, '/auth/logout-all', { method: 'POST' }), 403, 'no token');
      const token = await page.evaluate(
        async () => (await (await fetch('/auth/csrf')).json()).token as string,
      );
      assert.equal(
        await status(page, '/auth/logout-all', {
          method: 'POST',
          token: `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`,
        }),
        403,
      );
      assert.equal(await status(page, '/auth/me'), 200, 'nothing happened so far');
      assert.equal(await status(page, '/auth/logout-all', { method: 'POST', token }), 200);
      assert.equal(await status(page, '/auth/me'), 401);
      await context.close();
    });

    test('SameSite keeps the cookie off a cross-site form post (and the session survives)', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signIn(page, 'carol');
      const evil = await attackerPage(base);
      await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      const [response] = await Promise.all([
        page.waitForResponse(`${base}/auth/logout-all`),
        page.click('#go'),
      ]);
      // Without the cookie the request is anonymous: 401 (and even with it, the Origin check says 403).
      assert.ok([401, 403].includes(response.status()), String(response.status()));
      evil.close();
      await page.goto(`${base}/app`);
      assert.equal(await status(page, '/auth/me'), 200, 'still signed in');
      await context.close();
    });
  });
}
