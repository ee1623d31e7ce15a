/**
 * Passkeys in real Chromium with a virtual authenticator (CDP's WebAuthn domain: CTAP2, platform, resident
 * keys, user verification): adding one from the Security section's fragment, finishing a password sign-in
 * with it, signing in without a password from the sign-in page's fragment, and what must be refused — an
 * assertion replayed, a challenge issued for another user or another ceremony, a cloned authenticator
 * (its signature counter behind), another origin, a removed passkey. The fragments are served on keycard's
 * origin by a routed page (their scripts from the server), and the real pages — /login, the second step,
 * /step-up, /account — are walked too. Some abuse cases call `keycard.completeSignIn` / `keycard.stepUp`
 * directly with the browser's client, to present an assertion the page's script would never send.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { passkeyAddForm, passkeyScripts, passkeySignInButton } from '../../src/api/pages/passkey-views.js';
import type { KeycardError } from '../../src/core/errors.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { chromiumSkipReason } from '../helpers/services.js';
import { launchChromium, signInThroughPage } from './harness.js';

const skip = chromiumSkipReason();
const PASSWORD = 'passkeys are nicer than this';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

interface Tab {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
}

/** A fresh browser context whose tab has its own virtual authenticator (no credentials yet). */
async function openTab(browser: Browser, base: string): Promise<Tab> {
  const context = await browser.newContext();
  // The fragments on keycard's origin, as the pages will show them (the CSRF token from the query).
  await context.route(`${base}/passkey-page*`, async (route) => {
    const url = new URL(route.request().url());
    const csrf = url.searchParams.get('csrf') ?? '';
    const body = `${passkeySignInButton(csrf).html}${passkeyAddForm(csrf).html}${passkeyScripts().html}`;
    await route.fulfill({
      status: 200,
      contentType: 'text/html',
      headers: { 'content-security-policy': "default-src 'none'; script-src 'self'; connect-src 'self'" },
      body: `<!doctype html><title>passkeys</title><body>${body}</body>`,
    });
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { context, page, cdp, authenticatorId };
}

/** The routed page with the fragments and their scripts, for the current login (or pre-login). */
async function openFragments(tab: Tab, base: string): Promise<void> {
  await tab.page.goto(`${base}/passkey-page`);
  const token = await tab.page.evaluate(
    async () => ((await (await fetch('/auth/csrf')).json()) as { token: string }).token,
  );
  await tab.page.goto(`${base}/passkey-page?csrf=${encodeURIComponent(token)}`);
  await tab.page.waitForFunction(() => 'SimpleWebAuthnBrowser' in window);
}

// biome-ignore lint/suspicious/noExplicitAny: answers of several shapes, read field by field by the tests
type Json = Record<string, any>;

/** A JSON POST from the page with its CSRF token: the status and body. */
function post(page: Page, path: string, body: unknown): Promise<{ status: number; json: Json }> {
  return page.evaluate(
    async ({ path, body }) => {
      const csrf = ((await (await fetch('/auth/csrf')).json()) as { token: string }).token;
      const response = await fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify(body),
      });
      return { status: response.status, json: await response.json() };
    },
    { path, body },
  );
}

/** The browser's assertion for `options` (the page must have the library loaded). */
function assertWith(page: Page, options: unknown): Promise<Record<string, unknown>> {
  return page.evaluate(
    (options) =>
      (
        window as unknown as {
          SimpleWebAuthnBrowser: { startAuthentication(o: unknown): Promise<Record<string, unknown>> };
        }
      ).SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: options }),
    options,
  );
}

