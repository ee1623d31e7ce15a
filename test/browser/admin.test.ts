/**
 * The admin pages in real Chromium, with JavaScript off as well as on (issue 17): search by username
 * prefix, change a role with the selector (the user's other browser is signed out), and delete behind
 * the page's confirmation step — a disclosure that needs no script: until it is opened there is no
 * delete button to press; the audit log page, its chart and its filter.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { chromiumSkipReason } from '../helpers/services.js';
import { launchChromium, localhostBase, signInThroughPage } from './harness.js';

const skip = chromiumSkipReason();
const PASSWORD = 'a passphrase for the admin test';

describe('browser: the admin page', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  before(async () => {
    server = await startTestServer();
    for (const [username, role] of [
      ['root', 'admin'],
      ['dora', 'user'],
      ['dorian', 'user'],
      ['edgar', 'user'],
    ] as const) {
      await server.keycard.users.create({ username, password: PASSWORD, role });
    }
    base = localhostBase(server.url);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const row = (page: Page, username: string) => page.locator(`tr[data-user="${username}"]`);

  test('the user table fits a 390-pixel screen, with a confirmation open', async () => {
    const page = await (await browser.newContext({ viewport: { width: 390, height: 800 } })).newPage();
    await signInThroughPage(page, base, { username: 'root', password: PASSWORD });
    await page.goto(`${base}/admin`);
    await row(page, 'dora').locator('details summary', { hasText: 'Delete…' }).click();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width} pixels wide`);
  });

  for (const javaScriptEnabled of [false, true]) {
    test(`search, change a role, delete after confirming (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
      const suffix = javaScriptEnabled ? 'js' : 'nojs';
      const target = await server.keycard.users.create({ username: `dot${suffix}`, password: PASSWORD });
      const elsewhere = await (await browser.newContext()).newPage();
      await signInThroughPage(elsewhere, base, { username: target.username, password: PASSWORD });
      const page = await (await browser.newContext({ javaScriptEnabled })).newPage();
      await signInThroughPage(page, base, { username: 'root', password: PASSWORD });
      await page.goto(`${base}/admin`);

      // Search: a prefix, in any case.
      await page.fill('#user-search', 'DO');
      await Promise.all([page.waitForURL(/\/admin\?q=DO/), page.click('form[role=search] button')]);
      const shown = await page
        .locator('tbody tr')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-user')));
      // (The other run's user is deleted by the end of its run, and created only in it.)
      assert.deepEqual(shown, ['dora', 'dorian', `dot${suffix}`]);
      assert.equal(await page.inputValue('#user-search'), 'DO', 'the box keeps the query');

      // A role, by its selector: the user's other browser is signed out.
      await row(page, target.username).locator('select[name=role]').selectOption('admin');
      await Promise.all([
        page.waitForURL(`${base}/admin`),
        row(page, target.username).locator('form.inline button').click(),
      ]);
      assert.equal((await server.keycard.users.get(target.id))?.role, 'admin');
      assert.match(
        (await row(page, target.username).locator('select[name=role]').inputValue()) ?? '',
        /^admin$/,
      );
      await elsewhere.goto(`${base}/account`);
      assert.equal(new URL(elsewhere.url()).pathname, '/login', 'the role change signed the user out');

      // Delete: nothing to press until the confirmation is opened, then the named button deletes.
      const confirm = row(page, target.username).locator('details.confirm', { hasText: 'Delete…' });
      const button = confirm.locator('button.danger');
      assert.equal(await button.isVisible(), false, 'the delete button is hidden until asked for');
      await confirm.locator('summary').click();
      assert.equal(await button.isVisible(), true);
      assert.match(
        (await confirm.textContent()) ?? '',
        new RegExp(`Delete ${target.username}\\? Their logins end`),
      );
      await Promise.all([page.waitForURL(`${base}/admin`), button.click()]);
      assert.equal(await server.keycard.users.get(target.id), null);
      assert.equal(await row(page, target.username).count(), 0, 'gone from the list');
      // Your own row offers neither a role selector nor a delete.
      assert.equal(await row(page, 'root').locator('select, details').count(), 0);
    });
  }

  test('the audit log page: the chart counts sign-ins and failures, the filter narrows, it fits 390 pixels', async () => {
    const page = await (await browser.newContext({ viewport: { width: 390, height: 800 } })).newPage();
    await page.goto(`${base}/login`);
    await page.fill('#username', 'edgar');
    await page.fill('#password', 'not edgar’s password');
    await page.click('button[type=submit]');
    await page.waitForSelector('[role=alert]');
    await signInThroughPage(page, base, { username: 'root', password: PASSWORD });
    let caption = '';
    for (let i = 0; i < 50 && !/[1-9]\d* failed sign-ins/.test(caption); i++) {
      await page.goto(`${base}/admin/audit`);
      caption = (await page.textContent('figcaption')) ?? '';
    }
    assert.match(caption, /[1-9]\d* sign-ins, [1-9]\d* failed sign-ins/);
    assert.equal(await page.locator('figure.chart rect.bad').count(), 24);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width} pixels wide`);

    await page.fill('#audit-type', 'login_failed');
    await Promise.all([
      page.waitForURL(/\/admin\/audit\?type=login_failed/),
      page.click('form[role=search] button'),
    ]);
    const types = await page.locator('tbody tr td:nth-child(2)').allTextContents();
    assert.ok(types.length >= 1, `rows: ${types.length}, url ${page.url()}`);
    assert.deepEqual([...new Set(types)], ['login_failed']);
    assert.equal(await page.inputValue('#audit-type'), 'login_failed', 'the filter is kept');
  });
});
