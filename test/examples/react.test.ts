/**
 * examples/react in real Chromium: app.tsx bundled by build.ts (esbuild, as an app's build step), served
 * under one origin with keycard (spa preset) by the spa example's server. Through the app: a wrong
 * password, sign in in one tab — a second tab of the same app shows the user too (useSession follows the
 * client's cross-tab state) — call the API after the access token expired (one refresh), sign out, and
 * the second tab shows signed out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createReactServer } from '../../examples/react/server.js';
import type { ManualClock } from '../helpers/clock.js';
import { chromiumSkipReason } from '../helpers/services.js';
import { type ExampleSetting, PAST_EXPIRY_SECONDS, startExample } from './front.js';

const skip = chromiumSkipReason();

describe('examples/react in Chromium', { skip }, () => {
  let setting: ExampleSetting;
  let clock: ManualClock;
  let browser: Browser;
  let base: string;

  before(async () => {
    setting = await startExample(createReactServer);
    ({ clock, browser, base } = setting);
  });
  after(async () => {
    await setting?.close();
  });

  test('sign in, a second tab follows, the API after expiry (one refresh), sign out in both', async () => {
    const context = await browser.newContext();
    const refreshes: string[] = [];
    context.on('request', (request) => {
      if (new URL(request.url()).pathname === '/auth/refresh') refreshes.push(request.method());
    });
    const page = await context.newPage();
    const other = await context.newPage();
    await page.goto(base);
    await other.goto(base);
    await page.waitForSelector('h1:text-is("Signed out")');
    await other.waitForSelector('h1:text-is("Signed out")');

    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', 'wrong-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('[role=alert]:text-is("Wrong username or password")');
    await page.fill('input[name=password]', 'alice-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:text-is("Signed in as alice")');
    await other.waitForSelector('h1:text-is("Signed in as alice")');

    clock.advanceSeconds(PAST_EXPIRY_SECONDS);
    await page.click('button:text-is("Call the API")');
    await page.waitForSelector('pre:text-is(\'{"message":"hello, alice"}\')');
    assert.deepEqual(refreshes, ['POST'], 'one refresh for the expired access token');

    await page.click('button:text-is("Sign out")');
    await page.waitForSelector('h1:text-is("Signed out")');
    await other.waitForSelector('h1:text-is("Signed out")');
    const after = await other.evaluate(async () => (await fetch('/api/hello')).status);
    assert.equal(after, 401, 'the login is over on the server too');
    await context.close();
  });
});