describe('browser: passkeys', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;
  let tab: Tab;
  let adaId: string;

  before(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    server = await startTestServer({
      storeURL: 'memory:',
      flags: { port: String(port), 'passkey-origin': base },
    });
    adaId = (await server.keycard.users.create({ username: 'ada', password: PASSWORD })).id;
    await server.keycard.users.create({ username: 'bo', password: PASSWORD });
    browser = await launchChromium();
    tab = await openTab(browser, base);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** The second step as POST /auth/login/mfa will run it: keycard.completeSignIn for the browser's client. */
  async function completeSignIn(page: Page, body: unknown) {
    const userAgent = await page.evaluate(() => navigator.userAgent);
    const headers: Record<string, string> = { 'user-agent': userAgent };
    const context = server.keycard.createContext(
      { method: 'POST', header: (name) => headers[name], secure: false, ip: '127.0.0.1' },
      () => {},
    );
    await context.load();
    return server.keycard.completeSignIn(context, body);
  }

  /** A password sign-in from the page that answers mfa_required: its pending token. */
  async function pendingSignIn(page: Page, username: string): Promise<string> {
    await page.goto(`${base}/passkey-page`);
    const answer = await post(page, '/auth/login', { username, password: PASSWORD });
    assert.equal(answer.status, 401, JSON.stringify(answer.json));
    assert.equal(answer.json.error.code, 'mfa_required');
    assert.deepEqual(answer.json.factors, ['passkey', 'recovery']);
    return answer.json.mfa_token;
  }

  test('adding a passkey from the Security fragment: stored as a public key, with recovery codes once', async () => {
    await signInThroughPage(tab.page, base, { username: 'ada', password: PASSWORD });
    await openFragments(tab, base);
    const form = tab.page.locator('form[data-passkey=add]');
    await form.locator('input[name=name]').fill('Laptop');
    await form.locator('button').click();
    await tab.page.waitForSelector('form[data-passkey=add] [data-passkey-codes]:not([hidden])');
    const codes = await form.locator('[data-passkey-codes] li').allTextContents();
    assert.equal(codes.length, 10);

    const factors = await server.store.listFactors(adaId);
    const passkey = factors.find((factor) => factor.kind === 'passkey');
    assert.ok(passkey?.credentialId);
    assert.equal(passkey.name, 'Laptop');
    const stored = JSON.parse(passkey.secret);
    assert.equal(stored.userVerified, true);
    assert.ok(!('privateKey' in stored));
    const { credentials } = await tab.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: tab.authenticatorId,
    });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0]?.isResidentCredential, true);
    assert.equal(
      Buffer.from(credentials[0]?.credentialId ?? '', 'base64').toString('base64url'),
      passkey.credentialId,
    );

    // The registration was a fresh second factor on this login (as confirming an app is).
    const login = (await server.store.listUserLogins(adaId))[0];
    const recorded = login?.data.keycard_auth as { amr: string[]; mfaAt: number | null } | undefined;
    assert.ok(recorded?.amr.includes('hwk'));
    assert.equal(typeof recorded?.mfaAt, 'number');
    // Another passkey's options exclude the passkey ada has, so one authenticator is not registered twice.
    const ada = await server.keycard.users.findByUsername('ada');
    assert.ok(ada);
    const again = await server.keycard.mfa.passkeys?.registrationOptions(ada);
    assert.deepEqual(
      again?.excludeCredentials?.map((credential) => credential.id),
      [passkey.credentialId],
    );
    assert.equal((await server.store.listFactors(adaId)).filter((f) => f.kind === 'passkey').length, 1);
  });

  test('a password sign-in finished with the passkey records hwk; the assertion cannot finish another', async () => {
    const page = tab.page;
    await page.evaluate(async () => {
      const csrf = ((await (await fetch('/auth/csrf')).json()) as { token: string }).token;
      await fetch('/auth/logout', { method: 'POST', headers: { 'x-csrf-token': csrf } });
    });
    const mfaToken = await pendingSignIn(page, 'ada');
    await page.waitForFunction(() => 'SimpleWebAuthnBrowser' in window);
    const options = await post(page, '/auth/passkey/options', { mfa_token: mfaToken });
    assert.equal(options.status, 200);
    assert.equal(options.json.options.allowCredentials.length, 1);
    const passkey = await assertWith(page, options.json.options);

    const result = await completeSignIn(page, { mfa_token: mfaToken, passkey });
    assert.equal(result.ok, true);
    assert.ok(result.ok && (result.login.data.keycard_auth as { amr: string[] }).amr.includes('hwk'));

    // The same assertion for a new pending sign-in: its challenge was used.
    const again = await pendingSignIn(page, 'ada');
    await assert.rejects(completeSignIn(page, { mfa_token: again, passkey }), (error: KeycardError) => {
      assert.equal(error.code, 'invalid_code');
      return true;
    });
  });

  test('challenges are bound: a passwordless one or another user’s cannot finish a pending sign-in', async () => {
    const page = tab.page;
    const mfaToken = await pendingSignIn(page, 'ada');
    await page.waitForFunction(() => 'SimpleWebAuthnBrowser' in window);
    const refused = (error: KeycardError) => {
      assert.equal(error.code, 'invalid_code');
      return true;
    };

    // A passwordless challenge (bound to no user), answered by ada's own passkey.
    const passwordless = await post(page, '/auth/passkey/options', {});
    const loose = await assertWith(page, passwordless.json.options);
    await assert.rejects(completeSignIn(page, { mfa_token: mfaToken, passkey: loose }), refused);

    // A challenge issued for bo's sign-in, answered by ada's passkey.
    const bo = await server.keycard.users.findByUsername('bo');
    const forBo = await server.keycard.mfa.passkeys?.authenticationOptions(bo?.id ?? '');
    const borrowed = await assertWith(page, { ...forBo, allowCredentials: undefined });
    await assert.rejects(completeSignIn(page, { mfa_token: mfaToken, passkey: borrowed }), refused);

    // An assertion for ada's pending sign-in cannot sign in without a password either.
    const bound = await post(page, '/auth/passkey/options', { mfa_token: mfaToken });
    const forSignIn = await assertWith(page, bound.json.options);
    const passwordlessTry = await post(page, '/auth/login/passkey', { response: forSignIn });
    assert.equal(passwordlessTry.status, 401);
    assert.equal(passwordlessTry.json.error.code, 'invalid_code');

    // The pending sign-in still finishes with a right answer.
    const fresh = await post(page, '/auth/passkey/options', { mfa_token: mfaToken });
    const right = await assertWith(page, fresh.json.options);
    assert.equal((await completeSignIn(page, { mfa_token: mfaToken, passkey: right })).ok, true);
  });

  test('passwordless sign-in from the sign-in fragment; the same assertion replayed elsewhere is refused', async () => {
    const page = tab.page;
    await page.context().clearCookies();
    await openFragments(tab, base);
    // Capture the assertion the fragment posts, to replay it.
    const posted = page.waitForRequest((request) => request.url().endsWith('/auth/login/passkey'));
    await Promise.all([
      page.waitForURL(`${base}/account`),
      page.locator('form[data-passkey=login] button').click(),
    ]);
    const response = (await posted).postDataJSON().response;
    const login = server.events.filter((event) => event.type === 'login_succeeded').at(-1);
    assert.equal(login?.type === 'login_succeeded' && login.userId, adaId);

    const attacker = await openTab(browser, base);
    await attacker.page.goto(`${base}/passkey-page`);
    const replay = await post(attacker.page, '/auth/login/passkey', { response });
    assert.equal(replay.status, 401);
    assert.equal(replay.json.error.code, 'invalid_code');
    await attacker.context.close();
  });

  test('a signed-in user steps up with the passkey; the same assertion does not step up again', async () => {
    const page = tab.page;
    // Signed in by the passkey (the test before): step-up options for this login's user.
    await openFragments(tab, base);
    const options = await post(page, '/auth/passkey/options', { step_up: true });
    assert.equal(options.status, 200, JSON.stringify(options.json));
    assert.equal(options.json.options.allowCredentials.length, 1);
    const passkey = await assertWith(page, options.json.options);
    // POST /auth/mfa/step-up is not a route on this branch yet: keycard.stepUp, as it will call it.
    const csrf = await page.evaluate(
      async () => ((await (await fetch('/auth/csrf')).json()) as { token: string }).token,
    );
    const cookie = (await page.context().cookies(base)).map((c) => `${c.name}=${c.value}`).join('; ');
    const headers: Record<string, string> = {
      // From localhost, as the browser's request: the cookies there are the non-Secure variants.
      host: new URL(base).host,
      cookie,
      'x-csrf-token': csrf,
      'user-agent': await page.evaluate(() => navigator.userAgent),
    };
    const stepUp = async () => {
      const context = server.keycard.createContext(
        { method: 'POST', header: (name) => headers[name], secure: false, ip: '127.0.0.1' },
        () => {},
      );
      await context.load();
      assert.ok(context.user, 'the context carries the browser login');
      await server.keycard.stepUp(context, { passkey });
    };
    const counter = async () =>
      (await server.store.listFactors(adaId)).find((factor) => factor.kind === 'passkey')?.counter ?? 0;
    const before = await counter();
    await stepUp();
    // The assertion was checked and used: the signature counter advanced.
    assert.ok((await counter()) > before);
    await assert.rejects(stepUp(), (error: KeycardError) => {
      assert.equal(error.code, 'invalid_code');
      return true;
    });
  });

  test('the real pages: passwordless from /login, the second step, and /step-up, each with the passkey', async () => {
    const page = tab.page;
    await page.context().clearCookies();
    // /login: "Sign in with a passkey", no password.
    await page.goto(`${base}/login`);
    await Promise.all([page.waitForURL(`${base}/account`), page.click('form[data-passkey=login] button')]);
    // The Security section offers another passkey.
    assert.equal(await page.locator('#security form[data-passkey=add]').count(), 1);
    // Signed out, the password form answers with the second step, which offers the passkey.
    await page.context().clearCookies();
    await page.goto(`${base}/login`);
    await page.fill('#username', 'ada');
    await page.fill('#password', PASSWORD);
    await page.click('form[action="/auth/login"] button[type=submit]');
    await page.waitForSelector('form[data-passkey=second-step]');
    await Promise.all([
      page.waitForURL(`${base}/account`),
      page.click('form[data-passkey=second-step] button'),
    ]);
    // /step-up with the passkey, then back to the page named.
    const login = async () => (await server.store.listUserLogins(adaId))[0];
    const before = ((await login())?.data.keycard_auth as { mfaAt: number } | undefined)?.mfaAt ?? 0;
    await page.goto(`${base}/step-up?next=${encodeURIComponent('/account?from=step-up')}`);
    await Promise.all([
      page.waitForURL(`${base}/account?from=step-up`),
      page.click('form[data-passkey=step-up] button'),
    ]);
    const after = ((await login())?.data.keycard_auth as { mfaAt: number; amr: string[] }) ?? null;
    assert.ok(after && after.mfaAt > before, 'the step-up renewed the proof');
    assert.ok(after?.amr.includes('hwk'));
  });

  test('a blocked user’s passkey signs in no one', async () => {
    await server.keycard.users.block(adaId);
    try {
      await tab.page.context().clearCookies();
      await openFragments(tab, base);
      await tab.page.locator('form[data-passkey=login] button').click();
      const status = tab.page.locator('form[data-passkey=login] [data-passkey-status]');
      await status.waitFor({ state: 'visible' });
      assert.match((await status.textContent()) ?? '', /blocked/);
      assert.equal(tab.page.url().endsWith('/account'), false);
    } finally {
      await server.keycard.users.unblock(adaId);
    }
  });

  test('a cloned authenticator, its signature counter behind, is refused', async () => {
    const { credentials } = await tab.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: tab.authenticatorId,
    });
    const original = credentials[0];
    assert.ok(original);
    // The original signs once more; the clone still has the older counter.
    await tab.page.context().clearCookies();
    await openFragments(tab, base);
    await Promise.all([
      tab.page.waitForURL(`${base}/account`),
      tab.page.locator('form[data-passkey=login] button').click(),
    ]);
    const clone = await openTab(browser, base);
    await clone.cdp.send('WebAuthn.addCredential', {
      authenticatorId: clone.authenticatorId,
      credential: original,
    });
    await openFragments(clone, base);
    await clone.page.locator('form[data-passkey=login] button').click();
    const status = clone.page.locator('form[data-passkey=login] [data-passkey-status]');
    await status.waitFor({ state: 'visible' });
    assert.match((await status.textContent()) ?? '', /not valid/);
    assert.equal(clone.page.url().endsWith('/account'), false);
    await clone.context.close();
  });

  test('a removed passkey signs in no more', async () => {
    const passkey = (await server.store.listFactors(adaId)).find((factor) => factor.kind === 'passkey');
    assert.ok(passkey);
    // DELETE /auth/mfa/factors/:id is not a route on this branch yet: the service it will call.
    assert.equal(await server.keycard.mfa.removeFactor(adaId, passkey.id), true);
    await tab.page.context().clearCookies();
    await openFragments(tab, base);
    await tab.page.locator('form[data-passkey=login] button').click();
    const status = tab.page.locator('form[data-passkey=login] [data-passkey-status]');
    await status.waitFor({ state: 'visible' });
    assert.match((await status.textContent()) ?? '', /not valid/);
    // Its recovery codes went with it: a password signs in alone again.
    await tab.page.goto(`${base}/passkey-page`);
    assert.equal((await post(tab.page, '/auth/login', { username: 'ada', password: PASSWORD })).status, 200);
  });
});

describe('browser: passkeys on another origin than the configured one', { skip }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    const port = await freePort();
    // The pages are configured to be served from another port of localhost: same relying party ID, so the
    // browser makes the credential, but the origin it signed is not the one the server expects.
    server = await startTestServer({
      storeURL: 'memory:',
      flags: {
        port: String(port),
        'passkey-origin': `http://localhost:${port === 65_000 ? 65_001 : 65_000}`,
      },
    });
    await server.keycard.users.create({ username: 'cy', password: PASSWORD });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('a registration from the wrong origin is refused, and nothing is stored', async () => {
    const base = `http://localhost:${new URL(server.url).port}`;
    const tab = await openTab(browser, base);
    await signInThroughPage(tab.page, base, { username: 'cy', password: PASSWORD });
    await openFragments(tab, base);
    await tab.page.locator('form[data-passkey=add] button').click();
    const status = tab.page.locator('form[data-passkey=add] [data-passkey-status]');
    await status.waitFor({ state: 'visible' });
    assert.match((await status.textContent()) ?? '', /not valid/);
    const cy = await server.keycard.users.findByUsername('cy');
    assert.deepEqual(await server.store.listFactors(cy?.id ?? ''), []);
  });
});
