/**
 * Mailed links in real Chromium (issue 17), with a real SMTP server in this process: a forgotten password
 * from the sign-in page to the mail, the link's page, a refused password that keeps the link, the reset,
 * and signing in with the new password; and on /account, adding an address, following the verification
 * link from the mail, and the page showing it verified. The server's public URL is its own address, so
 * the links the mails carry are followed as they are.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type Inbox, mailTo, startInbox } from '../helpers/inbox.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { chromiumSkipReason } from '../helpers/services.js';
import { launchChromium, signInThroughPage } from './harness.js';

const skip = chromiumSkipReason();
const PASSWORD = 'old passphrase for ada';
const NEW_PASSWORD = 'new passphrase for ada';

/** A port nothing listens on now, for a server that must know its own URL before it starts. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** The link to `path` in the newest mail to `address`, as the mail has it. */
function link(inbox: Inbox, address: string, path: string): string {
  const mail = mailTo(inbox, address).at(-1);
  const found = [...(mail?.text ?? '').matchAll(/https?:\/\/\S+/g)]
    .map((match) => match[0])
    .find((href) => new URL(href).pathname === path);
  assert.ok(found, `a link to ${path} in: ${mail?.text}`);
  return found;
}

describe('browser: password reset and email verification by mail', { skip }, () => {
  let server: TestServer;
  let inbox: Inbox;
  let browser: Browser;
  let base: string;

  before(async () => {
    inbox = await startInbox();
    const port = await freePort();
    base = `http://localhost:${port}`;
    server = await startTestServer({
      flags: {
        port: String(port),
        signup: 'invite',
        smtp: inbox.url,
        'mail-from': 'keycard@example.com',
        'public-url': base,
      },
    });
    await server.keycard.users.create({ username: 'ada', password: PASSWORD, email: 'ada@example.com' });
    await server.keycard.users.create({ username: 'bo', password: PASSWORD });
    await server.keycard.users.create({ username: 'root', password: PASSWORD, role: 'admin' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await inbox?.close();
  });

  async function submitNewPassword(page: Page, password: string, confirm = password): Promise<void> {
    await page.fill('#new_password', password);
    await page.fill('#confirm_password', confirm);
    await Promise.all([page.waitForURL(/outcome=/), page.click('button[type=submit]')]);
  }

  test('forgot password: the sign-in page, the mail, the link, a refused password, the reset, the new sign-in', async () => {
    const signedInElsewhere = await (await browser.newContext()).newPage();
    await signInThroughPage(signedInElsewhere, base, { username: 'ada', password: PASSWORD });

    const page = await (await browser.newContext()).newPage();
    await page.goto(`${base}/login`);
    await Promise.all([page.waitForURL(`${base}/forgot-password`), page.click('text=Forgot your password?')]);
    await page.fill('#email', 'ADA@example.com');
    await Promise.all([page.waitForURL(/outcome=sent/), page.click('button[type=submit]')]);
    assert.match((await page.textContent('[role=status]')) ?? '', /If an account has this address/);
    await server.keycard.accounts.settled();

    const href = link(inbox, 'ada@example.com', '/reset-password');
    assert.ok(href.startsWith(`${base}/reset-password?token=`), href);
    await page.goto(href);
    await submitNewPassword(page, 'password1234');
    assert.match((await page.textContent('[role=alert]')) ?? '', /password was refused.*link still works/);
    await submitNewPassword(page, NEW_PASSWORD, 'something else');
    assert.match((await page.textContent('[role=alert]')) ?? '', /confirmation differ/);
    await submitNewPassword(page, NEW_PASSWORD);
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.match((await page.textContent('[role=status]')) ?? '', /password was reset/);

    // The link is used up; the other browser was signed out; only the new password signs in.
    await page.goto(href);
    await submitNewPassword(page, 'yet another passphrase');
    assert.match((await page.textContent('[role=alert]')) ?? '', /invalid, has expired, or was already used/);
    await signedInElsewhere.goto(`${base}/account`);
    assert.equal(new URL(signedInElsewhere.url()).pathname, '/login');
    await signInThroughPage(page, base, { username: 'ada', password: NEW_PASSWORD });
  });

  test('my address on /account: saved with the current password, verified from the mail, shown verified', async () => {
    const page = await (await browser.newContext()).newPage();
    await signInThroughPage(page, base, { username: 'bo', password: PASSWORD });
    assert.match((await page.textContent('#email')) ?? '', /No address yet/);
    await page.fill('#email_address', 'bo@example.com');
    await page.fill('#email_password', 'not my password');
    await Promise.all([page.waitForURL(/outcome=/), page.click('#email form button')]);
    assert.match((await page.textContent('#email [role=alert]')) ?? '', /current password is not right/);
    await page.fill('#email_address', 'bo@example.com');
    await page.fill('#email_password', PASSWORD);
    await Promise.all([page.waitForURL(/outcome=email_sent/), page.click('#email form:last-of-type button')]);
    assert.match((await page.textContent('#email')) ?? '', /bo@example\.com\s*not verified/);
    await server.keycard.accounts.settled();

    // The link opens a page that asks for a click: fetching it (as a mail scanner would) verifies nothing.
    const href = link(inbox, 'bo@example.com', '/verify-email');
    const fetched = await fetch(href);
    assert.equal(fetched.status, 200);
    assert.equal((await server.keycard.users.findByUsername('bo'))?.emailVerifiedAt, null);
    const other = await (await browser.newContext()).newPage();
    await other.goto(href);
    await Promise.all([other.waitForURL(/outcome=verified/), other.click('button[type=submit]')]);
    assert.match((await other.textContent('[role=status]')) ?? '', /verified/);

    await page.goto(`${base}/account`);
    assert.match((await page.textContent('#email')) ?? '', /bo@example\.com\s*verified/);
  });

  test('an invitation from /admin: mailed, followed, a taken name refused on the form, then the account', async () => {
    const admin = await (await browser.newContext()).newPage();
    await signInThroughPage(admin, base, { username: 'root', password: PASSWORD });
    await admin.goto(`${base}/admin`);
    await admin.fill('#invite-email', 'Cy@Example.com');
    await admin.selectOption('#invite-role', 'user');
    await Promise.all([admin.waitForURL(/outcome=invited/), admin.click('#invite button')]);
    assert.match((await admin.textContent('[role=status]')) ?? '', /invitation was mailed/);
    await server.keycard.accounts.settled();

    const href = link(inbox, 'cy@example.com', '/signup');
    const page = await (await browser.newContext()).newPage();
    await page.goto(href);
    await page.fill('#username', 'bo');
    await page.fill('#password', NEW_PASSWORD);
    await page.fill('#confirm_password', NEW_PASSWORD);
    await Promise.all([page.waitForURL(/outcome=username_taken/), page.click('button[type=submit]')]);
    assert.match((await page.textContent('[role=alert]')) ?? '', /username is taken/);
    assert.equal(await page.inputValue('#username'), 'bo', 'the name typed is kept');
    await page.fill('#username', 'cy');
    await page.fill('#password', NEW_PASSWORD);
    await page.fill('#confirm_password', NEW_PASSWORD);
    await Promise.all([page.waitForURL(`${base}/account`), page.click('button[type=submit]')]);
    assert.match((await page.textContent('h1')) ?? '', /Signed in as cy/);
    assert.match((await page.textContent('#email')) ?? '', /cy@example\.com\s*verified/);
  });

  test("an admin opens one user's page from /admin, mails them a reset link, and ends their sessions after confirming", async () => {
    const theirs = await (await browser.newContext()).newPage();
    await signInThroughPage(theirs, base, { username: 'bo', password: PASSWORD });
    const admin = await (await browser.newContext()).newPage();
    await signInThroughPage(admin, base, { username: 'root', password: PASSWORD });
    await admin.goto(`${base}/admin`);
    await Promise.all([admin.waitForURL(/\/admin\/users\//), admin.click('a:text-is("bo")')]);
    assert.match((await admin.textContent('h1')) ?? '', /^bo$/);
    assert.ok((await admin.locator('tr[data-session]').count()) >= 1, 'their sessions are listed');
    await Promise.all([admin.waitForURL(/outcome=reset_sent/), admin.click('text=Send a reset link')]);
    await server.keycard.accounts.settled();
    assert.ok(link(inbox, 'bo@example.com', '/reset-password'));
    // The button is inside a disclosure: one click to open it, one to confirm.
    assert.equal(await admin.locator('details.confirm button').isVisible(), false);
    await admin.click('details.confirm summary');
    await Promise.all([admin.waitForURL(/outcome=sessions_ended/), admin.click('details.confirm button')]);
    assert.match((await admin.textContent('[role=status]')) ?? '', /Every session of this user was ended/);
    assert.match((await admin.textContent('main, body')) ?? '', /No live sessions/);
    await theirs.goto(`${base}/account`);
    assert.equal(new URL(theirs.url()).pathname, '/login', 'their browser is signed out');
  });
});
