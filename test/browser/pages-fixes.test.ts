/**
 * What a first try of the pages found (issue 17), fixed and walked in real Chromium: a failed sign-in is a
 * redirect (POST-redirect-GET: a reload never posts the password again) back to the form, saying why and
 * keeping the username; "Keep me signed in" decides between browser-session and persistent cookies;
 * "sign out all others", "sign out everywhere" and the admin's Block each need a confirmation, which
 * works without JavaScript; a favicon, so no page load 404s; the sessions table fits a 390-px phone;
 * and a tab left open after its login ended sends its form posts to the sign-in page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { chromiumSkipReason } from '../helpers/services.js';
import { launchChromium, localhostBase, signInThroughPage } from './harness.js';

const skip = chromiumSkipReason();

const ALICE = { username: 'alice', password: 'alice-password' };
const BOB = { username: 'bob', password: 'bob-password' };
/** A long, real-looking user agent: the widest thing the sessions table shows. */
const LONG_AGENT =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/127.0.6533.103 Mobile Safari/537.36';

/** Signs `who` in over HTTP (another device), so the account page lists more than one session. */
async function otherDevice(server: TestServer, who: typeof ALICE, agent = LONG_AGENT): Promise<string> {
  const login = await request(server.url, 'POST', '/auth/login', {
    json: who,
    headers: { 'user-agent': agent },
  });
  assert.equal(login.status, 200, login.text);
  return login.json.session.id as string;
}

/** Submits the form `button` belongs to, waiting for the navigation to `url`. */
async function submit(page: Page, button: string, url: string | RegExp): Promise<void> {
  await Promise.all([page.waitForURL(url), page.click(button)]);
}

