/**
 * The account page's password form in real Chromium (issue 17): a wrong current password is said on the
 * page and changes nothing; the right one changes it, the page says so, this tab stays signed in, another
 * browser's session ends, and only the new password signs in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { chromiumSkipReason } from '../helpers/services.js';
import { launchChromium, localhostBase, signInThroughPage } from './harness.js';

const skip = chromiumSkipReason();
const PASSWORD = 'old passphrase for ada';
const NEW_PASSWORD = 'new passphrase for ada';

describe('browser: changing the password on /account', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  before(async () => {
    server = await startTestServer();
    await server.keycard.users.create({ username: 'ada', password: PASSWORD });
    base = localhostBase(server.url);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function submit(page: Page, current: string, next: string, confirm = next): Promise<void> {
    await page.fill('#current_password', current);
    await page.fill('#new_password', next);
    await page.fill('#confirm_password', confirm);
    await Promise.all([page.waitForURL(/\/account\?password=/), page.click('#password button')]);
  }

  test('wrong current password, mismatch, then the change: said on the page, other browsers signed out', async () => {
    const elsewhere = await (await browser.newContext()).newPage();
    await signInThroughPage(elsewhere, base, { username: 'ada', password: PASSWORD });
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInThroughPage(page, base, { username: 'ada', password: PASSWORD });

    await submit(page, 'not my password', NEW_PASSWORD);
    assert.match((await page.textContent('#password [role=alert]')) ?? '', /current password is not right/);
    await submit(page, PASSWORD, NEW_PASSWORD, 'a different one');
    assert.match((await page.textContent('#password [role=alert]')) ?? '', /confirmation differ/);
    assert.ok((await server.keycard.users.verifyCredentials('ada', PASSWORD)).ok, 'nothing changed yet');

    await submit(page, PASSWORD, NEW_PASSWORD);
    assert.match((await page.textContent('#password [role=status]')) ?? '', /Your password was changed/);
    assert.match((await page.textContent('h1')) ?? '', /Signed in as ada/, 'this tab stays signed in');
    assert.equal(await page.locator('tr[data-session]').count(), 1, 'only this session is left');

    await elsewhere.goto(`${base}/account`);
    assert.equal(new URL(elsewhere.url()).pathname, '/login', 'the other browser is signed out');

    const fresh = await (await browser.newContext()).newPage();
    await fresh.goto(`${base}/login`);
    await fresh.fill('#username', 'ada');
    await fresh.fill('#password', PASSWORD);
    await fresh.click('button[type=submit]');
    await fresh.waitForSelector('[role=alert]');
    assert.notEqual(new URL(fresh.url()).pathname, '/account', 'the old password is refused');
    await signInThroughPage(fresh, base, { username: 'ada', password: NEW_PASSWORD });
  });
});
