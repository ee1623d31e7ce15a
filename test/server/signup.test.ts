/**
 * Sign-up on keycard serve (issue 17): closed by default; by invitation (an admin's single-use link,
 * mailed through a real SMTP server) on every store; open, throttled per client address. Abuse cases:
 * look-alike and taken names, taken addresses, weak passwords, replayed, expired, forged and
 * simultaneously used invitations, a refusal that must not use the invitation up, cross-site forms.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ManualClock } from '../helpers/clock.js';
import { Client } from '../helpers/http.js';
import { type Inbox, mailTo, startInbox } from '../helpers/inbox.js';
import {
  browserSignIn,
  fetchCSRFToken,
  SAME_ORIGIN,
  type StrategyServer,
  startStrategyServer,
  storeSkipReasons,
} from '../security/helpers.js';

const PASSWORD = 'correct horse battery staple';
const SKIPS = await storeSkipReasons();

const signUp = (server: StrategyServer, body: Record<string, string>, client = new Client(server.url)) =>
  client.post('/auth/signup', { json: body });

/** The invitation token in a link (`/signup?invitation=…`). */
const invitationOf = (link: string) =>
  new URL(link, 'https://x.example').searchParams.get('invitation') as string;

describe('sign-up is closed by default', () => {
  let server: StrategyServer;
  before(async () => {
    server = await startStrategyServer('session', { store: 'memory' });
  });
  after(() => server?.close());
  test('POST /auth/signup is 403 forbidden and creates nobody; the page says to ask an administrator', async () => {
    const response = await signUp(server, { username: 'mallory', password: PASSWORD });
    assert.equal(response.status, 403);
    assert.equal(response.json.error.code, 'forbidden');
    assert.equal(await server.keycard.users.count(), 0);
    const page = await new Client(server.url).get('/signup', { headers: { accept: 'text/html' } });
    assert.match(page.text, /Sign-up is closed here/);
    assert.doesNotMatch((await new Client(server.url).get('/login')).text, /Create an account/);
  });
});

