/**
 * Cross-site request forgery as an attacker actually sends it: a page on another origin that submits a
 * form to keycard the moment it loads, while the victim — an admin — is signed in in the same browser.
 * Three forgeries: "log out everywhere", "block this user" and "create an admin". From a page on another
 * site (127.0.0.1 while keycard is on localhost) SameSite=Lax keeps the cookies off the post, so it
 * arrives anonymous; from a page on the same site (localhost, another port) the browser sends the
 * cookies and keycard's Sec-Fetch-Site check refuses it. Either way nothing changes: every session of the
 * victim still works, the user is not blocked and no admin was created. Real Chromium.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { chromiumSkipReason } from '../helpers/services.js';
import {
  autoSubmitPage,
  launchChromium,
  localhostBase,
  type SiteServer,
  signInThroughPage,
  startSite,
} from './harness.js';

const skip = chromiumSkipReason();

const ALICE = { username: 'alice', password: 'alice-password' };
const MALLORY = { username: 'mallory', password: 'mallory-password' };
const EVE = { username: 'eve', password: 'a brand new admin for eve' };

interface Forgery {
  name: string;
  /** The path on keycard the attacker's form posts to. */
  path: string;
  fields: Record<string, string>;
}

/** The forgeries, the destructive one last, so each of the others would still find the victim signed in. */
function forgeries(malloryId: string): Forgery[] {
  return [
    { name: 'create-admin', path: '/auth/admin/users', fields: { ...EVE, role: 'admin' } },
    { name: 'block-user', path: `/auth/admin/users/${malloryId}/block`, fields: {} },
    { name: 'logout-all', path: '/auth/logout-all', fields: {} },
  ];
}

interface Answer {
  status: number;
  /** The headers Chromium sent with the forged post, cookies included. */
  sent: Record<string, string>;
  text: string;
}

/** Opens the attacker's page in the victim's tab and returns keycard's answer to the post it makes. */
async function openAttackerPage(page: Page, url: string, target: string): Promise<Answer> {
  const answered = page.waitForResponse(
    (response) => response.url() === target && response.request().method() === 'POST',
  );
  await page.goto(url, { waitUntil: 'commit' });
  const response = await answered;
  // The browser followed the form: the tab now shows keycard's answer.
  await page.waitForURL(target);
  return {
    status: response.status(),
    sent: await response.request().allHeaders(),
    text: (await page.textContent('main')) ?? '',
  };
}

