/**
 * Every answer `keycard serve` gives is in its OpenAPI document (issue 19): real requests to every route —
 * the success and each refusal it can give — are recorded as (method, route, status), each must be
 * described with the media type it came in, and each JSON body must match the documented schema (ajv).
 * Conversely, each documented answer must have been seen, unless NOT_WALKED says why no request here
 * produces it. One walk per preset: web-app (session), spa (hybrid, cookies), api (jwt, header).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateSync } from 'otplib';
import { ManualClock } from '../helpers/clock.js';
import type { Client, RequestOptions } from '../helpers/http.js';
import { type Inbox, linkToken, mailTo, startInbox } from '../helpers/inbox.js';
import { OpenAPIWalk } from '../helpers/openapi-walk.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery staple';
const TOO_MANY_COOKIES = Array.from({ length: 300 }, (_, i) => `c${i}=1`).join('; ');
/** A well-formed id that names nothing. */
const NO_SUCH_ID = 'AAAAAAAAAAAAAAAAAAAAAA';

/** Documented answers no request of this walk produces, and why; `*` matches any operation. */
const NOT_WALKED: { answer: string; presets?: string[]; why: string }[] = [
  { answer: '* 500', why: 'no route fails on purpose; the answer is described for completeness' },
  {
    answer: '* 503',
    why: 'the store is up here; outages are driven by test/server/faults.test.ts and test/api/fetch-store-outage.test.ts',
  },
  { answer: 'GET /auth/client.js 404', why: 'only when keycard is neither built nor run from its source' },
  { answer: 'GET /auth/admin/audit 404', why: 'only with audit: false; keycard serve keeps the log' },
  { answer: 'GET /admin/audit 404', why: 'as GET /auth/admin/audit 404' },
  { answer: 'GET /admin/audit 303', presets: ['spa'], why: 'as /account' },
  {
    answer: 'POST /auth/refresh 429',
    why: 'needs one login refreshed past its rate limit (test/server/jwt.test.ts)',
  },
  {
    answer: 'POST /auth/refresh 200',
    presets: ['web-app'],
    why: 'the session strategy has no refresh tokens',
  },
  {
    answer: 'POST /auth/login 403',
    presets: ['api'],
    why: 'tokens in headers: no cross-site check applies to a login, and blocked accounts are walked in the other presets',
  },
  {
    answer: 'GET / 200',
    presets: ['web-app', 'api'],
    why: 'the page that resumes an expired access token is for access tokens in cookies (spa) only',
  },
  ...['/auth/password/forgot', '/auth/password/reset', '/auth/email/verify'].map((path) => ({
    answer: `POST ${path} 403`,
    presets: ['api'],
    why: 'tokens in headers: the sign-in guard these routes apply refuses only browser requests with cookies',
  })),
  { answer: 'GET /login 303', presets: ['api'], why: 'tokens in headers: /login is always the same page' },
  {
    answer: 'GET /account 303',
    presets: ['spa'],
    why: 'access tokens in cookies: a signed-out visitor gets the page that tries a refresh first',
  },
  { answer: 'GET /admin 303', presets: ['spa'], why: 'as /account' },
  { answer: 'GET /admin/users/{id} 303', presets: ['spa'], why: 'as /account' },
  ...['/auth/mfa/passkeys/options', '/auth/mfa/passkeys', '/auth/passkey/options', '/auth/login/passkey'].map(
    (path) => ({
      answer: `POST ${path} 404`,
      why: 'only without --passkey-origin; this walk has passkeys on (test/server/passkeys.test.ts)',
    }),
  ),
  {
    answer: 'POST /auth/mfa/passkeys 201',
    why: 'needs an authenticator to sign the registration: test/browser/passkeys.test.ts (Chromium)',
  },
  {
    answer: 'POST /auth/login/passkey 200',
    why: 'needs an authenticator to sign the assertion: test/browser/passkeys.test.ts (Chromium)',
  },
  {
    answer: 'POST /auth/login/passkey 429',
    why: 'needs a registered passkey failing past its user’s throttle; the throttle is the codes’ (test/core)',
  },
  ...['/auth/mfa/passkeys/options', '/auth/mfa/passkeys', '/auth/passkey/options', '/auth/login/passkey'].map(
    (path) => ({
      answer: `POST ${path} 403`,
      presets: ['api'],
      why: 'tokens in headers: no cross-site refusal; step_up_required needs an old login (test/server/passkeys.test.ts), account_blocked a passkey',
    }),
  ),
  { answer: 'GET /step-up 303', presets: ['spa'], why: 'as /account' },
  {
    answer: 'GET /step-up 400',
    presets: ['api'],
    why: 'tokens in headers: the page is never signed in, so its query is never read',
  },
  {
    answer: 'POST /auth/passkey/options 429',
    why: 'needs 30 passwordless requests from one address: test/server/passkeys.test.ts',
  },
  {
    answer: 'POST /auth/login/mfa 403',
    presets: ['api'],
    why: 'tokens in headers: no cross-site check; blocking an account ends its pending sign-ins (401 token_invalid)',
  },
  ...['/', '/login', '/auth/me', '/auth/verify', '/auth/mfa'].map((path) => ({
    answer: `GET ${path} 400`,
    presets: ['api'],
    why: 'tokens in headers: this route reads no cookie, so no Cookie header is refused, and it takes no input',
  })),
];

