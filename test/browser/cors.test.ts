/**
 * A front end on another origin of the same site, as real Chromium runs it: the app is served from
 * `http://localhost:<site>` and keycard (`spa` preset: hybrid, cookie transport) from
 * `http://localhost:<keycard>`, with the app's origin in `--trusted-origin`. Its script signs in (pre-login
 * CSRF token, then the login), calls, refreshes and signs out with `credentials: 'include'`, and reads
 * every answer — so the browser accepted keycard's CORS answers and preflights, and stored and sent the
 * cookies. The same script from `http://127.0.0.1:<site>` (not trusted, another site) can read nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { chromiumSkipReason } from '../helpers/services.js';
import { launchChromium, localhostBase, type SiteServer, startSite } from './harness.js';

const skip = chromiumSkipReason();
const FRAN = { username: 'fran', password: 'front-end-password' };
const GINA = { username: 'gina', password: 'another-front-end-password' };

interface Step {
  step: string;
  status: number | null;
  body?: unknown;
  error?: string;
}

/**
 * What the front end runs: every call keycard's API needs, in order; a failed fetch is recorded. Plain
 * JavaScript in a string: the page runs it as written (a compiled function would carry the test
 * transpiler's helpers, which the page does not have).
 */
const FRONT_END = `async ({ api, username, password }) => {
  const steps = [];
  const call = async (step, path, init = {}) => {
    try {
      const response = await fetch(api + path, { credentials: 'include', ...init });
      const body = response.status === 204 ? null : await response.json();
      steps.push({ step, status: response.status, body });
      return body;
    } catch (error) {
      steps.push({ step, status: null, error: String(error) });
      return null;
    }
  };
  const post = (token, body) => ({
    method: 'POST',
    headers: {
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(token ? { 'X-CSRF-Token': token } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const csrf = await call('csrf', '/auth/csrf');
  const login = await call('login', '/auth/login', post(csrf?.token, { username, password }));
  await call('me', '/auth/me');
  await call('refresh', '/auth/refresh', post(login?.csrf_token));
  await call('logout without token', '/auth/logout', post(undefined));
  await call('logout', '/auth/logout', post(login?.csrf_token));
  await call('me after logout', '/auth/me');
  return steps;
}`;

function runFrontEnd(page: Page, input: { api: string; username: string; password: string }) {
  return page.evaluate(`(${FRONT_END})(${JSON.stringify(input)})`) as Promise<Step[]>;
}

describe('browser: a front end on another origin of the same site, through CORS', { skip }, () => {
  let site: SiteServer;
  let server: TestServer;
  let browser: Browser;
  let api: string;

  before(async () => {
    site = await startSite(() => ({ '/app': '<!doctype html><title>front end</title>' }));
    server = await startTestServer({
      flags: { preset: 'spa', 'trusted-origin': `http://localhost:${site.port}` },
    });
    await server.keycard.users.create(FRAN);
    await server.keycard.users.create(GINA);
    api = localhostBase(server.url);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await site?.close();
  });

  test('the trusted origin signs in, calls, refreshes and signs out, reading every answer', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://localhost:${site.port}/app`);
    const steps = await runFrontEnd(page, { api, ...FRAN });
    const seen = Object.fromEntries(steps.map((step) => [step.step, step]));
    assert.equal(seen.csrf?.status, 200, JSON.stringify(steps));
    assert.equal(seen.login?.status, 200, JSON.stringify(steps));
    assert.equal((seen.me?.body as { user?: { username?: string } } | undefined)?.user?.username, 'fran');
    assert.equal(seen.refresh?.status, 200, JSON.stringify(seen.refresh));
    // CORS opens nothing the CSRF defences close; the page can read why.
    assert.equal(seen['logout without token']?.status, 403);
    assert.equal(
      (seen['logout without token']?.body as { error?: { code?: string } } | undefined)?.error?.code,
      'csrf_rejected',
    );
    assert.equal(seen.logout?.status, 200);
    assert.equal(seen['me after logout']?.status, 401);
    await context.close();
  });

  test('another site runs the same script and reads nothing', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${site.port}/app`);
    const steps = await runFrontEnd(page, { api, ...GINA });
    for (const step of steps) {
      assert.equal(step.status, null, `${step.step}: the browser kept the answer from the page`);
      assert.match(step.error ?? '', /Failed to fetch/);
    }
    const logins = await server.keycard.logins.listForUser(
      (await server.keycard.users.findByUsername('gina'))?.id ?? '',
    );
    assert.equal(logins.length, 0, 'the refused preflight stopped the login before it was sent');
    await context.close();
  });
});