for (const preset of ['web-app', 'spa'] as const) {
  describe(`browser: auto-submitted forgeries against a signed-in admin change nothing (${preset})`, {
    skip,
  }, () => {
    let server: TestServer;
    let browser: Browser;
    let base: string;
    let site: SiteServer;
    let malloryId: string;
    let aliceId: string;

    before(async () => {
      server = await startTestServer({ flags: { preset } });
      aliceId = (await server.keycard.users.create({ ...ALICE, role: 'admin' })).id;
      malloryId = (await server.keycard.users.create(MALLORY)).id;
      base = localhostBase(server.url);
      site = await startSite(() =>
        Object.fromEntries(
          forgeries(malloryId).map((forgery) => [
            `/${forgery.name}`,
            autoSubmitPage(`${base}${forgery.path}`, forgery.fields),
          ]),
        ),
      );
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await site?.close();
      await server?.close();
    });

    /** The victim signed in twice (two browsers, two sessions) and the user the attacker wants blocked. */
    async function signedIn(): Promise<{ alice: BrowserContext[]; mallory: BrowserContext }> {
      const alice: BrowserContext[] = [];
      for (let i = 0; i < 2; i++) {
        const context = await browser.newContext();
        await signInThroughPage(await context.newPage(), base, ALICE);
        alice.push(context);
      }
      const mallory = await browser.newContext();
      await signInThroughPage(await mallory.newPage(), base, MALLORY);
      return { alice, mallory };
    }

    /**
     * The cookies that carry the login on every path: the session cookie, or hybrid's access cookie (its
     * refresh cookie is scoped to /auth/refresh); not the pre-login CSRF cookie.
     */
    async function authCookieNames(context: BrowserContext): Promise<string[]> {
      const names = (await context.cookies())
        .filter((cookie) => cookie.path === '/' && !cookie.name.includes('csrf'))
        .map((cookie) => cookie.name);
      assert.ok(names.length > 0, 'the victim holds a login cookie');
      return names;
    }

    async function assertNothingChanged(
      alice: BrowserContext[],
      mallory: BrowserContext,
      sessionsBefore: number,
    ): Promise<void> {
      // Every session of the victim still works, seen through the app in the victim's browsers.
      for (const context of alice) {
        const page = await context.newPage();
        await page.goto(`${base}/account`);
        assert.equal(new URL(page.url()).pathname, '/account', 'the victim is still signed in');
        assert.match((await page.textContent('h1')) ?? '', /Signed in as alice/);
      }
      assert.equal((await server.keycard.logins.listForUser(aliceId)).length, sessionsBefore);
      // Mallory is not blocked (blocking would also have ended her session) and there is no new admin:
      // through the admin API as the admin, and in the store.
      const page = await mallory.newPage();
      await page.goto(`${base}/account`);
      assert.equal(new URL(page.url()).pathname, '/account', 'mallory’s session survived');
      const admin = alice[0] as BrowserContext;
      const listed = await admin.request.get(`${base}/auth/admin/users`);
      assert.equal(listed.status(), 200);
      const { users } = (await listed.json()) as {
        users: { username: string; role: string; blocked: boolean }[];
      };
      assert.deepEqual(
        users.map((user) => [user.username, user.role, user.blocked]),
        [
          ['alice', 'admin', false],
          ['mallory', 'user', false],
        ],
      );
      assert.equal((await server.keycard.users.get(malloryId))?.blocked, false);
      assert.equal(await server.keycard.users.findByUsername(EVE.username), null);
    }

    test('a cross-site page (127.0.0.1) that auto-submits is refused: SameSite keeps the cookies off', async () => {
      const { alice, mallory } = await signedIn();
      const victim = alice[0] as BrowserContext;
      const cookies = await authCookieNames(victim);
      const sessionsBefore = (await server.keycard.logins.listForUser(aliceId)).length;
      const eventsBefore = server.events.length;
      const tab = await victim.newPage();
      for (const forgery of forgeries(malloryId)) {
        const answer = await openAttackerPage(
          tab,
          `http://127.0.0.1:${site.port}/${forgery.name}`,
          `${base}${forgery.path}`,
        );
        assert.equal(answer.sent['sec-fetch-site'], 'cross-site', forgery.name);
        assert.equal(answer.sent.origin, `http://127.0.0.1:${site.port}`, forgery.name);
        const sentCookies = answer.sent.cookie ?? '';
        for (const name of cookies) {
          assert.ok(!sentCookies.includes(`${name}=`), `${forgery.name}: ${name} stayed home`);
        }
        // Anonymous, so refused before any check of the form: 401 "sign in first".
        assert.equal(answer.status, 401, forgery.name);
        assert.match(answer.text, /sign in first/, forgery.name);
      }
      assert.deepEqual(
        server.events.slice(eventsBefore).map((event) => event.type),
        [],
        'nothing was done and nobody was refused on the victim’s behalf',
      );
      await assertNothingChanged(alice, mallory, sessionsBefore);
      for (const context of [...alice, mallory]) await context.close();
    });

    test('a same-site page (localhost, another port) that auto-submits gets 403 cross_site_request', async () => {
      const { alice, mallory } = await signedIn();
      const victim = alice[0] as BrowserContext;
      const cookies = await authCookieNames(victim);
      const sessionsBefore = (await server.keycard.logins.listForUser(aliceId)).length;
      const eventsBefore = server.events.length;
      const tab = await victim.newPage();
      for (const forgery of forgeries(malloryId)) {
        const answer = await openAttackerPage(
          tab,
          `http://localhost:${site.port}/${forgery.name}`,
          `${base}${forgery.path}`,
        );
        // Ports do not make another site: the browser sends the admin's cookies along...
        assert.equal(answer.sent['sec-fetch-site'], 'same-site', forgery.name);
        const sentCookies = answer.sent.cookie ?? '';
        for (const name of cookies) {
          assert.ok(sentCookies.includes(`${name}=`), `${forgery.name}: ${name} was sent`);
        }
        // ...and keycard's Sec-Fetch-Site check is what refuses the post.
        assert.equal(answer.status, 403, forgery.name);
        assert.match(answer.text, /Not allowed/, forgery.name);
        assert.match(answer.text, /cross-site request refused/, forgery.name);
      }
      const events = server.events.slice(eventsBefore);
      assert.deepEqual(
        events.map((event) => [event.type, 'path' in event ? event.path : undefined]),
        forgeries(malloryId).map((forgery) => ['cross_site_rejected', forgery.path]),
        'each forgery was refused as cross-site, and nothing else happened',
      );
      await assertNothingChanged(alice, mallory, sessionsBefore);
      for (const context of [...alice, mallory]) await context.close();
    });
  });
}