function notWalked(answer: string, preset: string): boolean {
  const status = answer.split(' ').at(-1);
  return NOT_WALKED.some(
    (entry) =>
      (entry.answer === answer || entry.answer === `* ${status}`) &&
      (entry.presets === undefined || entry.presets.includes(preset)),
  );
}

for (const preset of ['web-app', 'spa', 'api']) {
  describe(`openapi: every answer of keycard serve is described (${preset})`, () => {
    let server: TestServer;
    let walk: OpenAPIWalk;
    let inbox: Inbox;
    // Moved by hand once, at the end, past the step-up window (docs/mfa.md).
    const clock = new ManualClock(Date.now());

    before(async () => {
      inbox = await startInbox();
      server = await startTestServer({
        clock,
        storeURL: 'memory:',
        flags: {
          preset,
          signup: 'invite',
          smtp: inbox.url,
          'mail-from': 'keycard@example.com',
          'public-url': 'https://auth.example.com',
          'passkey-origin': 'https://auth.example.com',
        },
      });
      for (const [username, role] of [
        ['alice', 'admin'],
        ['bob', 'user'],
        ['carol', 'user'],
        ['dave', 'user'],
        ['gina', 'user'],
        ['hank', 'user'],
        ['ivy', 'user'],
        ['ivan', 'user'],
        ['jane', 'user'],
        ['kate', 'user'],
        ['liam', 'user'],
      ] as const) {
        await server.keycard.users.create({ username, password: PASSWORD, role });
      }
      const anonymous = await fetch(`${server.url}/auth/openapi.json`);
      walk = new OpenAPIWalk(await anonymous.json());
      await drive(server, walk, preset, inbox, clock);
    });
    after(async () => {
      await server?.close();
      await inbox?.close();
    });

    test('every answer is described, with its media type and a JSON body of the documented shape', () => {
      assert.deepEqual(walk.problems, []);
    });

    test('every documented answer was seen, or NOT_WALKED says why not', () => {
      const unseen = walk.unseen().filter((answer) => !notWalked(answer, preset));
      assert.deepEqual(unseen, []);
    });
  });
}

/** Signs in through the walk; the client and the headers that authenticate it (Bearer or cookies). */
async function signIn(
  walk: OpenAPIWalk,
  url: string,
  username: string,
): Promise<{ client: Client; auth: Record<string, string>; login: { [key: string]: unknown } }> {
  const client = walk.client(url);
  const login = await client.post('/auth/login', { json: { username, password: PASSWORD } });
  assert.equal(login.status, 200, login.text);
  const auth: Record<string, string> =
    typeof login.json.access_token === 'string' ? { authorization: `Bearer ${login.json.access_token}` } : {};
  return { client, auth, login: login.json };
}

