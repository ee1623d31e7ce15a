/**
 * Two tabs of one browser share its cookie jar, so they share one login: signing out in one tab must end
 * it for the other tab's very next request — a page reload and a single-page app's fetch alike — and the
 * login must be over on the server, not only gone from the jar. Session strategy (web-app preset) and
 * hybrid with cookies (spa preset), in real Chromium.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { chromiumSkipReason } from '../helpers/services.js';
import { fetchStatus, launchChromium, localhostBase, routeAppPage, signInThroughPage } from './harness.js';

const skip = chromiumSkipReason();

const ALICE = { username: 'alice', password: 'alice-password' };

for (const preset of ['web-app', 'spa'] as const) {
  describe(`browser: signing out in one tab (${preset})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;
    let base: string;
    let aliceId: string;

    before(async () => {
      server = await startTestServer({ flags: { preset } });
      aliceId = (await server.keycard.users.create(ALICE)).id;
      base = localhostBase(server.url);
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    // guards: a tab that stays signed in after the user signed out in another tab
    test('ends the login for the other tabs’ next request (reload and fetch)', async () => {
      const context = await browser.newContext();
      const app = await routeAppPage(context, base);
      const tabA = await context.newPage();
      await signInThroughPage(tabA, base, ALICE);
      // Tab B shows the account page, tab C is the application's own page: both signed in by the one jar.
      const tabB = await context.newPage();
      await tabB.goto(`${base}/account`);
      assert.equal(new URL(tabB.url()).pathname, '/account');
      assert.match((await tabB.textContent('h1')) ?? '', /Signed in as alice/);
      const tabC = await context.newPage();
      await tabC.goto(app);
      assert.equal(await fetchStatus(tabC, '/auth/me'), 200);
      assert.equal((await server.keycard.logins.listForUser(aliceId)).length, 1, 'one login');
      // A copy of the jar, which the sign-out's Set-Cookie will not reach: a request already on its way
      // with the old cookie, or a stolen copy. It works now...
      const copy = await browser.newContext();
      await copy.addCookies(await context.cookies());
      await routeAppPage(copy, base);
      const copyTab = await copy.newPage();
      await copyTab.goto(app);
      assert.equal(await fetchStatus(copyTab, '/auth/me'), 200, 'the copied cookies work before');

      await tabA.bringToFront();
      await Promise.all([tabA.waitForURL(`${base}/login`), tabA.click('header button')]);

      // Tab C's next request, a fetch from the page it already has open: 401.
      assert.equal(await fetchStatus(tabC, '/auth/me'), 401);
      // Tab B still shows the old page; reloading it lands on the sign-in page.
      assert.equal(new URL(tabB.url()).pathname, '/account', 'nothing happened in tab B by itself');
      // (spa: the page first tries to renew the expired access token — /assets/keycard-session.js — and
      // finds the login over.)
      await tabB.reload();
      await tabB.waitForURL(`${base}/login`);
      assert.equal(await tabB.locator('#username').count(), 1, 'tab B shows the sign-in form');

      // ...and not after: the login is over on the server, not just deleted from the jar.
      assert.equal((await server.keycard.logins.listForUser(aliceId)).length, 0);
      assert.equal(await fetchStatus(copyTab, '/auth/me'), 401, 'the old cookies are dead');
      await copyTab.goto(`${base}/account`);
      await copyTab.waitForURL(`${base}/login`);
      await copy.close();
      await context.close();
    });
  });
}