for (const preset of ['web-app', 'spa'] as const) {
  describe(`browser: the pages' fixes (${preset})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;
    let base: string;
    let aliceId: string;
    let bobId: string;

    before(async () => {
      server = await startTestServer({ flags: { preset } });
      aliceId = (await server.keycard.users.create({ ...ALICE, role: 'admin' })).id;
      bobId = (await server.keycard.users.create(BOB)).id;
      base = localhostBase(server.url);
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    /** A fresh browser profile; without JavaScript when asked (the pages must work without it). */
    const newContext = (options: { javaScript?: boolean; width?: number } = {}): Promise<BrowserContext> =>
      browser.newContext({
        javaScriptEnabled: options.javaScript ?? true,
        ...(options.width ? { viewport: { width: options.width, height: 844 } } : {}),
      });

    // guards: a reload of the page after a failed sign-in posting the password again
    test('a failed sign-in comes back to the form by a redirect, saying why, the username kept', async () => {
      const context = await newContext();
      const page = await context.newPage();
      const posts: string[] = [];
      page.on('request', (sent) => {
        if (sent.method() === 'POST') posts.push(new URL(sent.url()).pathname);
      });
      await page.goto(`${base}/login`);
      await page.fill('#username', 'alice');
      await page.fill('#password', 'not-the-password');
      await submit(page, 'button[type=submit]', /\/login\?error=invalid_credentials/);
      assert.equal(await page.textContent('[role=alert]'), 'Wrong username or password.');
      assert.equal(await page.inputValue('#username'), 'alice');
      assert.equal(await page.inputValue('#password'), '', 'the password is never sent back');
      await page.reload();
      assert.deepEqual(posts, ['/auth/login'], 'the reload was a GET');
      assert.equal(await page.textContent('[role=alert]'), 'Wrong username or password.');
      // Then the right password signs in from the same form.
      await page.fill('#password', ALICE.password);
      await submit(page, 'button[type=submit]', `${base}/account`);
      await context.close();
    });

    test('"Keep me signed in": unticked, browser-session cookies; ticked, persistent ones', async () => {
      for (const remember of [false, true]) {
        const context = await newContext();
        const page = await context.newPage();
        await page.goto(`${base}/login`);
        await page.fill('#username', ALICE.username);
        await page.fill('#password', ALICE.password);
        assert.equal(await page.isChecked('#remember'), false, 'unticked by default');
        if (remember) await page.check('#remember');
        await submit(page, 'button[type=submit]', `${base}/account`);
        const credentials = (await context.cookies()).filter((c) =>
          /keycard_(session|access|refresh)$/.test(c.name),
        );
        assert.equal(credentials.length, preset === 'web-app' ? 1 : 2);
        for (const cookie of credentials) {
          // Playwright says -1 for a session cookie, else the expiry in seconds.
          if (remember) assert.ok(cookie.expires > Date.now() / 1000, `${cookie.name} persistent`);
          else assert.equal(cookie.expires, -1, `${cookie.name} is a browser-session cookie`);
        }
        await context.close();
      }
    });

    test('sign out all others, and everywhere: each behind a confirmation that needs no JavaScript', async () => {
      const context = await newContext({ javaScript: false });
      const page = await context.newPage();
      await signInThroughPage(page, base, ALICE);
      const phone = await otherDevice(server, ALICE);
      await page.reload();
      // Nothing happens until the confirmation is opened: the real button is inside it.
      const others = page.locator('#logout-others');
      assert.equal(await others.getByRole('button', { name: 'Yes, sign out the others' }).isVisible(), false);
      await others.locator('summary').click();
      assert.equal(await others.getByRole('button', { name: 'Yes, sign out the others' }).isVisible(), true);
      await Promise.all([
        page.waitForURL(`${base}/account`),
        others.getByRole('button', { name: 'Yes, sign out the others' }).click(),
      ]);
      const left = await server.keycard.logins.listForUser(aliceId);
      assert.equal(left.length, 1, 'only this login is left');
      assert.ok(!left.some((login) => login.id === phone));

      await otherDevice(server, ALICE);
      await page.reload();
      const everywhere = page.locator('#logout-everywhere');
      await everywhere.locator('summary').click();
      await Promise.all([
        page.waitForURL(`${base}/login`),
        everywhere.getByRole('button', { name: 'Yes, sign out everywhere' }).click(),
      ]);
      assert.equal((await server.keycard.logins.listForUser(aliceId)).length, 0, 'every login ended');
      await page.goto(`${base}/account`);
      // (spa without JavaScript: the page that would try a refresh, with a link to sign in.)
      assert.doesNotMatch((await page.textContent('main')) ?? '', /Signed in as/);
      await context.close();
    });

    test("the admin's Block needs a confirmation that names the user", async () => {
      const context = await newContext({ javaScript: false });
      const page = await context.newPage();
      await signInThroughPage(page, base, ALICE);
      await page.goto(`${base}/admin`);
      const row = page.locator('tr[data-user="bob"]');
      const confirm = row.getByRole('button', { name: 'Yes, block bob' });
      assert.equal(await confirm.isVisible(), false);
      await row.locator('summary', { hasText: 'Block' }).click();
      await Promise.all([page.waitForURL(`${base}/admin`), confirm.click()]);
      assert.equal((await server.keycard.users.findByUsername('bob'))?.blocked, true);
      await server.keycard.users.unblock(bobId);
      await context.close();
    });

    test('a favicon: no page load 404s', async () => {
      const context = await newContext();
      const page = await context.newPage();
      const missing: string[] = [];
      page.on('response', (response) => {
        if (response.status() === 404) missing.push(response.url());
      });
      await page.goto(`${base}/login`);
      await signInThroughPage(page, base, ALICE);
      await page.goto(`${base}/auth/me`);
      // The icon is the page's own: linked, and loaded under the pages' Content-Security-Policy.
      const icon = await page.goto(`${base}/favicon.ico`);
      assert.equal(icon?.status(), 200);
      assert.deepEqual(missing, []);
      await context.close();
    });

    test('the sessions table fits a 390-px screen without scrolling sideways', async () => {
      const context = await newContext({ width: 390 });
      const page = await context.newPage();
      await signInThroughPage(page, base, ALICE);
      await otherDevice(server, ALICE);
      await otherDevice(
        server,
        ALICE,
        'Mozilla/5.0 (X11; Linux x86_64) curl/8.5.0 2001:db8:85a3::8a2e:370:7334',
      );
      await page.reload();
      assert.ok((await page.locator('tr[data-session]').count()) >= 3);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `the page is ${width} px wide`);
      // Every session's action is still on screen, and each value says what it is.
      for (const button of await page.locator('tr[data-session] button').all()) {
        const box = await button.boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box));
      }
      assert.match(
        (await page.locator('tr[data-session] td[data-label="Last active"]').first().textContent()) ?? '',
        /ago|just now/,
      );
      await server.keycard.revokeAllSessions(aliceId, { reason: 'logout_all' });
      await context.close();
    });

    // guards: a tab left open after its login ended showing a JSON or error page on its next form post
    test('a stale tab: its form posts land on the sign-in page once the login has ended elsewhere', async () => {
      // Without JavaScript, so that the spa pages' script does not follow the other tab by itself.
      const context = await newContext({ javaScript: false });
      const first = await context.newPage();
      await signInThroughPage(first, base, ALICE);
      const phone = await otherDevice(server, ALICE);
      // Three tabs left open on the account page, one for each of its forms.
      const stale: Page[] = [];
      for (let i = 0; i < 3; i++) {
        const tab = await context.newPage();
        await tab.goto(`${base}/account`);
        assert.equal(new URL(tab.url()).pathname, '/account');
        stale.push(tab);
      }
      const [revoke, password, others] = stale as [Page, Page, Page];
      await submit(first, 'header button', `${base}/login`);

      const signedOut = /\/login\?error=signed_out$/;
      await submit(revoke, `tr[data-session="${phone}"] button`, signedOut);
      assert.equal(await revoke.textContent('[role=alert]'), 'You have been signed out. Sign in again.');
      assert.equal(await revoke.locator('#username').count(), 1, 'the sign-in form');

      await password.fill('#current_password', ALICE.password);
      await password.fill('#new_password', 'a new password for alice');
      await password.fill('#confirm_password', 'a new password for alice');
      await submit(password, '#password button', signedOut);

      await others.locator('#logout-others summary').click();
      await submit(others, '#logout-others button', signedOut);

      // None of them did anything: the phone is still signed in, the password unchanged.
      assert.ok(
        (await server.keycard.logins.listForUser(aliceId)).some((login) => login.id === phone),
        'the phone is still signed in',
      );
      assert.ok((await server.keycard.users.verifyCredentials('alice', ALICE.password)).ok, 'unchanged');
      await server.keycard.revokeAllSessions(aliceId, { reason: 'logout_all' });
      await context.close();
    });
  });
}