/** Sends requests to every route: generic refusals from the document, then each route's own answers. */
async function drive(
  server: TestServer,
  walk: OpenAPIWalk,
  preset: string,
  inbox: Inbox,
  clock: ManualClock,
): Promise<void> {
  const { url } = server;
  const cookies = preset !== 'api';
  const anonymous = walk.client(url);
  const alice = await signIn(walk, url, 'alice');
  const bob = await signIn(walk, url, 'bob');
  const as = (who: { auth: Record<string, string> }, options: RequestOptions = {}): RequestOptions => ({
    ...options,
    headers: { ...who.auth, ...options.headers },
  });
  const crossSite = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' };

  // What any route can be refused for, from the document: no credential, the wrong role, malformed or
  // oversized bodies, another media type, a cross-site request, bad parameters and queries.
  for (const [path, item] of Object.entries(walk.document.paths)) {
    // biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON
    for (const [verb, operation] of Object.entries(item as Record<string, any>)) {
      const method = verb.toUpperCase();
      const concrete = path.replace(/\{[^}]+\}/g, NO_SUCH_ID);
      // A Cookie header over its limits: refused wherever a login is read.
      await anonymous.request(method, concrete, { headers: { cookie: TOO_MANY_COOKIES } });
      if (!['/auth/login', '/auth/token'].includes(path)) await anonymous.request(method, concrete);
      if (method === 'GET') {
        await anonymous.request('HEAD', concrete);
        if (operation.parameters?.some((p: { name: string }) => p.name === 'limit')) {
          await alice.client.get(`${concrete}?limit=0`, as(alice));
        }
        if (operation.responses['403']) await bob.client.get(concrete, as(bob));
        continue;
      }
      const client = path === '/auth/token' ? anonymous : alice.client;
      const who = path === '/auth/token' ? { auth: {} } : alice;
      await client.request(
        method,
        concrete,
        as(who, { body: '{"a":', headers: { 'content-type': 'application/json' } }),
      );
      await client.request(
        method,
        concrete,
        as(who, { body: 'x', headers: { 'content-type': 'text/plain' } }),
      );
      // Content-Length given: a DELETE's body is read only then.
      const pad = JSON.stringify({ pad: 'x'.repeat(20_000) });
      const json = { 'content-type': 'application/json', 'content-length': String(pad.length) };
      await client.request(method, concrete, as(who, { body: pad, headers: json }));
      if (operation.requestBody?.required) await client.request(method, concrete, as(who, { json: {} }));
      if (path.includes('{id}') && !path.includes('/clients/')) {
        await alice.client.request(method, path.replace('{id}', 'not-an-id'), as(alice, { json: {} }));
      }
      if (operation.security?.length > 0) {
        if (path.startsWith('/auth/admin/')) await bob.client.request(method, concrete, as(bob));
      }
      // A browser's cross-site request carrying the login's cookies.
      if (cookies) await alice.client.request(method, concrete, as(alice, { headers: crossSite }));
    }
  }

  // Second factors first: later walks fail sign-ins from this address up to its throttle.
  const afterWindow = await driveMfa(server, walk, alice, as, clock);

  // Logins: success (JSON and form), wrong password (JSON and form), blocked, throttled, cross-site.
  const form = walk.client(url);
  await form.post('/auth/login', { form: { username: 'bob', password: PASSWORD } });
  await anonymous.post('/auth/login', { json: { username: 'bob', password: 'wrong-password' } });
  await anonymous.post('/auth/login', { form: { username: 'bob', password: 'wrong-password' } });
  await anonymous.post('/auth/login', { json: { username: 'bob', password: PASSWORD }, headers: crossSite });
  const carol = await server.keycard.users.findByUsername('carol');
  await alice.client.post(`/auth/admin/users/${carol?.id}/block`, as(alice));
  await anonymous.post('/auth/login', { json: { username: 'carol', password: PASSWORD } });
  await anonymous.post('/auth/login', { form: { username: 'carol', password: PASSWORD } });
  await alice.client.post(`/auth/admin/users/${carol?.id}/unblock`, as(alice, { form: {} }));
  await alice.client.post(`/auth/admin/users/${carol?.id}/block`, as(alice, { form: {} }));
  await alice.client.post(`/auth/admin/users/${carol?.id}/unblock`, as(alice));
  for (let i = 0; i < 6; i++) {
    await anonymous.post('/auth/login', { json: { username: 'dave', password: `wrong-${i}-wrong` } });
  }
  await anonymous.post('/auth/login', { form: { username: 'dave', password: 'wrong-again' } });
  // Remember me: a browser-session login (JSON, and the form with its box unticked and ticked).
  await walk
    .client(url)
    .post('/auth/login', { json: { username: 'bob', password: PASSWORD, remember: false } });
  await walk
    .client(url)
    .post('/auth/login', { form: { username: 'bob', password: PASSWORD, remember: 'true' } });
  await anonymous.post('/auth/login', { json: { username: 'bob', password: PASSWORD, remember: 'maybe' } });

  // The signed-in user's own API.
  await anonymous.get('/auth/csrf');
  await alice.client.get('/auth/me', as(alice));
  await alice.client.get('/auth/verify', as(alice));
  await alice.client.get('/auth/sessions?limit=1', as(alice));
  const second = await signIn(walk, url, 'alice');
  const third = await signIn(walk, url, 'alice');
  const secondId = (second.login.session as { id: string }).id;
  const thirdId = (third.login.session as { id: string }).id;
  await alice.client.delete(`/auth/sessions/${secondId}`, as(alice));
  await alice.client.delete(`/auth/sessions/${NO_SUCH_ID}`, as(alice));
  await alice.client.post(`/auth/sessions/${thirdId}/revoke`, as(alice, { form: {} }));
  await alice.client.post(`/auth/sessions/${NO_SUCH_ID}/revoke`, as(alice));
  const fourth = await signIn(walk, url, 'alice');
  await alice.client.post(`/auth/sessions/${(fourth.login.session as { id: string }).id}/revoke`, as(alice));
  await alice.client.post('/auth/logout-all', as(alice, { json: { keepCurrent: true } }));
  await alice.client.post('/auth/logout-all', as(alice, { form: { keepCurrent: 'on' } }));
  await alice.client.post('/auth/logout-all', as(alice, { json: { keepCurrent: 'maybe' } }));
  // A stale tab: a form post with the cookies of a login that has ended goes to the sign-in page.
  const stale = await signIn(walk, url, 'bob');
  const staleCookie = stale.client.cookieHeader() ?? '';
  await stale.client.post('/auth/logout', as(stale));
  await anonymous.post('/auth/logout-all', { form: {}, headers: { ...stale.auth, cookie: staleCookie } });

  // The user's own password: changed (JSON, then by the form), and wrong guesses up to the throttle.
  const hank = await signIn(walk, url, 'hank');
  const changed = 'a brand new passphrase';
  await hank.client.post(
    '/auth/password',
    as(hank, { json: { current_password: PASSWORD, new_password: changed } }),
  );
  await hank.client.post(
    '/auth/password',
    as(hank, { form: { current_password: changed, new_password: PASSWORD, confirm_password: PASSWORD } }),
  );
  const gina = await signIn(walk, url, 'gina');
  for (let i = 0; i < 7; i++) {
    await gina.client.post(
      '/auth/password',
      as(gina, { json: { current_password: `wrong-${i}-wrong`, new_password: changed } }),
    );
  }

  // Invitations and sign-up (by invitation here): created as JSON, by a form with an address (mailed)
  // and without (the link shown); used, refused, forged, without one.
  const invited = await alice.client.post('/auth/admin/invitations', as(alice, { json: { role: 'user' } }));
  const invitation = new URL(invited.json.invitation.link).searchParams.get('invitation') as string;
  await alice.client.post('/auth/admin/invitations', as(alice, { form: { email: 'jo@example.com' } }));
  await alice.client.post('/auth/admin/invitations', as(alice, { form: {} }));
  await anonymous.post('/auth/signup', { json: { username: 'alice', password: PASSWORD, invitation } });
  await anonymous.post('/auth/signup', { json: { username: 'jo', password: PASSWORD } });
  await walk.client(url).post('/auth/signup', { json: { username: 'jo', password: PASSWORD, invitation } });
  await anonymous.post('/auth/signup', { json: { username: 'jo2', password: PASSWORD, invitation } });
  const mailedInvitation = new URL(
    (mailTo(inbox, 'jo@example.com').at(-1)?.text ?? '').match(/https:\/\/\S+/)?.[0] ?? 'https://x.example',
  ).searchParams.get('invitation') as string;
  await walk
    .client(url)
    .post('/auth/signup', { form: { username: 'kay', password: PASSWORD, invitation: mailedInvitation } });
  await anonymous.post('/auth/signup', {
    form: { username: 'kay', password: PASSWORD, invitation: mailedInvitation },
  });

  // Email addresses and mailed links: set (JSON and form), refused, verified; forgot and reset.
  const ivy = await signIn(walk, url, 'ivy');
  const mailed = async (address: string, path: string) => {
    await server.keycard.accounts.settled();
    return linkToken(mailTo(inbox, address).at(-1) as never, path);
  };
  await ivy.client.post('/auth/email/verification', as(ivy));
  await ivy.client.post(
    '/auth/email',
    as(ivy, { json: { email: 'ivy@example.com', current_password: PASSWORD } }),
  );
  await ivy.client.post(
    '/auth/email',
    as(ivy, { json: { email: 'ivy@example.com', current_password: 'wrong' } }),
  );
  await hank.client.post(
    '/auth/email',
    as(hank, { json: { email: 'ivy@example.com', current_password: PASSWORD } }),
  );
  await anonymous.post('/auth/email/verify', {
    json: { token: await mailed('ivy@example.com', '/verify-email') },
  });
  await ivy.client.post(
    '/auth/email',
    as(ivy, { form: { email: 'ivy2@example.com', current_password: PASSWORD } }),
  );
  await anonymous.post('/auth/email/verify', {
    form: { token: await mailed('ivy2@example.com', '/verify-email') },
  });
  await ivy.client.post(
    '/auth/email',
    as(ivy, { json: { email: 'ivy3@example.com', current_password: PASSWORD } }),
  );
  await ivy.client.post('/auth/email/verification', as(ivy, { form: {} }));
  for (let i = 0; i < 5; i++) await ivy.client.post('/auth/email/verification', as(ivy));
  await anonymous.post('/auth/password/forgot', { json: { email: 'ivy3@example.com' } });
  await anonymous.post('/auth/password/reset', {
    json: { token: await mailed('ivy3@example.com', '/reset-password'), new_password: PASSWORD },
  });
  await anonymous.post('/auth/password/forgot', { form: { email: 'ivy3@example.com' } });
  await anonymous.post('/auth/password/reset', {
    form: { token: await mailed('ivy3@example.com', '/reset-password'), new_password: 'another passphrase' },
  });
  await anonymous.post('/auth/password/forgot', { json: { email: 'ivy3@example.com' } });
  await anonymous.post('/auth/password/forgot', { json: { email: 'ivy3@example.com' } });
  const unusable = `${'A'.repeat(42)}A`;
  await anonymous.post('/auth/email/verify', { json: { token: unusable } });
  await anonymous.post('/auth/email/verify', { form: { token: unusable } });
  for (let i = 0; i < 20; i++)
    await anonymous.post('/auth/password/reset', { json: { token: unusable, new_password: PASSWORD } });
  await anonymous.post('/auth/email/verify', { json: { token: unusable } });
  await anonymous.post('/auth/signup', {
    json: { username: 'late', password: PASSWORD, invitation: unusable },
  });
  for (let i = 0; i < 7; i++) {
    await gina.client.post(
      '/auth/email',
      as(gina, { json: { email: 'gina@example.com', current_password: `wrong-${i}` } }),
    );
  }

  // An admin's reset link: sent (JSON and form), and refused for an account without an address.
  const ivyUser = await server.keycard.users.findByUsername('ivy');
  const bobUser = await server.keycard.users.findByUsername('bob');
  await alice.client.post(`/auth/admin/users/${ivyUser?.id}/reset-link`, as(alice));
  await alice.client.post(`/auth/admin/users/${ivyUser?.id}/reset-link`, as(alice, { form: {} }));
  await alice.client.post(`/auth/admin/users/${bobUser?.id}/reset-link`, as(alice));
  await alice.client.post(`/auth/admin/users/${NO_SUCH_ID}/reset-link`, as(alice));
  await alice.client.request(
    'PATCH',
    `/auth/admin/users/${bobUser?.id}`,
    as(alice, { json: { email: 'ivy3@example.com' } }),
  );
  await alice.client.request(
    'PATCH',
    `/auth/admin/users/${bobUser?.id}`,
    as(alice, { json: { email: 'bob@example.com' } }),
  );
  // One user's page, and ending their logins from it.
  await alice.client.get(`/admin/users/${bobUser?.id}`, as(alice, { headers: { accept: 'text/html' } }));
  await alice.client.get(`/admin/users/${NO_SUCH_ID}`, as(alice, { headers: { accept: 'text/html' } }));
  await alice.client.post(`/auth/admin/users/${bobUser?.id}/sessions/revoke`, as(alice));
  await alice.client.post(`/auth/admin/users/${bobUser?.id}/sessions/revoke`, as(alice, { form: {} }));
  await alice.client.post(`/auth/admin/users/${NO_SUCH_ID}/sessions/revoke`, as(alice));
  await server.keycard.users.create({ username: 'mia', password: PASSWORD, email: 'mia@example.com' });
  const mia = await server.keycard.users.findByUsername('mia');
  await server.keycard.users.block(mia?.id as string);
  await alice.client.post(`/auth/admin/users/${mia?.id}/reset-link`, as(alice));

  // Refresh: with a token presented (cookie or body), and with a bad one.
  await anonymous.post('/auth/refresh', { json: { refresh_token: 'not-a-refresh-token' } });
  await anonymous.post('/auth/refresh');
  if (preset !== 'web-app') {
    const refresher = await signIn(walk, url, 'bob');
    await refresher.client.post(
      '/auth/refresh',
      cookies ? {} : { json: { refresh_token: refresher.login.refresh_token } },
    );
  }

  // Admin: users and API clients.
  await alice.client.get('/auth/admin/users?limit=2', as(alice));
  await alice.client.post('/auth/admin/users', as(alice, { json: { username: 'erin', password: PASSWORD } }));
  await alice.client.post('/auth/admin/users', as(alice, { json: { username: 'erin', password: PASSWORD } }));
  await alice.client.post(
    '/auth/admin/users',
    as(alice, { form: { username: 'frank', password: PASSWORD } }),
  );
  await alice.client.post(`/auth/admin/users/${NO_SUCH_ID}/block`, as(alice));
  await alice.client.post(`/auth/admin/users/${NO_SUCH_ID}/unblock`, as(alice));
  // Search, role, password, one user's logins, delete (issue 17).
  await alice.client.get('/auth/admin/users?q=Ca&limit=5', as(alice));
  await alice.client.get(`/auth/admin/users?q=${encodeURIComponent('no space')}`, as(alice));
  const aliceId = (alice.login.user as { id: string }).id;
  const idOf = async (username: string) =>
    (await server.keycard.users.findByUsername(username))?.id as string;
  const ivan = await idOf('ivan');
  await alice.client.patch(`/auth/admin/users/${ivan}`, as(alice, { json: { role: 'admin' } }));
  await alice.client.post(`/auth/admin/users/${ivan}/role`, as(alice, { form: { role: 'user' } }));
  await alice.client.patch(`/auth/admin/users/${ivan}`, as(alice, { json: { role: 'root' } }));
  await alice.client.post(`/auth/admin/users/${ivan}/role`, as(alice, { json: { role: 'admin' } }));
  await alice.client.post(`/auth/admin/users/${ivan}/role`, as(alice, { json: { role: 'root' } }));
  await alice.client.patch(`/auth/admin/users/${NO_SUCH_ID}`, as(alice, { json: { role: 'user' } }));
  await alice.client.post(`/auth/admin/users/${NO_SUCH_ID}/role`, as(alice, { json: { role: 'user' } }));
  const jane = await signIn(walk, url, 'jane');
  const janeId = (jane.login.user as { id: string }).id;
  await alice.client.get(`/auth/admin/users/${janeId}/sessions?limit=1`, as(alice));
  await alice.client.get(`/auth/admin/users/${NO_SUCH_ID}/sessions`, as(alice));
  await alice.client.delete(`/auth/admin/users/${janeId}/sessions`, as(alice));
  await alice.client.delete(`/auth/admin/users/${NO_SUCH_ID}/sessions`, as(alice));
  const temporary = 'a temporary passphrase';
  await alice.client.post(
    `/auth/admin/users/${janeId}/password`,
    as(alice, { json: { password: temporary } }),
  );
  await alice.client.post(
    `/auth/admin/users/${janeId}/password`,
    as(alice, { form: { password: temporary } }),
  );
  await alice.client.post(`/auth/admin/users/${janeId}/password`, as(alice, { json: { password: 'short' } }));
  await alice.client.post(
    `/auth/admin/users/${NO_SUCH_ID}/password`,
    as(alice, { json: { password: temporary } }),
  );
  await alice.client.delete(`/auth/admin/users/${aliceId}`, as(alice));
  await alice.client.post(`/auth/admin/users/${aliceId}/delete`, as(alice));
  await alice.client.delete(`/auth/admin/users/${janeId}`, as(alice));
  await alice.client.delete(`/auth/admin/users/${janeId}`, as(alice));
  const kate = await idOf('kate');
  await alice.client.post(`/auth/admin/users/${kate}/delete`, as(alice, { form: {} }));
  await alice.client.post(`/auth/admin/users/${kate}/delete`, as(alice));
  await alice.client.post(`/auth/admin/users/${await idOf('liam')}/delete`, as(alice));
  // The audit log: filtered, and a second page.
  const audit = await alice.client.get('/auth/admin/audit?limit=1&type=user_deleted,role_changed', as(alice));
  await alice.client.get(`/auth/admin/audit?limit=1&before=${audit.json.next}`, as(alice));
  await alice.client.get(`/auth/admin/audit?user=${ivan}&since=2020-01-01T00:00:00Z`, as(alice));
  await alice.client.get('/auth/admin/audit?since=2026-13-01T00:00:00Z', as(alice));
  const created = await alice.client.post(
    '/auth/admin/clients',
    as(alice, { json: { name: 'billing', scopes: ['orders:read'] } }),
  );
  const clientId = created.json.client.client_id as string;
  const secret = created.json.client_secret as string;
  await alice.client.get('/auth/admin/clients', as(alice));
  const basic = (value: string) => ({
    authorization: `Basic ${Buffer.from(`${clientId}:${value}`).toString('base64')}`,
  });
  await anonymous.post('/auth/token', { form: { grant_type: 'client_credentials' }, headers: basic(secret) });
  await anonymous.post('/auth/token', { form: { grant_type: 'password' }, headers: basic(secret) });
  for (let i = 0; i < 12; i++) {
    await anonymous.post('/auth/token', {
      form: { grant_type: 'client_credentials' },
      headers: basic('wrong'),
    });
  }
  await alice.client.post(
    `/auth/admin/clients/${clientId}/rotate-secret`,
    as(alice, { json: { overlap: '1m' } }),
  );
  await alice.client.post(`/auth/admin/clients/${clientId}/disable`, as(alice));
  await alice.client.post(`/auth/admin/clients/${clientId}/enable`, as(alice));
  await alice.client.delete(`/auth/admin/clients/${clientId}`, as(alice));
  await alice.client.delete(`/auth/admin/clients/${clientId}`, as(alice));
  for (const action of ['rotate-secret', 'disable', 'enable']) {
    await alice.client.post(`/auth/admin/clients/${clientId}/${action}`, as(alice));
  }

  // Passkeys: the options of each ceremony, and responses that answer no challenge issued. A response
  // that verifies needs an authenticator: test/browser/passkeys.test.ts makes them in Chromium.
  await alice.client.post('/auth/mfa/passkeys/options', as(alice));
  const unissued = {
    id: 'AAAA',
    rawId: 'AAAA',
    type: 'public-key',
    response: {
      clientDataJSON: Buffer.from(
        JSON.stringify({ challenge: 'A'.repeat(43), type: 'webauthn.get' }),
      ).toString('base64url'),
    },
  };
  await alice.client.post('/auth/mfa/passkeys', as(alice, { json: { response: unissued } }));
  await anonymous.post('/auth/passkey/options', { json: {} });
  await anonymous.post('/auth/passkey/options', { json: { mfa_token: 'A'.repeat(43) } });
  await anonymous.post('/auth/passkey/options', { json: {}, headers: crossSite });
  await anonymous.post('/auth/login/passkey', { json: { response: unissued } });
  await anonymous.post('/auth/login/passkey', { json: { response: unissued }, headers: crossSite });

  // The server's own routes and the pages.
  await anonymous.get('/assets/webauthn.js');
  await anonymous.get('/assets/keycard-passkeys.js');
  const script = await anonymous.get('/auth/client.js');
  await anonymous.get('/auth/client.js', { headers: { 'if-none-match': String(script.headers.etag) } });
  const html = { accept: 'text/html' };
  for (const page of [
    '/',
    '/login',
    '/account',
    '/admin',
    '/forgot-password',
    '/reset-password',
    '/verify-email',
    '/signup',
    '/admin/audit',
  ]) {
    await anonymous.get(page, { headers: html });
    await alice.client.get(page, as(alice, { headers: html }));
  }
  await bob.client.get('/admin', as(bob, { headers: html }));
  await bob.client.get('/admin/audit', as(bob, { headers: html }));
  await alice.client.get(
    '/admin/audit?type=user_deleted&since=2026-13-01T00:00:00Z',
    as(alice, { headers: html }),
  );
  await alice.client.get('/admin/audit?limit=0', as(alice, { headers: html }));
  await alice.client.get('/account?limit=0', as(alice, { headers: html }));
  // The sign-in page after a refused form post (PRG), and with a query it refuses.
  await anonymous.get('/login?error=too_many_requests&username=dave&retry=60', { headers: html });
  await anonymous.get('/login?retry=soon', { headers: html });
  await alice.client.get('/admin?limit=0', as(alice, { headers: html }));
  await alice.client.get(`/step-up?then=${'/a'.repeat(300)}`, as(alice, { headers: html }));
  await alice.client.post('/auth/logout', as(alice));
  await form.post('/auth/logout', { form: {} });
  // Last, as it moves the clock past the step-up window of every login.
  clock.advanceSeconds(11 * 60);
  await afterWindow();
}

