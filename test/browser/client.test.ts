/**
 * keycard/client in real Chromium, loaded from `GET /auth/client.js` as a page without a bundler would:
 * two tabs of one browser share the login (hybrid strategy, cookie transport: the spa preset). When the
 * access token has expired, 20 parallel `client.fetch` calls in each tab cause exactly one refresh, and no
 * call fails; a login and a logout in one tab reach the other tab's `onChange`, and its next call is
 * refused. The server's clock is moved past the access token's expiry; the browser's is not, so the tabs
 * learn of it from the server's 401 `token_expired`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ManualClock } from '../helpers/clock.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { chromiumSkipReason } from '../helpers/services.js';
import { launchChromium, localhostBase, routeAppPage, signInThroughPage } from './harness.js';

const skip = chromiumSkipReason();
const ALICE = { username: 'alice', password: 'alice-password' };
/** The spa preset's access tokens live 15 minutes; the verifier allows a little clock skew beyond. */
const PAST_EXPIRY_SECONDS = 15 * 60 + 120;

declare global {
  interface Window {
    auth: import('../../src/client/index.js').KeycardClient;
    changes: (string | null)[];
  }
}

/** Loads the client from the server into the page: `window.auth`, and `window.changes` from onChange. */
async function loadClient(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const { createClient } = (await import(
      '/auth/client.js' as string
    )) as typeof import('../../src/client/index.js');
    window.changes = [];
    window.auth = createClient({ baseUrl: '', transport: 'cookie' });
    window.auth.onChange((session) => window.changes.push(session.user?.username ?? null));
  });
}

/** Two tabs of one browser context on the app page, each with the client loaded; `refreshes` counts them. */
async function twoTabs(browser: Browser, base: string) {
  const context = await browser.newContext();
  const app = await routeAppPage(context, base);
  const refreshes: string[] = [];
  context.on('request', (request) => {
    if (new URL(request.url()).pathname === '/auth/refresh') refreshes.push(request.method());
  });
  const tabA = await context.newPage();
  const tabB = await context.newPage();
  for (const tab of [tabA, tabB]) {
    await tab.goto(app);
    await loadClient(tab);
  }
  return { context, tabA, tabB, refreshes };
}

describe('browser: keycard/client across tabs (spa preset)', { skip }, () => {
  const clock = new ManualClock(Date.now());
  let server: TestServer;
  let browser: Browser;
  let base: string;
  let aliceId: string;

  before(async () => {
    server = await startTestServer({ clock, flags: { preset: 'spa' } });
    aliceId = (await server.keycard.users.create(ALICE)).id;
    base = localhostBase(server.url);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('/auth/client.js is a module any page may load, revalidated by its ETag', async () => {
    const first = await fetch(`${server.url}/auth/client.js`);
    assert.equal(first.status, 200);
    assert.match(first.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(first.headers.get('access-control-allow-origin'), '*');
    assert.equal(first.headers.get('cache-control'), 'no-cache');
    const text = await first.text();
    assert.match(text, /export function createClient/);
    assert.doesNotMatch(text, /sourceMappingURL|^import /m);
    const etag = first.headers.get('etag') as string;
    const again = await fetch(`${server.url}/auth/client.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });

  test('a refresh in one tab that finds the login ended signs every tab out', async () => {
    const { context, tabA, tabB } = await twoTabs(browser, base);
    await tabA.evaluate(({ username, password }) => window.auth.login({ username, password }), ALICE);
    await tabB.waitForFunction(() => window.changes.includes('alice'));
    // An admin ends every login of the user; then the access token expires.
    await server.keycard.logins.destroyAllForUser(aliceId);
    clock.advanceSeconds(PAST_EXPIRY_SECONDS);
    assert.equal(await tabA.evaluate(() => window.auth.fetch('/auth/me').then((r) => r.status)), 401);
    assert.equal(await tabA.evaluate(() => window.auth.session.user), null);
    await tabB.waitForFunction(() => window.changes.at(-1) === null);
    assert.equal(await tabB.evaluate(() => window.auth.session.user), null);
    await context.close();
  });

  test('the spa pages stay signed in past the access token’s lifetime, and not past the login’s end', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.clock.install();
    const refreshes: number[] = [];
    context.on('request', (request) => {
      if (new URL(request.url()).pathname === '/auth/refresh') refreshes.push(1);
    });
    await signInThroughPage(page, base, ALICE);
    // Left open: the page renews the access token 30 s before it expires, by itself.
    await page.clock.fastForward('14:40');
    await expectCount(refreshes, 1);
    // Come back after the access token expired (the server's clock moved on): the page resumes.
    clock.advanceSeconds(PAST_EXPIRY_SECONDS);
    await page.goto(`${base}/account`);
    await page.waitForSelector('h1:text("Signed in as alice")');
    assert.equal(new URL(page.url()).pathname, '/account');
    await expectCount(refreshes, 2);
    // The login ended on the server (an admin blocked the user): the next renewal sends the page to sign-in.
    await server.keycard.logins.destroyAllForUser(aliceId);
    clock.advanceSeconds(PAST_EXPIRY_SECONDS);
    await page.goto(`${base}/account`);
    await page.waitForURL(`${base}/login`);
    await context.close();
  });

  test('two tabs, 20 calls each as the access token expires: one refresh, every call answered', async () => {
    const { context, tabA, tabB, refreshes } = await twoTabs(browser, base);

    const user = await tabA.evaluate(async ({ username, password }) => {
      const session = await window.auth.login({ username, password });
      return session.user?.username;
    }, ALICE);
    assert.equal(user, 'alice');
    // Tab B hears of the login from tab A, through the BroadcastChannel.
    await tabB.waitForFunction(() => window.changes.includes('alice'));
    assert.equal(await tabB.evaluate(() => window.auth.session.user?.username), 'alice');

    clock.advanceSeconds(PAST_EXPIRY_SECONDS);
    const calls = () =>
      Promise.all(Array.from({ length: 20 }, () => window.auth.fetch('/auth/me').then((r) => r.status)));
    const [statusesA, statusesB] = await Promise.all([tabA.evaluate(calls), tabB.evaluate(calls)]);
    assert.deepEqual(statusesA, Array(20).fill(200));
    assert.deepEqual(statusesB, Array(20).fill(200));
    assert.deepEqual(refreshes, ['POST'], 'one refresh for both tabs');

    // Logout in tab A: tab B's onChange hears it, and its next call is refused by the server.
    await tabA.evaluate(() => window.auth.logout());
    await tabB.waitForFunction(() => window.changes.at(-1) === null);
    assert.equal(await tabB.evaluate(() => window.auth.session.user), null);
    assert.equal(await tabB.evaluate(() => window.auth.fetch('/auth/me').then((r) => r.status)), 401);
    assert.equal(refreshes.length, 1, 'a signed-out tab does not try to refresh');
    await context.close();
  });
});

/** Waits (without a fixed sleep) until `list` has `count` entries, then checks there are no more. */
async function expectCount(list: unknown[], count: number): Promise<void> {
  for (let i = 0; i < 200 && list.length < count; i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  assert.equal(list.length, count);
}
