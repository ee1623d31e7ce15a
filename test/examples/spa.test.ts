/**
 * examples/spa in real Chromium: the page from index.html, served with keycard under one origin by
 * front.ts (keycard serve --preset spa behind it), the client loaded from `/auth/client.js`. Through the
 * page: a wrong password, sign in, see the user, call the app's API, call it again after the access
 * token expired (the server's clock moved on: one refresh, and the call answered), reload and still be
 * signed in, sign out, and the API refuses the next call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createFrontServer } from '../../examples/spa/front.js';
import type { ManualClock } from '../helpers/clock.js';
import { chromiumSkipReason } from '../helpers/services.js';
import { type ExampleSetting, PAST_EXPIRY_SECONDS, startExample } from './front.js';

const skip = chromiumSkipReason();

describe('examples/spa in Chromium', { skip }, () => {
  let setting: ExampleSetting;
  let clock: ManualClock;
  let browser: Browser;
  let base: string;

  before(async () => {
    setting = await startExample((keycardURL) => createFrontServer({ keycardURL }));
    ({ clock, browser, base } = setting);
  });
  after(async () => {
    await setting?.close();
  });

  test('sign in, see the user, call the API (refreshing once after expiry), reload, sign out', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const refreshes: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/auth/refresh') refreshes.push(request.method());
    });
    await page.goto(base);
    await page.waitForSelector('#who:text-is("Signed out")');

    await page.fill('#username', 'alice');
    await page.fill('#password', 'wrong-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('#error:text-is("Wrong username or password")');

    await page.fill('#password', 'alice-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('#who:text-is("Signed in as alice")');

    /** Clicks "Call the API" and waits for this call's answer. */
    const callAPI = async (): Promise<void> => {
      await page.evaluate(() => {
        (document.getElementById('result') as HTMLElement).textContent = '';
      });
      await page.click('#call');
      await page.waitForSelector('#result:text-is(\'200 {"message":"hello, alice"}\')');
    };
    await callAPI();
    assert.deepEqual(refreshes, []);

    // The access token expired (the server's clock moved on; the page's did not): the API answers 401
    // token_expired, the client refreshes once and sends the call again.
    clock.advanceSeconds(PAST_EXPIRY_SECONDS);
    await callAPI();
    await callAPI();
    assert.deepEqual(refreshes, ['POST']);

    await page.reload();
    await page.waitForSelector('#who:text-is("Signed in as alice")');

    await page.click('#signout');
    await page.waitForSelector('#who:text-is("Signed out")');
    // The login ended on the server: the API refuses the browser's cookies now.
    const status = await page.evaluate(async () => (await fetch('/api/hello')).status);
    assert.equal(status, 401);
    await context.close();
  });
});