type SignedIn = Awaited<ReturnType<typeof signIn>>;

/**
 * Second factors (docs/mfa.md): enrolment, the sign-in's second step, step-up, removal and the admin's
 * reset, as JSON and as forms, with their refusals. The server's clock is real: an app code is for this
 * 30 s step or the next (each accepted once), so most proofs here are recovery codes.
 */
async function driveMfa(
  server: TestServer,
  walk: OpenAPIWalk,
  alice: SignedIn,
  as: (who: { auth: Record<string, string> }, options?: RequestOptions) => RequestOptions,
  clock: ManualClock,
): Promise<() => Promise<void>> {
  const { url } = server;
  const html = { accept: 'text/html' };
  const code = (secret: string, steps = 0) =>
    generateSync({ secret, epoch: Math.floor(clock.now() / 1000) + steps * 30 });
  for (const username of ['nia', 'omar', 'pia', 'quinn'])
    await server.keycard.users.create({ username, password: PASSWORD });

  // JSON: an app added (a wrong first code, the right one), listed, step-up, new recovery codes.
  const nia = await signIn(walk, url, 'nia');
  await nia.client.get('/step-up', as(nia, { headers: html }));
  const started = await nia.client.post('/auth/mfa/totp', as(nia, { json: { name: 'Phone' } }));
  const secret = started.json.secret as string;
  await nia.client.post('/auth/mfa/totp/confirm', as(nia, { json: { code: 'abcdef' } }));
  const confirmed = await nia.client.post(
    '/auth/mfa/totp/confirm',
    as(nia, { json: { code: code(secret) } }),
  );
  let recovery = confirmed.json.recovery_codes as string[];
  await nia.client.get('/auth/mfa', as(nia));
  await nia.client.post('/auth/mfa/step-up', as(nia, { json: { code: recovery.pop() } }));
  // biome-ignore lint/suspicious/noThenProperty: the form field's name
  const back = { then: '/account' };
  await nia.client.post('/auth/mfa/step-up', as(nia, { form: { code: recovery.pop() as string, ...back } }));
  await nia.client.post('/auth/mfa/step-up', as(nia, { form: { code: 'wrong-code', ...back } }));
  recovery = (await nia.client.post('/auth/mfa/recovery-codes', as(nia))).json.recovery_codes;
  await nia.client.post('/auth/mfa/recovery-codes', as(nia, { form: {} }));
  recovery = (await nia.client.post('/auth/mfa/recovery-codes', as(nia))).json.recovery_codes;
  await nia.client.delete(`/auth/mfa/factors/${NO_SUCH_ID}`, as(nia));
  await nia.client.post(`/auth/mfa/factors/${NO_SUCH_ID}/delete`, as(nia));

  // The sign-in's second step: JSON (a wrong code, a recovery code) and the form (the same, and a used token).
  const pending = async (client = walk.client(url)) => {
    const first = await client.post('/auth/login', { json: { username: 'nia', password: PASSWORD } });
    return { client, token: first.json.mfa_token as string };
  };
  const json = await pending();
  await json.client.post('/auth/login/mfa', { json: { mfa_token: json.token, code: '000000' } });
  await json.client.post('/auth/login/mfa', { json: { mfa_token: json.token, code: recovery.pop() } });
  const form = walk.client(url);
  const page = await form.post('/auth/login', { form: { username: 'nia', password: PASSWORD } });
  const token = /name="mfa_token" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
  await form.post('/auth/login/mfa', { form: { mfa_token: token, code: '000000' } });
  await form.post('/auth/login/mfa', { form: { mfa_token: token, code: recovery.pop() as string } });
  await form.post('/auth/login/mfa', { form: { mfa_token: token, code: recovery.pop() as string } });

  // A second app by the forms (its QR page, a wrong code, the right one: no new recovery codes), both
  // removed (JSON, then the form), a third one removed by the POST twin as JSON.
  await nia.client.post('/auth/mfa/totp', as(nia, { form: { name: 'Tablet' } }));
  const second = await nia.client.post('/auth/mfa/totp', as(nia, { json: { name: 'Tablet' } }));
  await nia.client.post('/auth/mfa/totp/confirm', as(nia, { form: { code: 'abcdef' } }));
  await nia.client.post('/auth/mfa/totp/confirm', as(nia, { form: { code: code(second.json.secret, 1) } }));
  const factors = (await nia.client.get('/auth/mfa', as(nia))).json.factors as { id: string; kind: string }[];
  const apps = factors.filter((factor) => factor.kind === 'totp');
  await nia.client.delete(`/auth/mfa/factors/${apps[0]?.id}`, as(nia));
  await nia.client.post(`/auth/mfa/factors/${apps[1]?.id}/delete`, as(nia, { form: {} }));
  const third = await nia.client.post('/auth/mfa/totp', as(nia, { json: {} }));
  await nia.client.post('/auth/mfa/totp/confirm', as(nia, { json: { code: code(third.json.secret) } }));
  const thirdId = (await nia.client.get('/auth/mfa', as(nia))).json.factors.find(
    (factor: { kind: string }) => factor.kind === 'totp',
  )?.id;
  await nia.client.post(`/auth/mfa/factors/${thirdId}/delete`, as(nia));
  await nia.client.post('/auth/mfa/totp/confirm', as(nia, { json: { code: '123456' } }));

  // Wrong codes up to the user's second-factor throttle: confirming, the second step, step-up.
  const omar = await signIn(walk, url, 'omar');
  const omarApp = await omar.client.post('/auth/mfa/totp', as(omar, { json: {} }));
  for (let i = 0; i < 11; i++)
    await omar.client.post('/auth/mfa/totp/confirm', as(omar, { json: { code: 'abcdef' } }));
  const pia = await signIn(walk, url, 'pia');
  const piaApp = await pia.client.post('/auth/mfa/totp', as(pia, { json: {} }));
  const piaCodes = (
    await pia.client.post('/auth/mfa/totp/confirm', as(pia, { json: { code: code(piaApp.json.secret) } }))
  ).json.recovery_codes as string[];
  for (let i = 0; i < 3; i++) {
    const again = await pending();
    again.token = (
      await again.client.post('/auth/login', { json: { username: 'pia', password: PASSWORD } })
    ).json.mfa_token;
    for (let j = 0; j < 5; j++)
      await again.client.post('/auth/login/mfa', { json: { mfa_token: again.token, code: '000000' } });
  }
  await pia.client.post('/auth/mfa/step-up', as(pia, { json: { code: piaCodes[0] } }));
  void omarApp;

  // The admin's reset: JSON and the form, and no such user.
  const niaId = (nia.login.user as { id: string }).id;
  const piaId = (pia.login.user as { id: string }).id;
  await alice.client.get(`/admin/users/${niaId}`, as(alice, { headers: html }));
  await alice.client.delete(`/auth/admin/users/${niaId}/factors`, as(alice));
  await alice.client.post(`/auth/admin/users/${piaId}/factors/reset`, as(alice, { form: {} }));
  await alice.client.post(`/auth/admin/users/${piaId}/factors/reset`, as(alice));
  await alice.client.delete(`/auth/admin/users/${NO_SUCH_ID}/factors`, as(alice));
  await alice.client.post(`/auth/admin/users/${NO_SUCH_ID}/factors/reset`, as(alice));

  // Past the step-up window (the caller moves the clock): every sensitive route refuses quinn.
  const quinn = await signIn(walk, url, 'quinn');
  const quinnApp = await quinn.client.post('/auth/mfa/totp', as(quinn, { json: {} }));
  await quinn.client.post(
    '/auth/mfa/totp/confirm',
    as(quinn, { json: { code: code(quinnApp.json.secret) } }),
  );
  const quinnFactor = (await quinn.client.get('/auth/mfa', as(quinn))).json.factors[0]?.id as string;
  return async () => {
    const refused = (method: string, path: string, body?: Record<string, unknown>) =>
      quinn.client.request(method, path, as(quinn, body ? { json: body } : {}));
    await refused('POST', '/auth/password', { current_password: PASSWORD, new_password: 'a new passphrase' });
    await refused('POST', '/auth/email', { email: 'quinn@example.com', current_password: PASSWORD });
    await refused('POST', '/auth/mfa/totp');
    await refused('POST', '/auth/mfa/totp/confirm', { code: '123456' });
    await refused('DELETE', `/auth/mfa/factors/${quinnFactor}`);
    await refused('POST', `/auth/mfa/factors/${quinnFactor}/delete`);
    await refused('POST', '/auth/mfa/recovery-codes');
  };
}
