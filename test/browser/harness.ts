/**
 * Shared pieces of the browser tests: Chromium with the flags this machine needs, signing in through
 * keycard's own page, an "application" page on keycard's origin that may run fetch (keycard's pages
 * forbid scripts and connections with their CSP), and a separate web server for an attacker's pages.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/services.js';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** keycard's server on `localhost`, whatever host the test server printed in its URL. */
export function localhostBase(serverURL: string): string {
  return `http://localhost:${new URL(serverURL).port}`;
}

/** Signs in through the sign-in page's form and waits for the account page. */
export async function signInThroughPage(
  page: Page,
  base: string,
  credentials: { username: string; password: string },
): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('#username', credentials.username);
  await page.fill('#password', credentials.password);
  await Promise.all([page.waitForURL(`${base}/account`), page.click('button[type=submit]')]);
}

/**
 * Serves `${base}/app` to every tab of the context as a blank page of the application itself (same
 * origin as keycard, no CSP), where a test can run the fetch a single-page app would.
 */
export async function routeAppPage(context: BrowserContext, base: string): Promise<string> {
  await context.route(`${base}/app`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>app</title>' }),
  );
  return `${base}/app`;
}

/** `fetch(path)` from the page, with the page's cookies; the status. */
export function fetchStatus(page: Page, path: string): Promise<number> {
  return page.evaluate(async (path) => (await fetch(path, { credentials: 'same-origin' })).status, path);
}

export interface SiteServer {
  port: number;
  close(): Promise<void>;
}

/** Another web site: serves `pages[path]` as HTML on 127.0.0.1 (and on localhost, the same socket). */
export async function startSite(pages: () => Record<string, string>): Promise<SiteServer> {
  const server = createServer((request, response) => {
    const body = pages()[request.url ?? ''];
    response.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(body ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A page that posts a form to `action` the moment it loads: no click, no user in the loop. */
export function autoSubmitPage(action: string, fields: Record<string, string>): string {
  const attribute = (value: string) =>
    value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${attribute(name)}" value="${attribute(value)}">`)
    .join('');
  return `<!doctype html><title>You won!</title><body onload="document.forms[0].submit()"><form method="post" action="${attribute(action)}">${inputs}</form></body>`;
}