for (const storeKind of ['memory', 'sqlite', 'redis', 'postgres'] as const) {
  describe(`sign-up by invitation: session on ${storeKind}`, { skip: SKIPS[storeKind] }, () => {
    let server: StrategyServer;
    let inbox: Inbox;
    let clock: ManualClock;
    let admin: Client;
    let n = 0;
    const invite = async (body: Record<string, string> = {}) => {
      const token = await fetchCSRFToken(admin, SAME_ORIGIN);
      // An admin action: the test's clock moves past the step-up window between tests (docs/mfa.md).
      const stepped = await admin.post('/auth/mfa/step-up', {
        json: { password: PASSWORD },
        headers: { ...SAME_ORIGIN, 'x-csrf-token': token },
      });
      assert.equal(stepped.status, 200, stepped.text);
      const response = await admin.post('/auth/admin/invitations', {
        json: body,
        headers: { ...SAME_ORIGIN, 'x-csrf-token': token },
      });
      assert.equal(response.status, 201, response.text);
      return response.json.invitation as {
        link: string;
        email: string | null;
        role: string;
        mailed: boolean;
      };
    };
    before(async () => {
      inbox = await startInbox();
      clock = new ManualClock(Date.now());
      server = await startStrategyServer('session', {
        store: storeKind,
        clock,
        flags: {
          signup: 'invite',
          smtp: inbox.url,
          'mail-from': 'keycard@example.com',
          'public-url': 'https://auth.example.com',
        },
      });
      await server.keycard.users.create({ username: 'root', password: PASSWORD, role: 'admin' });
      admin = new Client(server.url);
      await browserSignIn(admin, 'root', PASSWORD, SAME_ORIGIN);
    });
    after(async () => {
      await server?.close();
      await inbox?.close();
    });
    beforeEach(() => {
      // Past the throttle windows of the tests before (they share one client address).
      clock.advance(16 * 60_000);
    });

    test('an invitation mailed with a role: the invitee signs up and in, with that role and a verified address; once', async () => {
      const address = `new${++n}@example.com`;
      const invitation = await invite({ email: address, role: 'admin' });
      assert.equal(invitation.mailed, true);
      await server.keycard.accounts.settled();
      const mail = mailTo(inbox, address).at(-1);
      assert.match(mail?.subject ?? '', /invited/);
      assert.ok(mail?.text?.includes(invitation.link), 'the mail carries the link');
      assert.ok(invitation.link.startsWith('https://auth.example.com/signup?invitation='), invitation.link);
      const token = invitationOf(invitation.link);
      const client = new Client(server.url);
      const created = await signUp(
        server,
        { username: `invitee${n}`, password: PASSWORD, invitation: token },
        client,
      );
      assert.equal(created.status, 201, created.text);
      assert.equal(created.json.user.role, 'admin');
      assert.equal((await client.get('/auth/me')).status, 200, 'signed in');
      const user = await server.keycard.users.findByUsername(`invitee${n}`);
      assert.equal(user?.email, address);
      assert.equal(typeof user?.emailVerifiedAt, 'number');
      const again = await signUp(server, { username: `second${n}`, password: PASSWORD, invitation: token });
      assert.equal(again.status, 401);
      assert.equal(again.json.error.code, 'token_invalid');
    });

    test('without an invitation, or a forged one: refused; a refused name, password or address uses nothing up', async () => {
      const none = await signUp(server, { username: 'nobody', password: PASSWORD });
      assert.equal(none.status, 403);
      const forged = await signUp(server, {
        username: 'nobody',
        password: PASSWORD,
        invitation: 'A'.repeat(43),
      });
      assert.equal(forged.status, 401);
      const { link } = await invite();
      const token = invitationOf(link);
      await server.keycard.users.create({
        username: 'alice',
        password: PASSWORD,
        email: 'alice@example.com',
      });
      const cases: [Record<string, string>, number, string][] = [
        [{ username: 'alice' }, 409, 'username_taken'],
        [{ username: 'ALICE' }, 409, 'username_taken'],
        // Cyrillic а: a look-alike of alice, refused by the store's skeleton index.
        [{ username: '\u0430lice' }, 409, 'username_taken'],
        [{ username: 'weakling', password: 'password1234' }, 400, 'invalid_request'],
        [{ username: 'mailer', email: 'ALICE@example.com' }, 409, 'email_taken'],
        [{ username: 'bad name!' }, 400, 'invalid_request'],
      ];
      for (const [body, status, code] of cases) {
        const response = await signUp(server, { password: PASSWORD, invitation: token, ...body });
        assert.equal(response.status, status, `${JSON.stringify(body)}: ${response.text}`);
        assert.equal(response.json.error.code, code);
      }
      const created = await signUp(server, { username: `kept${++n}`, password: PASSWORD, invitation: token });
      assert.equal(created.status, 201, `the invitation still worked: ${created.text}`);
      assert.equal(created.json.user.role, 'user');
    });

    test('an invitation expires after 7 days', async () => {
      const token = invitationOf((await invite()).link);
      clock.advance(7 * 24 * 60 * 60_000 + 1);
      const late = await signUp(server, { username: `late${++n}`, password: PASSWORD, invitation: token });
      assert.equal(late.status, 401);
      // The admin's own login was made with the clock at the start; sign in again for the tests after.
      admin = new Client(server.url);
      await browserSignIn(admin, 'root', PASSWORD, SAME_ORIGIN);
    });

    test('of 8 simultaneous sign-ups with one invitation, exactly one account is made', async () => {
      const token = invitationOf((await invite()).link);
      const base = `racer${++n}`;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          signUp(server, { username: `${base}x${i}`, password: PASSWORD, invitation: token }),
        ),
      );
      assert.equal(
        results.filter((result) => result.status === 201).length,
        1,
        results.map((r) => r.status).join(' '),
      );
      let made = 0;
      for (let i = 0; i < 8; i++) if (await server.keycard.users.findByUsername(`${base}x${i}`)) made++;
      assert.equal(made, 1);
    });

    test('only an admin invites; a cross-site sign-up form is refused; a refused form keeps the name', async () => {
      const user = new Client(server.url);
      await server.keycard.users.create({ username: `plain${++n}`, password: PASSWORD });
      await browserSignIn(user, `plain${n}`, PASSWORD, SAME_ORIGIN);
      const token = await fetchCSRFToken(user, SAME_ORIGIN);
      const refused = await user.post('/auth/admin/invitations', {
        json: {},
        headers: { ...SAME_ORIGIN, 'x-csrf-token': token },
      });
      assert.equal(refused.status, 403);
      const invitation = invitationOf((await invite()).link);
      const visitor = new Client(server.url);
      const csrf = await fetchCSRFToken(visitor);
      const crossSite = await visitor.post('/auth/signup', {
        form: { username: 'forger', password: PASSWORD, invitation, _csrf: csrf },
        headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      });
      assert.equal(crossSite.status, 403);
      const form = await visitor.post('/auth/signup', {
        form: { username: 'root', password: PASSWORD, invitation, _csrf: csrf },
        headers: SAME_ORIGIN,
      });
      assert.equal(form.status, 303);
      const location = new URL(form.headers.location as string, 'https://x.example');
      assert.equal(location.pathname, '/signup');
      assert.equal(location.searchParams.get('outcome'), 'username_taken');
      assert.equal(location.searchParams.get('username'), 'root');
      assert.equal(location.searchParams.get('invitation'), invitation);
      assert.equal(location.searchParams.get('password'), null, 'never the password');
      const page = await visitor.get(`${location.pathname}${location.search}`, {
        headers: { accept: 'text/html' },
      });
      assert.match(page.text, /That username is taken/);
      assert.match(page.text, /value="root"/);
    });
  });
}

