/**
 * Second factors in real Chromium (issue 18, docs/mfa.md): adding an authenticator app from /account's
 * Security section (the QR page, the key, the first code, the recovery codes shown once), the sign-in's
 * second step with an app code and with a recovery code, a sensitive form after the step-up window going
 * through /step-up and back, removing a factor, and an admin resetting a user's factors. The server's
 * clock is a manual one: codes are computed for its time, and each code is for a later 30 s step than the
 * last, since a step is accepted once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateSync } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { ManualClock } from '../helpers/clock.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { chromiumSkipReason } from '../helpers/services.js';
import { launchChromium, localhostBase, signInThroughPage } from './harness.js';

const skip = chromiumSkipReason();
const PASSWORD = 'a passphrase for ada';

describe('browser: second factors', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;
  const clock = new ManualClock(Date.now());

  before(async () => {
    server = await startTestServer({ clock });
    base = localhostBase(server.url);
    await server.keycard.users.create({ username: 'ada', password: PASSWORD });
    await server.keycard.users.create({ username: 'bo', password: PASSWORD });
    await server.keycard.users.create({ username: 'root', password: PASSWORD, role: 'admin' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** The app's code for the server's time, a step later than any code used before. */
  function nextCode(secret: string): string {
    clock.advanceSeconds(30);
    return generateSync({ secret, epoch: Math.floor(clock.now() / 1000) });
  }

  /** From /account: adds an authenticator app; its key, and the recovery codes the page showed. */
  async function addApp(page: Page, name: string): Promise<{ secret: string; codes: string[] }> {
    await page.goto(`${base}/account`);
    await page.fill('#totp_name', name);
    await Promise.all([page.waitForURL(`${base}/auth/mfa/totp`), page.click('#add-totp button')]);
    assert.equal(await page.locator('.qr svg').count(), 1, 'the QR code is on the page');
    const secret = (await page.getAttribute('#totp-secret', 'data-secret')) ?? '';
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.equal(((await page.textContent('#totp-secret')) ?? '').replace(/\s/g, ''), secret);

    await page.fill('#code', '000000');
    await Promise.all([page.waitForURL(`${base}/auth/mfa/totp/confirm`), page.click('#confirm-totp button')]);
    assert.match((await page.textContent('[role=alert]')) ?? '', /code is not right/);
    await page.fill('#code', nextCode(secret));
    await page.click('#confirm-totp button');
    await page.waitForSelector('#recovery-codes, #security [role=status]');
    const shown = (await page.locator('#recovery-codes').count()) === 1;
    const codes = shown ? ((await page.textContent('#recovery-codes')) ?? '').split('\n') : [];
    return { secret, codes: codes.map((code) => code.trim()).filter(Boolean) };
  }

  async function signOut(page: Page): Promise<void> {
    await Promise.all([page.waitForURL(/\/login/), page.click('header form button')]);
  }

  /** The sign-in form, up to the second step's page. */
  async function passwordStep(page: Page, username: string): Promise<void> {
    await page.goto(`${base}/login`);
    await page.fill('#username', username);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${base}/auth/login`), page.click('button[type=submit]')]);
    assert.match((await page.textContent('h1')) ?? '', /One more step/);
  }

  test('add an app, sign in with a code and with a recovery code, step up for a sensitive form', async () => {
    const page = await (await browser.newContext()).newPage();
    await signInThroughPage(page, base, { username: 'ada', password: PASSWORD });
    assert.match((await page.textContent('#security')) ?? '', /No second factor yet/);

    const { secret, codes } = await addApp(page, 'Phone');
    assert.equal(codes.length, 10, 'ten recovery codes, shown once');
    assert.equal(new Set(codes).size, 10);
    await Promise.all([page.waitForURL(`${base}/account#security`), page.click('text=Done')]);
    const security = (await page.textContent('#security')) ?? '';
    assert.match(security, /Phone/);
    assert.match(security, /Recovery codes: 10 of 10 left/);

    // The password alone no longer signs in: the second step asks for a code; a wrong one asks again.
    await signOut(page);
    await passwordStep(page, 'ada');
    await page.fill('#code', '123456');
    await page.click('button[type=submit]');
    await page.waitForSelector('[role=alert]');
    assert.match((await page.textContent('[role=alert]')) ?? '', /code is not right/);
    await page.fill('#code', nextCode(secret));
    await Promise.all([page.waitForURL(`${base}/account`), page.click('button[type=submit]')]);

    // A recovery code signs in once.
    await signOut(page);
    await passwordStep(page, 'ada');
    await page.fill('#code', codes[0] ?? '');
    await Promise.all([page.waitForURL(`${base}/account`), page.click('button[type=submit]')]);
    assert.match((await page.textContent('#security')) ?? '', /Recovery codes: 9 of 10 left/);

    // Past the step-up window, changing the password goes through /step-up first, then back.
    clock.advanceSeconds(11 * 60);
    const NEW_PASSWORD = 'a new passphrase for ada';
    const changePassword = async () => {
      await page.fill('#current_password', PASSWORD);
      await page.fill('#new_password', NEW_PASSWORD);
      await page.fill('#confirm_password', NEW_PASSWORD);
      await Promise.all([page.waitForURL(/\/step-up\?|password=/), page.click('#password form button')]);
    };
    await changePassword();
    assert.equal(new URL(page.url()).pathname, '/step-up', page.url());
    assert.equal(new URL(page.url()).searchParams.get('next'), '/account');
    await page.fill('#code', '999999');
    await Promise.all([page.waitForURL(/error=invalid_code/), page.click('main button')]);
    assert.match((await page.textContent('[role=alert]')) ?? '', /code is not right/);
    await page.fill('#code', nextCode(secret));
    await Promise.all([page.waitForURL(`${base}/account`), page.click('main button')]);
    await changePassword();
    assert.equal(new URL(page.url()).searchParams.get('password'), 'changed');
  });

  test('remove my app from /account; an admin resets another user’s factors', async () => {
    const page = await (await browser.newContext()).newPage();
    await signInThroughPage(page, base, { username: 'bo', password: PASSWORD });
    const tablet = await addApp(page, 'Tablet');
    // Confirming the app was a fresh proof; once the window has passed, adding another needs a code
    // first: the form goes through /step-up and back.
    clock.advanceSeconds(11 * 60);
    await page.goto(`${base}/account`);
    await Promise.all([page.waitForURL(/\/step-up\?/), page.click('#add-totp button')]);
    await page.fill('#code', nextCode(tablet.secret));
    await Promise.all([page.waitForURL(`${base}/account`), page.click('main button')]);
    const laptop = await addApp(page, 'Laptop');
    assert.deepEqual(laptop.codes, [], 'recovery codes come with the first factor only');
    assert.equal(new URL(page.url()).searchParams.get('security'), 'added');
    await page.goto(`${base}/account`);
    assert.equal(await page.locator('#security tr[data-factor]').count(), 2);
    const row = page.locator('#security tr[data-factor]', { hasText: 'Tablet' });
    await row.locator('summary').click();
    await Promise.all([
      page.waitForURL(`${base}/account?security=removed#security`),
      row.locator('form button').click(),
    ]);
    assert.match((await page.textContent('#security [role=status]')) ?? '', /factor was removed/);
    assert.equal(await page.locator('#security tr[data-factor]').count(), 1);
    assert.doesNotMatch((await page.textContent('#security')) ?? '', /Tablet/);

    const bo = await server.keycard.users.findByUsername('bo');
    assert.ok(bo);
    const admin = await (await browser.newContext()).newPage();
    await signInThroughPage(admin, base, { username: 'root', password: PASSWORD });
    await admin.goto(`${base}/admin/users/${bo.id}`);
    assert.match((await admin.textContent('#factors')) ?? '', /1 second factor\./);
    await admin.click('#factors summary');
    await Promise.all([admin.waitForURL(/outcome=factors_reset/), admin.click('#factors form button')]);
    assert.match((await admin.textContent('#factors')) ?? '', /No second factor/);
    assert.deepEqual(await server.keycard.mfa.listFactors(bo.id), []);

    // bo's password alone signs in again.
    await signOut(page);
    await signInThroughPage(page, base, { username: 'bo', password: PASSWORD });
  });
});
