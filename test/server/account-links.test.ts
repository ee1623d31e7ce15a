/**
 * Email addresses and mailed links on keycard serve (issue 17), through a real SMTP server in this process:
 * forgotten password and reset, setting one's address and verifying it — on every store, with the session
 * strategy everywhere and the token strategies on SQLite (a reset must end token logins too). Abuse cases:
 * enumeration by status, body or mail; replayed, expired, tampered and cross-kind links; simultaneous uses
 * of one link; a link voided by a later password change; throttling; cross-site forms.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ManualClock } from '../helpers/clock.js';
import { Client } from '../helpers/http.js';
import { type Inbox, linkToken, mailTo, startInbox } from '../helpers/inbox.js';
import {
  browserSignIn,
  fetchCSRFToken,
  browserPost as post,
  SAME_ORIGIN,
  type StoreKind,
  type StrategyServer,
  startStrategyServer,
  storeSkipReasons,
} from '../security/helpers.js';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase';
const SKIPS = await storeSkipReasons();

const CASES: [StoreKind, 'session' | 'jwt' | 'hybrid'][] = [
  ['memory', 'session'],
  ['sqlite', 'session'],
  ['redis', 'session'],
  ['postgres', 'session'],
  ['sqlite', 'jwt'],
  ['sqlite', 'hybrid'],
];

for (const [storeKind, strategy] of CASES) {
  describe(`account links: ${strategy} on ${storeKind}`, { skip: SKIPS[storeKind] }, () => {
    let server: StrategyServer;
    let inbox: Inbox;
    let clock: ManualClock;
    let n = 0;
    /** A fresh user with an address, so that throttle budgets and logins never carry over. */
    const newUser = async (options: { email?: boolean } = {}) => {
      const username = `user${++n}`;
      const email = `${username}@example.com`;
      const user = await server.keycard.users.create({
        username,
        password: PASSWORD,
        ...(options.email === false ? {} : { email: email.toUpperCase() }),
      });
      return { username, email, id: user.id };
    };
    const signedIn = async (username: string, password = PASSWORD) => {
      const client = new Client(server.url);
      await browserSignIn(client, username, password, SAME_ORIGIN);
      return client;
    };
    /** Asks for a reset link for `email` and returns its token once the mail has arrived. */
    const resetLink = async (email: string) => {
      const before = mailTo(inbox, email).length;
      const asked = await new Client(server.url).post('/auth/password/forgot', { json: { email } });
      assert.equal(asked.status, 200, asked.text);
      await server.keycard.accounts.settled();
      const mails = mailTo(inbox, email);
      assert.equal(mails.length, before + 1, 'one mail arrived');
      return linkToken(mails[mails.length - 1] as (typeof mails)[number], '/reset-password');
    };
    const reset = (token: string, password = NEW_PASSWORD) =>
      new Client(server.url).post('/auth/password/reset', { json: { token, new_password: password } });
    const signsIn = async (username: string, password: string) =>
      (await new Client(server.url).post('/auth/login', { json: { username, password } })).status === 200;

    before(async () => {
      inbox = await startInbox();
      // A clock that moves only when told: link expiry and throttle windows are stepped, never waited for.
      clock = new ManualClock(Date.now());
      server = await startStrategyServer(strategy, {
        store: storeKind,
        clock,
        flags: {
          smtp: inbox.url,
          'mail-from': 'keycard@example.com',
          'public-url': 'https://auth.example.com',
        },
      });
    });
    after(async () => {
      await server?.close();
      await inbox?.close();
    });
    beforeEach(() => {
      // Past every throttle window of the tests before (all tests share one client address).
      clock.advance(61 * 60_000);
    });

    test('forgot, mail, reset: every login ends, only the new password signs in, the link works once', async () => {
      const { username, email } = await newUser();
      const before = await signedIn(username);
      const token = await resetLink(email);
      const mail = mailTo(inbox, email).at(-1);
      assert.equal(mail?.subject?.includes('password'), true, mail?.subject);
      assert.match(mail?.text ?? '', /https:\/\/auth\.example\.com\/reset-password\?token=/);
      assert.ok(mail?.html, 'an HTML part too');
      const done = await reset(token);
      assert.equal(done.status, 200, done.text);
      assert.deepEqual(done.json, { ok: true });
      // The login from before the reset is over, whatever the strategy: a route that asks the store says so.
      assert.equal((await post(before, '/auth/logout-all', {})).status, 401);
      if (strategy !== 'jwt') assert.equal((await before.get('/auth/me')).status, 401);
      assert.equal(await signsIn(username, PASSWORD), false, 'the old password is refused');
      assert.equal(await signsIn(username, NEW_PASSWORD), true);
      const again = await reset(token, 'yet another passphrase');
      assert.equal(again.status, 401);
      assert.equal(again.json.error.code, 'token_invalid');
      assert.equal(await signsIn(username, NEW_PASSWORD), true, 'a replayed link changed nothing');
      // Following the link showed the address is the user's.
      const user = await server.keycard.users.findByUsername(username);
      assert.equal(typeof user?.emailVerifiedAt, 'number');
    });

    test('no enumeration: a known and an unknown address get the same status, body and headers; only the known gets mail', async () => {
      const { email } = await newUser();
      const blocked = await newUser();
      await server.keycard.users.block(blocked.id);
      const answers = [];
      for (const address of [email, 'nobody-here@example.com', blocked.email, email.toUpperCase()]) {
        const response = await new Client(server.url).post('/auth/password/forgot', {
          json: { email: address },
        });
        const { date: _date, ...headers } = response.headers;
        answers.push({ status: response.status, text: response.text, headers });
      }
      for (const answer of answers.slice(1)) assert.deepEqual(answer, answers[0]);
      await server.keycard.accounts.settled();
      assert.equal(mailTo(inbox, email).length, 2, 'the address in any case is one address');
      assert.equal(mailTo(inbox, 'nobody-here@example.com').length, 0);
      assert.equal(mailTo(inbox, blocked.email).length, 0, 'a blocked account gets no reset link');
    });

    test('a link expires after 30 minutes; a later password change voids an earlier link', async () => {
      const { username, email, id } = await newUser();
      const stale = await resetLink(email);
      clock.advance(30 * 60_000 + 1);
      const expired = await reset(stale);
      assert.equal(expired.status, 401);
      assert.equal(expired.json.error.code, 'token_invalid');
      const voided = await resetLink(email);
      await server.keycard.users.setPassword(id, 'changed by the admin meanwhile');
      assert.equal((await reset(voided)).status, 401);
      assert.equal(await signsIn(username, 'changed by the admin meanwhile'), true);
    });

    test('a password the policy refuses costs nothing: the link still works', async () => {
      const { username, email } = await newUser();
      const token = await resetLink(email);
      for (const [password, field] of [
        ['short', 'new_password'],
        [username, 'new_password'],
      ] as const) {
        const refused = await reset(token, password);
        assert.equal(refused.status, 400, refused.text);
        assert.equal(refused.json.error.field, field);
      }
      const mismatch = await new Client(server.url).post('/auth/password/reset', {
        json: { token, new_password: NEW_PASSWORD, confirm_password: 'something else' },
      });
      assert.equal(mismatch.json.error.field, 'confirm_password');
      assert.equal((await reset(token)).status, 200);
    });

    test('tampered, malformed, oversized, and a verification link used for a reset: all refused', async () => {
      const { username, email } = await newUser();
      const token = await resetLink(email);
      const flipped = `${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
      for (const bad of [flipped, 'not-a-token', `${token}x`, '']) {
        const response = await reset(bad);
        assert.ok([400, 401].includes(response.status), `${bad}: ${response.status} ${response.text}`);
      }
      const huge = await new Client(server.url).post('/auth/password/reset', {
        json: { token: 'x'.repeat(300), new_password: NEW_PASSWORD },
      });
      assert.equal(huge.status, 400);
      const proto = await new Client(server.url).post('/auth/password/reset', {
        body: `{"token":"${token}","new_password":"${NEW_PASSWORD}","__proto__":{"admin":true}}`,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(proto.status, 400);
      // A reset token is no verification token, and the other way round.
      const verify = await new Client(server.url).post('/auth/email/verify', { json: { token } });
      assert.equal(verify.status, 401);
      assert.equal((await reset(token)).status, 200, 'none of that used the link up');
      assert.equal(await signsIn(username, NEW_PASSWORD), true);
    });

    test('of 10 simultaneous resets with one link, exactly one succeeds', async () => {
      const { username, email } = await newUser();
      const token = await resetLink(email);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => reset(token, `${NEW_PASSWORD} number ${i}`)),
      );
      const winners = results.flatMap((result, i) => (result.status === 200 ? [i] : []));
      assert.equal(winners.length, 1, results.map((result) => result.status).join(' '));
      for (const result of results) if (result.status !== 200) assert.equal(result.status, 401);
      assert.equal(await signsIn(username, `${NEW_PASSWORD} number ${winners[0]}`), true);
    });

    test('throttled: an address gets at most 3 reset mails an hour, known or not; unusable links from one client', async () => {
      const { email } = await newUser();
      for (const address of [email, 'unknown-throttled@example.com']) {
        const statuses = [];
        for (let i = 0; i < 5; i++) {
          const response = await new Client(server.url).post('/auth/password/forgot', {
            json: { email: address },
          });
          statuses.push(response.status);
          if (response.status === 429) assert.ok(Number(response.headers['retry-after']) > 0);
        }
        assert.deepEqual(statuses, [200, 200, 200, 429, 429], address);
      }
      await server.keycard.accounts.settled();
      assert.equal(mailTo(inbox, email).length, 3);
      // That was 10 requests from this client address, its budget for 15 minutes: an 11th waits.
      const eleventh = await new Client(server.url).post('/auth/password/forgot', {
        json: { email: 'other@example.com' },
      });
      assert.equal(eleventh.status, 429);
      clock.advance(15 * 60_000 + 1);
      // Unusable links: after 20 from one client address, even a good one waits until the window ends.
      const fresh = await resetLink((await newUser()).email);
      const statuses = [];
      for (let i = 0; i < 21; i++) statuses.push((await reset(`${'A'.repeat(42)}${'AEIM'[i % 4]}`)).status);
      assert.equal(statuses.filter((status) => status === 401).length, 20, statuses.join(' '));
      assert.equal(statuses.at(-1), 429);
      assert.equal((await reset(fresh)).status, 429, 'a good link waits too');
      clock.advance(15 * 60_000 + 1);
      assert.equal(
        (await reset(fresh)).status,
        200,
        'and works once the window is over (within its 30 minutes)',
      );
    });

    test('cross-site: a forgot or reset form from another site is refused', async () => {
      const { email } = await newUser();
      const client = new Client(server.url);
      const token = await fetchCSRFToken(client);
      for (const path of ['/auth/password/forgot', '/auth/password/reset']) {
        const response = await client.post(path, {
          form: { email, token: 'A'.repeat(43), new_password: NEW_PASSWORD, _csrf: token },
          headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        });
        assert.equal(response.status, 403, `${path}: ${response.text}`);
      }
      await server.keycard.accounts.settled();
      assert.equal(mailTo(inbox, email).length, 0);
    });

    test('my address: set with the current password, verified by its link, unique; a link for an old address verifies nothing', async () => {
      const { username, id } = await newUser({ email: false });
      const mine = await signedIn(username);
      const wrong = await post(mine, '/auth/email', { email: 'Me@Example.org', current_password: 'wrong' });
      assert.equal(wrong.status, 401);
      const set = await post(mine, '/auth/email', { email: ' Me@Example.org ', current_password: PASSWORD });
      assert.equal(set.status, 200, set.text);
      assert.equal(set.json.user.email, 'me@example.org');
      assert.equal(set.json.user.emailVerified, false);
      await server.keycard.accounts.settled();
      const first = linkToken(mailTo(inbox, 'me@example.org').at(-1) as never, '/verify-email');
      // Another user cannot take the address.
      const other = await newUser({ email: false });
      const taken = await post(await signedIn(other.username), '/auth/email', {
        email: 'ME@example.org',
        current_password: PASSWORD,
      });
      assert.equal(taken.status, 409);
      assert.equal(taken.json.error.code, 'email_taken');
      // Moving to a new address voids the first link.
      assert.equal(
        (await post(mine, '/auth/email', { email: 'me2@example.org', current_password: PASSWORD })).status,
        200,
      );
      const stale = await new Client(server.url).post('/auth/email/verify', { json: { token: first } });
      assert.equal(stale.status, 401);
      const second = linkToken(mailTo(inbox, 'me2@example.org').at(-1) as never, '/verify-email');
      // Needs no sign-in: the link may be opened on another device.
      const verified = await new Client(server.url).post('/auth/email/verify', { json: { token: second } });
      assert.equal(verified.status, 200, verified.text);
      assert.equal(typeof (await server.keycard.users.get(id))?.emailVerifiedAt, 'number');
      assert.equal(
        (await new Client(server.url).post('/auth/email/verify', { json: { token: second } })).status,
        401,
        'used once',
      );
      const bad = await post(mine, '/auth/email', {
        email: 'two@a.example, three@b.example',
        current_password: PASSWORD,
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error.field, 'email');
      assert.equal(
        (
          await new Client(server.url).post('/auth/email', {
            json: { email: 'x@y.example', current_password: PASSWORD },
          })
        ).status,
        401,
      );
    });

    test('forms: outcomes come back to the page as closed codes', async () => {
      const { email } = await newUser();
      const client = new Client(server.url);
      const sent = await post(client, '/auth/password/forgot', { email }, true);
      assert.equal(sent.status, 303);
      assert.equal(sent.headers.location, '/forgot-password?outcome=sent');
      await server.keycard.accounts.settled();
      const token = linkToken(mailTo(inbox, email).at(-1) as never, '/reset-password');
      const short = await post(client, '/auth/password/reset', { token, new_password: 'short' }, true);
      assert.equal(short.status, 303);
      assert.equal(short.headers.location, `/reset-password?token=${token}&outcome=invalid_request`);
      const done = await post(client, '/auth/password/reset', { token, new_password: NEW_PASSWORD }, true);
      assert.equal(done.headers.location, '/login?outcome=password_reset');
    });
  });
}

describe('account links without a mailer', () => {
  let server: StrategyServer;
  before(async () => {
    server = await startStrategyServer('session', { store: 'memory' });
  });
  after(async () => {
    await server?.close();
  });
  test('forgot answers mail_unavailable (503), the same for any address; setting an address still works', async () => {
    const forgot = await new Client(server.url).post('/auth/password/forgot', {
      json: { email: 'a@example.com' },
    });
    assert.equal(forgot.status, 503);
    assert.equal(forgot.json.error.code, 'mail_unavailable');
    await server.keycard.users.create({ username: 'nomail', password: PASSWORD });
    const client = new Client(server.url);
    await browserSignIn(client, 'nomail', PASSWORD, SAME_ORIGIN);
    const set = await post(client, '/auth/email', {
      email: 'nomail@example.com',
      current_password: PASSWORD,
    });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.json.user.emailVerified, false);
  });
});

for (const storeKind of ['sqlite', 'redis'] as const) {
  describe(`an admin mails a reset link: session on ${storeKind}`, { skip: SKIPS[storeKind] }, () => {
    let server: StrategyServer;
    let inbox: Inbox;
    let admin: Client;
    const adminPost = async (path: string, form = false) => {
      const token = await fetchCSRFToken(admin, SAME_ORIGIN);
      return admin.post(path, {
        ...(form ? { form: { _csrf: token } } : { json: {} }),
        headers: { ...SAME_ORIGIN, 'x-csrf-token': token },
      });
    };
    before(async () => {
      inbox = await startInbox();
      server = await startStrategyServer('session', {
        store: storeKind,
        flags: {
          smtp: inbox.url,
          'mail-from': 'keycard@example.com',
          'public-url': 'https://auth.example.com',
        },
      });
      await server.keycard.users.create({ username: 'boss', password: PASSWORD, role: 'admin' });
      admin = new Client(server.url);
      await browserSignIn(admin, 'boss', PASSWORD, SAME_ORIGIN);
    });
    after(async () => {
      await server?.close();
      await inbox?.close();
    });

    test('the link is mailed at once and works; the password and logins stay until it is used', async () => {
      const user = await server.keycard.users.create({
        username: 'forgetful',
        password: PASSWORD,
        email: 'f@example.com',
      });
      const theirs = new Client(server.url);
      await browserSignIn(theirs, 'forgetful', PASSWORD, SAME_ORIGIN);
      const sent = await adminPost(`/auth/admin/users/${user.id}/reset-link`);
      assert.equal(sent.status, 200, sent.text);
      assert.deepEqual(sent.json, { ok: true, email: 'f@example.com' });
      assert.equal((await theirs.get('/auth/me')).status, 200, 'nothing ends until the link is used');
      const token = linkToken(mailTo(inbox, 'f@example.com').at(-1) as never, '/reset-password');
      assert.equal(
        (
          await new Client(server.url).post('/auth/password/reset', {
            json: { token, new_password: NEW_PASSWORD },
          })
        ).status,
        200,
      );
      assert.equal((await theirs.get('/auth/me')).status, 401);
      const form = await adminPost(`/auth/admin/users/${user.id}/reset-link`, true);
      assert.equal(form.status, 303);
      assert.equal(form.headers.location, `/admin/users/${user.id}?outcome=reset_sent`);
    });

    test('addresses in the admin API: set at creation and by PATCH, normalized, unique, removed with null', async () => {
      const send = async (method: string, path: string, json: unknown) => {
        const token = await fetchCSRFToken(admin, SAME_ORIGIN);
        return admin.request(method, path, { json, headers: { ...SAME_ORIGIN, 'x-csrf-token': token } });
      };
      const created = await send('POST', '/auth/admin/users', {
        username: 'mailed',
        password: PASSWORD,
        email: ' Mailed@Example.com',
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.json.user.email, 'mailed@example.com');
      assert.equal(created.json.user.emailVerified, false);
      const id = created.json.user.id as string;
      const moved = await send('PATCH', `/auth/admin/users/${id}`, { email: 'Moved@Example.com' });
      assert.equal(moved.status, 200, moved.text);
      assert.equal(moved.json.user.email, 'moved@example.com');
      await server.keycard.users.create({
        username: 'holder',
        password: PASSWORD,
        email: 'held@example.com',
      });
      const taken = await send('PATCH', `/auth/admin/users/${id}`, {
        email: 'HELD@example.com',
        role: 'admin',
      });
      assert.equal(taken.status, 409);
      assert.equal((await server.keycard.users.get(id))?.role, 'user', 'a refused change changes nothing');
      assert.equal((await send('PATCH', `/auth/admin/users/${id}`, {})).status, 400);
      const badRole = await send('PATCH', `/auth/admin/users/${id}`, {
        email: 'new@example.com',
        role: 'root',
      });
      assert.equal(badRole.status, 400);
      assert.equal(
        (await server.keycard.users.get(id))?.email,
        'moved@example.com',
        'a bad role changes no address',
      );
      assert.equal((await send('PATCH', `/auth/admin/users/${id}`, { email: 'not an address' })).status, 400);
      const removed = await send('PATCH', `/auth/admin/users/${id}`, { email: null });
      assert.equal(removed.json.user.email, null);
      assert.equal(
        (await send('PATCH', '/auth/admin/users/AAAAAAAAAAAAAAAAAAAAAA', { email: 'x@y.example' })).status,
        404,
      );
      const dup = await send('POST', '/auth/admin/users', {
        username: 'dup',
        password: PASSWORD,
        email: 'held@example.com',
      });
      assert.equal(dup.status, 409);
      assert.equal(dup.json.error.code, 'email_taken');
    });

    test('refused: no address (400), blocked (403), unknown (404), not an admin (403)', async () => {
      const bare = await server.keycard.users.create({ username: 'bare', password: PASSWORD });
      assert.equal((await adminPost(`/auth/admin/users/${bare.id}/reset-link`)).status, 400);
      const blocked = await server.keycard.users.create({
        username: 'blocked',
        password: PASSWORD,
        email: 'b@example.com',
      });
      await server.keycard.users.block(blocked.id);
      assert.equal((await adminPost(`/auth/admin/users/${blocked.id}/reset-link`)).status, 403);
      assert.equal((await adminPost('/auth/admin/users/AAAAAAAAAAAAAAAAAAAAAA/reset-link')).status, 404);
      const plain = new Client(server.url);
      await browserSignIn(plain, 'bare', PASSWORD, SAME_ORIGIN);
      const token = await fetchCSRFToken(plain, SAME_ORIGIN);
      const refused = await plain.post(`/auth/admin/users/${blocked.id}/reset-link`, {
        json: {},
        headers: { ...SAME_ORIGIN, 'x-csrf-token': token },
      });
      assert.equal(refused.status, 403);
      assert.equal(mailTo(inbox, 'b@example.com').length, 0);
    });
  });
}