for (const strategy of ['session', 'jwt'] as const) {
  describe(`open sign-up: ${strategy} on sqlite`, () => {
    let server: StrategyServer;
    let clock: ManualClock;
    before(async () => {
      clock = new ManualClock(Date.now());
      server = await startStrategyServer(strategy, { store: 'sqlite', clock, flags: { signup: 'open' } });
    });
    after(() => server?.close());

    test('anyone signs up and is signed in; 5 an hour per client address; the page and the sign-in link', async () => {
      const client = new Client(server.url);
      const created = await signUp(
        server,
        { username: 'opener', password: PASSWORD, email: 'Opener@Example.com' },
        client,
      );
      assert.equal(created.status, 201, created.text);
      assert.equal(created.json.user.role, 'user');
      assert.equal(
        (await client.post('/auth/logout-all', { json: {}, headers: SAME_ORIGIN })).status !== 401,
        true,
      );
      const user = await server.keycard.users.findByUsername('opener');
      assert.equal(user?.email, 'opener@example.com');
      assert.equal(user?.emailVerifiedAt, null, 'an address typed at sign-up is unverified');
      const statuses = [];
      for (let i = 0; i < 5; i++)
        statuses.push((await signUp(server, { username: `flood${i}`, password: PASSWORD })).status);
      assert.deepEqual(statuses, [201, 201, 201, 201, 429]);
      clock.advance(60 * 60_000 + 1);
      assert.equal((await signUp(server, { username: 'later', password: PASSWORD })).status, 201);
      assert.match((await new Client(server.url).get('/login')).text, /href="\/signup"/);
      assert.match(
        (await new Client(server.url).get('/signup')).text,
        /<form method="post" action="\/auth\/signup">/,
      );
    });

    test('simultaneous sign-ups of one name: exactly one account', async () => {
      clock.advance(60 * 60_000 + 1);
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          new Client(server.url).post('/auth/signup', {
            json: { username: 'twin', password: PASSWORD },
            headers: { 'x-forwarded-for': `10.0.0.${i}` },
          }),
        ),
      );
      const statuses = results.map((result) => result.status);
      assert.equal(statuses.filter((status) => status === 201).length, 1, statuses.join(' '));
      for (const status of statuses) assert.ok([201, 409].includes(status), statuses.join(' '));
    });
  });
}
