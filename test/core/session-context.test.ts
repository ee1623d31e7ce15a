import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import type { AuthContext } from '../../src/core/auth/context.js';
import type { AuthEvent } from '../../src/core/events.js';
import { createKeycard, type Keycard } from '../../src/core/keycard.js';
import type { KeycardOptions } from '../../src/core/options.js';
import { generateId, generateToken, hashToken } from '../../src/core/random-tokens.js';
import type { Store, UserRecord } from '../../src/core/store.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { ManualClock } from '../helpers/clock.js';
import { type CountingStore, countingStore } from '../helpers/counting-store.js';
import { parseSetCookie } from '../helpers/http.js';
import {
  expectKeycardError,
  FAST_ARGON2,
  outcome,
  type RequestSpec,
  rejected,
  requestInfo,
} from './support.js';

/** A login's data as the app wrote it: without the record of how it signed in (logins/authentication.ts). */
function appData(
  login: { data: Record<string, unknown> } | null | undefined,
): Record<string, unknown> | undefined {
  if (!login) return undefined;
  const { keycard_auth: _authentication, ...data } = login.data;
  return data;
}

const COOKIE = '__Host-keycard_session';
const PASSWORD = 'correct horse battery staple';

interface Harness {
  keycard: Keycard;
  clock: ManualClock;
  store: MemoryStore;
  counting: CountingStore;
  events: AuthEvent[];
  /** A request to the app on https://app.example; the cookies it was sent back are in `setCookies`. */
  request(spec?: RequestSpec & { cookie?: string }): Promise<{ context: AuthContext; setCookies: string[] }>;
}

function harness(options: Partial<KeycardOptions> = {}, wrap?: (store: Store) => Store): Harness {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock });
  const counting = countingStore(wrap ? wrap(store) : store);
  const events: AuthEvent[] = [];
  const keycard = createKeycard({
    store: counting.store,
    clock,
    environment: 'development',
    passwords: { argon2: FAST_ARGON2 },
    onEvent: (event) => events.push(event),
    ...options,
  });
  return {
    keycard,
    clock,
    store,
    counting,
    events,
    async request(spec = {}) {
      const setCookies: string[] = [];
      const headers: Record<string, string | undefined> = {
        host: 'app.example',
        'user-agent': 'TestAgent/1.0',
        ...spec.headers,
      };
      if (spec.cookie !== undefined) headers.cookie = spec.cookie;
      const context = await keycard.authenticate(requestInfo({ ...spec, headers }), (header) =>
        setCookies.push(header),
      );
      return { context, setCookies };
    },
  };
}

/** The one Set-Cookie a step produced, parsed. */
function onlyCookie(setCookies: string[]): ReturnType<typeof parseSetCookie> {
  assert.equal(setCookies.length, 1, `expected one Set-Cookie, got ${JSON.stringify(setCookies)}`);
  return parseSetCookie(setCookies[0] ?? '');
}

function assertCleared(setCookies: string[], name = COOKIE): void {
  const cookie = onlyCookie(setCookies);
  assert.equal(cookie.name, name);
  assert.equal(cookie.value, '');
  assert.equal(cookie.attributes.get('max-age'), '0');
  assert.equal(cookie.attributes.get('path'), '/');
}

async function addUser(h: Harness, username = 'alice', password = PASSWORD): Promise<UserRecord> {
  return h.keycard.users.create({ username, password });
}

/** Signs in on a fresh request and returns the session token from the cookie. */
async function signedIn(h: Harness, username = 'alice'): Promise<{ token: string; user: UserRecord }> {
  const user = (await h.keycard.users.findByUsername(username)) ?? (await addUser(h, username));
  const { context, setCookies } = await h.request({ method: 'POST' });
  const result = await h.keycard.signIn(context, { username, password: PASSWORD });
  assert.ok(result.ok);
  return { token: onlyCookie(setCookies).value, user };
}

describe('AuthContext.load', () => {
  test('without a cookie: anonymous, no Set-Cookie, no store access', async () => {
    const h = harness();
    const { context, setCookies } = await h.request();
    assert.equal(context.user, null);
    assert.equal(context.loginRecord, null);
    assert.equal(context.problem, null);
    assert.deepEqual(setCookies, []);
    assert.equal(h.counting.reads() + h.counting.writes(), 0);
  });

  test('with a garbage cookie: problem malformed, the cookie cleared, zero store reads or writes', async () => {
    const h = harness();
    const { context, setCookies } = await h.request({ cookie: `${COOKIE}=garbage` });
    assert.equal(context.problem, 'malformed');
    assert.equal(context.user, null);
    assertCleared(setCookies);
    assert.equal(h.counting.reads(), 0);
    assert.equal(h.counting.writes(), 0);
  });

  test('with a well-formed token never issued: problem unknown, cleared, one read, no write', async () => {
    const h = harness();
    const { context, setCookies } = await h.request({ cookie: `${COOKIE}=${generateToken()}` });
    assert.equal(context.problem, 'unknown');
    assertCleared(setCookies);
    assert.equal(h.counting.reads(), 1);
    assert.equal(h.counting.writes(), 0);
  });

  test('with an expired session: problem expired and cleared', async () => {
    const h = harness();
    const { token } = await signedIn(h);
    h.clock.advance(h.keycard.options.session.idleTimeoutMs);
    const { context, setCookies } = await h.request({ cookie: `${COOKIE}=${token}` });
    assert.equal(context.problem, 'expired');
    assert.equal(context.user, null);
    assertCleared(setCookies);
  });

  test('with our cookie twice: problem duplicate_cookie, cleared, no store read, even if both are valid', async () => {
    const h = harness();
    const first = await signedIn(h, 'alice');
    const second = await signedIn(h, 'bob');
    h.counting.reset();
    const { context, setCookies } = await h.request({
      cookie: `${COOKIE}=${first.token}; other=1; ${COOKIE}=${second.token}`,
    });
    assert.equal(context.problem, 'duplicate_cookie');
    assert.equal(context.user, null);
    assert.equal(context.loginRecord, null);
    assertCleared(setCookies);
    assert.equal(h.counting.reads() + h.counting.writes(), 0);
  });

  test('does not read an unprefixed cookie over https, where only __Host- can be trusted', async () => {
    const h = harness();
    const { token } = await signedIn(h);
    const { context, setCookies } = await h.request({ cookie: `keycard_session=${token}` });
    assert.equal(context.user, null);
    assert.equal(context.problem, null);
    assert.deepEqual(setCookies, []);
  });

  test('with a valid cookie: the user, the session and its data, in one read', async () => {
    const h = harness();
    const { token, user } = await signedIn(h);
    const first = await h.request({ cookie: `${COOKIE}=${token}` });
    first.context.data.theme = 'dark';
    await first.context.commit();
    h.counting.reset();
    const { context, setCookies } = await h.request({ cookie: `${COOKIE}=${token}` });
    assert.deepEqual(context.user, { id: user.id, username: 'alice', role: 'user' });
    assert.equal(context.loginRecord?.id, hashToken(token));
    assert.equal(context.data.id, hashToken(token));
    assert.equal(context.data.theme, 'dark');
    assert.deepEqual(Object.keys(context.data), ['theme']);
    assert.deepEqual(setCookies, []);
    assert.equal(h.counting.reads(), 1);
    assert.equal(h.counting.writes(), 0);
  });
});

describe('AuthContext.login', () => {
  const user = { id: 'user-1', username: 'alice', role: 'user' };

  test('issues a fresh token even when the request carried a valid one, and destroys the old session', async () => {
    const h = harness();
    const anonymous = await h.request();
    anonymous.context.data.cart = [1, 2];
    await anonymous.context.commit();
    const planted = onlyCookie(anonymous.setCookies).value;

    const { context, setCookies } = await h.request({ method: 'POST', cookie: `${COOKIE}=${planted}` });
    assert.equal(context.loginRecord?.id, hashToken(planted));
    const session = await context.login(user);
    const issued = onlyCookie(setCookies);
    assert.equal(issued.name, COOKIE);
    assert.notEqual(issued.value, planted);
    assert.equal(session.id, hashToken(issued.value));
    assert.equal(await h.store.getLogin(hashToken(planted)), null, 'the pre-login session is gone');
    assert.deepEqual((await h.keycard.logins.validate(planted)).ok, false);
    assert.deepEqual(context.user, user);
    assert.deepEqual(context.data.cart, [1, 2], 'data is carried over by default');
    assert.deepEqual(appData(await h.store.getLogin(session.id)), { cart: [1, 2] });
  });

  test('issues a fresh token when an authenticated session signs in again', async () => {
    const h = harness();
    const { token } = await signedIn(h);
    const { context, setCookies } = await h.request({ method: 'POST', cookie: `${COOKIE}=${token}` });
    await context.login(user);
    assert.notEqual(onlyCookie(setCookies).value, token);
    assert.equal(await h.store.getLogin(hashToken(token)), null);
  });

  test('starts with empty data when keepData is false', async () => {
    const h = harness();
    const anonymous = await h.request();
    anonymous.context.data.cart = [1];
    await anonymous.context.commit();
    const planted = onlyCookie(anonymous.setCookies).value;
    const { context } = await h.request({ method: 'POST', cookie: `${COOKIE}=${planted}` });
    const session = await context.login(user, { keepData: false });
    assert.deepEqual(Object.keys(context.data), []);
    assert.deepEqual(appData(await h.store.getLogin(session.id)), {});
  });

  test('never carries another user’s session data into a login', async () => {
    const h = harness();
    const { token } = await signedIn(h, 'bob');
    const bobs = await h.request({ method: 'POST', cookie: `${COOKIE}=${token}` });
    bobs.context.data.secret = 'bob-only';
    await bobs.context.commit();
    const { context } = await h.request({ method: 'POST', cookie: `${COOKIE}=${token}` });
    const session = await context.login(user);
    assert.deepEqual(Object.keys(context.data), []);
    assert.deepEqual(appData(await h.store.getLogin(session.id)), {});
  });

  test('carries the same user’s data into a new login', async () => {
    const h = harness();
    const first = await h.request({ method: 'POST' });
    await first.context.login(user);
    first.context.data.theme = 'dark';
    await first.context.commit();
    const token = onlyCookie(first.setCookies.slice(-1)).value;
    const { context } = await h.request({ method: 'POST', cookie: `${COOKIE}=${token}` });
    const session = await context.login(user);
    assert.deepEqual(appData(await h.store.getLogin(session.id)), { theme: 'dark' });
  });

  test('refuses a cross-site login unless allowCrossSite is set (e.g. an OIDC form_post callback)', async () => {
    const h = harness();
    const { context, setCookies } = await h.request({
      method: 'POST',
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expectKeycardError(await rejected(() => context.login(user)), 'cross_site_request');
    assert.equal(setCookies.length, 0);
    assert.equal(h.store.size, 0);
    await context.login(user, { allowCrossSite: true });
    assert.equal(h.store.size, 1);
  });

  test('emits login_succeeded with the hashed session id, never the token', async () => {
    const h = harness();
    const { context, setCookies } = await h.request({ method: 'POST' });
    const session = await context.login(user);
    const token = onlyCookie(setCookies).value;
    const event = h.events.find((e) => e.type === 'login_succeeded');
    assert.deepEqual(event, {
      type: 'login_succeeded',
      userId: 'user-1',
      sessionId: session.id,
      ip: '203.0.113.7',
      userAgent: 'TestAgent/1.0',
    });
    assert.equal(JSON.stringify(h.events).includes(token), false);
  });
});

describe('AuthContext.logout and regenerate', () => {
  test('logout deletes the record and clears the cookie with the same name and path', async () => {
    const h = harness();
    const { token, user } = await signedIn(h);
    const { context, setCookies } = await h.request({ method: 'POST', cookie: `${COOKIE}=${token}` });
    assert.equal(await context.logout(), true);
    assertCleared(setCookies);
    assert.equal(context.user, null);
    assert.equal(context.loginRecord, null);
    assert.equal(await h.store.getLogin(hashToken(token)), null);
    assert.deepEqual(await h.keycard.logins.listForUser(user.id), []);
    assert.ok(h.events.some((e) => e.type === 'logout' && e.userId === user.id));
  });

  test('logout with a configured domain clears the __Secure- cookie with the same Domain', async () => {
    const h = harness({ cookie: { domain: 'app.example' } });
    const { context, setCookies } = await h.request({ method: 'POST' });
    await context.login({ id: 'u', username: 'u', role: 'user' });
    const issued = onlyCookie(setCookies);
    const out = await h.request({ method: 'POST', cookie: `__Secure-keycard_session=${issued.value}` });
    assert.ok(out.context.user);
    await out.context.logout();
    assertCleared(out.setCookies, '__Secure-keycard_session');
    assert.equal(onlyCookie(out.setCookies).attributes.get('domain'), 'app.example');
  });

  test('logout without a session still clears the cookie and reports false', async () => {
    const h = harness();
    const { context, setCookies } = await h.request({ method: 'POST' });
    assert.equal(await context.logout(), false);
    assertCleared(setCookies);
  });

  test('regenerate moves the session to a fresh token, keeping user and data', async () => {
    const h = harness();
    const { token, user } = await signedIn(h);
    const first = await h.request({ cookie: `${COOKIE}=${token}` });
    first.context.data.step = 2;
    await first.context.commit();
    const { context, setCookies } = await h.request({ method: 'POST', cookie: `${COOKIE}=${token}` });
    await context.regenerate();
    const fresh = onlyCookie(setCookies).value;
    assert.notEqual(fresh, token);
    assert.equal(await h.store.getLogin(hashToken(token)), null);
    const stored = await h.store.getLogin(hashToken(fresh));
    assert.equal(stored?.user?.id, user.id);
    assert.deepEqual(appData(stored), { step: 2 });
  });
});

describe('AuthContext.commit', () => {
  test('creates no session for an anonymous request that wrote no data', async () => {
    const h = harness();
    const { context, setCookies } = await h.request();
    await context.commit();
    assert.deepEqual(setCookies, []);
    assert.equal(h.counting.writes(), 0);
    assert.equal(h.store.size, 0);
  });

  test('ignores undefined and functions written to an anonymous request', async () => {
    const h = harness();
    const { context, setCookies } = await h.request();
    context.data.nothing = undefined;
    context.data.fn = () => 1;
    await context.commit();
    assert.deepEqual(setCookies, []);
    assert.equal(h.store.size, 0);
  });

  test('creates an anonymous session when data was written, with one write', async () => {
    const h = harness();
    const { context, setCookies } = await h.request();
    context.data.cart = ['apple'];
    await context.commit();
    assert.equal(h.counting.writes(), 1);
    assert.equal(h.counting.counts.get('createLogin'), 1);
    const token = onlyCookie(setCookies).value;
    const next = await h.request({ cookie: `${COOKIE}=${token}` });
    assert.equal(next.context.user, null);
    assert.deepEqual(next.context.data.cart, ['apple']);
  });

  test('writes nothing for an authenticated request that changed nothing before the touch is due', async () => {
    const h = harness();
    const { token } = await signedIn(h);
    h.counting.reset();
    const { context } = await h.request({ cookie: `${COOKIE}=${token}` });
    await context.commit();
    assert.equal(h.counting.writes(), 0);
  });

  test('writes one patch for a changed key, and nothing on a second commit', async () => {
    const h = harness();
    const { token } = await signedIn(h);
    h.counting.reset();
    const { context } = await h.request({ cookie: `${COOKIE}=${token}` });
    context.data.theme = 'dark';
    await context.commit();
    assert.equal(h.counting.writes(), 1);
    assert.equal(h.counting.counts.get('patchLoginData'), 1);
    await context.commit();
    assert.equal(h.counting.writes(), 1);
  });

  test('refuses a data key that would hide a method of the session object, and saves nothing', async () => {
    const h = harness();
    const { context } = await h.request({ method: 'POST' });
    await context.login({ id: 'user-1', username: 'alice', role: 'user' });
    for (const key of ['save', 'destroy', 'regenerate', 'reload']) {
      Object.defineProperty(context.data, key, {
        value: 'x',
        enumerable: true,
        configurable: true,
        writable: true,
      });
      expectKeycardError(await rejected(async () => context.commit()), 'internal_error');
      assert.equal(typeof context.data.save, 'function', 'the change was dropped');
    }
    assert.deepEqual(appData(await h.store.getLogin(context.loginRecord?.id ?? '')), {});
    assert.throws(() => {
      (context.data as Record<string, unknown>).save = 'x';
    }, TypeError);
  });

  test('data nobody looked at is not copied, and not lost: it survives reload and regenerate', async () => {
    const h = harness();
    const { token } = await signedIn(h);
    const first = await h.request({ cookie: `${COOKIE}=${token}` });
    first.context.data.cart = ['apple'];
    await first.context.commit();
    const { context, setCookies } = await h.request({ method: 'POST', cookie: `${COOKIE}=${token}` });
    assert.equal(context.existingData, undefined, 'no data object until something asks for one');
    await context.reload();
    assert.equal(context.existingData, undefined, 'a reload makes none either');
    await context.regenerate();
    const fresh = onlyCookie(setCookies).value;
    assert.deepEqual(appData(await h.store.getLogin(hashToken(fresh))), { cart: ['apple'] });
    assert.deepEqual(context.data.cart, ['apple'], 'read after the session moved: the new session’s data');
    context.data.cart = ['apple', 'pear'];
    await context.commit();
    assert.deepEqual(appData(await h.store.getLogin(hashToken(fresh))), { cart: ['apple', 'pear'] });
  });

  test('a data object made before a reload is refilled from the store, dropping unsaved changes', async () => {
    const h = harness();
    const { token } = await signedIn(h);
    const first = await h.request({ cookie: `${COOKIE}=${token}` });
    first.context.data.theme = 'light';
    await first.context.commit();
    const { context } = await h.request({ cookie: `${COOKIE}=${token}` });
    const data = context.data;
    data.theme = 'dark';
    await context.reload();
    assert.equal(context.data, data, 'the same object');
    assert.equal(data.theme, 'light');
    h.counting.reset();
    await context.commit();
    assert.equal(h.counting.writes(), 0, 'nothing changed after the reload');
  });

  test('session.save() commits through the express-session style object', async () => {
    const h = harness();
    const { token } = await signedIn(h);
    const { context } = await h.request({ cookie: `${COOKIE}=${token}` });
    context.data.n = 1;
    await context.data.save();
    assert.deepEqual(appData(await h.store.getLogin(hashToken(token))), { n: 1 });
  });
});

describe('the session cookie', () => {
  const cases: Array<{
    label: string;
    spec: RequestSpec;
    options?: Partial<KeycardOptions>;
    name: string;
    secure: boolean;
    domain?: string;
  }> = [
    { label: 'https', spec: { secure: true, headers: { host: 'app.example' } }, name: COOKIE, secure: true },
    {
      label: 'plain http on localhost',
      spec: { secure: false, headers: { host: 'localhost:3000' } },
      name: 'keycard_session',
      secure: false,
    },
    {
      label: 'plain http on 127.0.0.1',
      spec: { secure: false, headers: { host: '127.0.0.1:3000' } },
      name: 'keycard_session',
      secure: false,
    },
    {
      label: 'plain http on a public host (TLS ends at a proxy that was not trusted)',
      spec: { secure: false, headers: { host: 'app.example' } },
      name: COOKIE,
      secure: true,
    },
    {
      label: 'https on localhost',
      spec: { secure: true, headers: { host: 'localhost' } },
      name: COOKIE,
      secure: true,
    },
    {
      label: 'https with a configured domain',
      spec: { secure: true, headers: { host: 'www.app.example' } },
      options: { cookie: { domain: 'app.example' } },
      name: '__Secure-keycard_session',
      secure: true,
      domain: 'app.example',
    },
    {
      label: 'plain http on localhost with secure: true',
      spec: { secure: false, headers: { host: 'localhost:3000' } },
      options: { cookie: { secure: true } },
      name: COOKIE,
      secure: true,
    },
    {
      label: 'a custom base name',
      spec: { secure: true, headers: { host: 'app.example' } },
      options: { cookie: { name: 'sid' } },
      name: '__Host-sid',
      secure: true,
    },
  ];
  for (const { label, spec, options, name, secure, domain } of cases) {
    test(`is named ${name}${secure ? ' with Secure' : ' without Secure'} over ${label}`, async () => {
      const h = harness(options);
      const setCookies: string[] = [];
      const context = h.keycard.createContext(requestInfo({ method: 'POST', ...spec }), (c) =>
        setCookies.push(c),
      );
      await context.login({ id: 'u', username: 'u', role: 'user' });
      const cookie = onlyCookie(setCookies);
      assert.equal(cookie.name, name);
      assert.equal(cookie.attributes.has('secure'), secure);
      assert.equal(cookie.attributes.has('httponly'), true);
      assert.equal(cookie.attributes.get('path'), '/');
      assert.equal(cookie.attributes.get('samesite'), 'Lax');
      assert.equal(cookie.attributes.get('domain'), domain);
    });
  }

  test('is persistent for the absolute lifetime in web-app, and a Strict browser-session cookie in banking', async () => {
    const webApp = harness();
    const a = await webApp.request({ method: 'POST' });
    await a.context.login({ id: 'u', username: 'u', role: 'user' });
    assert.equal(onlyCookie(a.setCookies).attributes.get('max-age'), String(7 * 24 * 3600));

    const banking = harness({ preset: 'banking' });
    const b = await banking.request({ method: 'POST' });
    await b.context.login({ id: 'u', username: 'u', role: 'user' });
    const cookie = onlyCookie(b.setCookies);
    assert.equal(cookie.attributes.has('max-age'), false);
    assert.equal(cookie.attributes.get('samesite'), 'Strict');
  });
});

describe('AuthContext.checkOrigin', () => {
  test('applies the configured trusted origins', async () => {
    const h = harness({ trustedOrigins: ['https://front.example'] });
    const trusted = await h.request({
      method: 'POST',
      headers: { origin: 'https://front.example', 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(trusted.context.checkOrigin(), 'allowed');
    const foreign = await h.request({
      method: 'POST',
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(foreign.context.checkOrigin(), 'cross_site');
  });
});

describe('Keycard.signIn', () => {
  test('gives the same result for a wrong password and an unknown user, and creates no session', async () => {
    const h = harness();
    await addUser(h);
    h.counting.reset();
    const wrong = await h.request({ method: 'POST' });
    const wrongResult = await h.keycard.signIn(wrong.context, {
      username: 'alice',
      password: 'wrong password',
    });
    const unknown = await h.request({ method: 'POST' });
    const unknownResult = await h.keycard.signIn(unknown.context, {
      username: 'mallory',
      password: PASSWORD,
    });
    assert.deepEqual(outcome(wrongResult), { ok: false, reason: 'invalid_credentials' });
    assert.deepEqual(outcome(unknownResult), outcome(wrongResult));
    assert.deepEqual(wrong.setCookies, []);
    assert.deepEqual(unknown.setCookies, []);
    assert.equal(h.counting.counts.get('createLogin'), undefined);
    const failures = h.events.filter((e) => e.type === 'login_failed');
    assert.deepEqual(
      failures.map((e) => e.type === 'login_failed' && [e.reason, e.username]),
      [
        ['invalid_credentials', 'alice'],
        ['invalid_credentials', 'mallory'],
      ],
    );
    assert.equal(JSON.stringify(h.events).includes(PASSWORD), false);
  });

  test('signs in with the right password under any case of the username', async () => {
    const h = harness();
    const user = await addUser(h);
    const { context, setCookies } = await h.request({ method: 'POST' });
    const result = await h.keycard.signIn(context, { username: 'ALICE', password: PASSWORD });
    assert.ok(result.ok);
    assert.equal(result.user.id, user.id);
    assert.equal(context.user?.id, user.id);
    assert.equal(result.session.id, hashToken(onlyCookie(setCookies).value));
  });

  // guards: one rule for the sign-in body, shared by keycard serve and apps that pass `req.body` as it came
  test('a malformed body is refused with 400 invalid_request naming the field, before any hash or count', async () => {
    const h = harness();
    await addUser(h);
    let hashes = 0;
    const { verify, verifyDummy } = h.keycard.passwords;
    h.keycard.passwords.verify = (...args) => {
      hashes++;
      return verify(...args);
    };
    h.keycard.passwords.verifyDummy = (...args) => {
      hashes++;
      return verifyDummy(...args);
    };
    const cases: [string, unknown, RegExp, string | undefined][] = [
      ['no body', undefined, /send a JSON or form body with username and password/, undefined],
      ['null', null, /send a JSON or form body/, undefined],
      ['a string', 'alice', /must be an object with username and password/, undefined],
      ['an array', ['alice', PASSWORD], /must be an object/, undefined],
      ['no username', { password: PASSWORD }, /^username is required$/, 'username'],
      ['an empty username', { username: '', password: PASSWORD }, /^username is required$/, 'username'],
      [
        'a non-string username',
        { username: ['alice'], password: PASSWORD },
        /^username must be a string$/,
        'username',
      ],
      ['an overlong username', { username: 'a'.repeat(257), password: PASSWORD }, /at most 256/, 'username'],
      ['no password', { username: 'alice' }, /^password is required$/, 'password'],
      [
        'a password object',
        { username: 'alice', password: { toString: () => PASSWORD } },
        /^password must be a string$/,
        'password',
      ],
      ['an overlong password', { username: 'alice', password: 'p'.repeat(4097) }, /at most 4096/, 'password'],
      [
        'an inherited username',
        Object.create({ username: 'alice', password: PASSWORD }),
        /username is required/,
        'username',
      ],
    ];
    for (const [name, body, message, field] of cases) {
      const { context, setCookies } = await h.request({ method: 'POST' });
      const writes = h.counting.writes();
      const error = expectKeycardError(
        await rejected(() => h.keycard.signIn(context, body)),
        'invalid_request',
      );
      assert.equal(error.status, 400, name);
      assert.match(error.message, message, name);
      assert.equal(error.field, field, name);
      assert.ok(!error.message.includes(PASSWORD), `${name}: the message never echoes input`);
      assert.deepEqual(setCookies, [], name);
      assert.equal(h.counting.writes(), writes, `${name}: no throttle counter was spent`);
    }
    assert.equal(hashes, 0, 'no password was hashed for a malformed body');
    assert.equal(h.events.filter((event) => event.type === 'login_failed').length, 0);
    // At the limits, the input reaches the credential check.
    const { context: atLimit } = await h.request({ method: 'POST' });
    assert.deepEqual(
      outcome(await h.keycard.signIn(atLimit, { username: 'a'.repeat(256), password: 'p'.repeat(4096) })),
      {
        ok: false,
        reason: 'invalid_credentials',
      },
    );
    assert.equal(hashes, 1);
  });

  test('reports account_blocked to a blocked user only with the right password', async () => {
    const h = harness();
    const user = await addUser(h);
    await h.keycard.users.block(user.id);
    const wrong = await h.request({ method: 'POST' });
    assert.deepEqual(
      outcome(await h.keycard.signIn(wrong.context, { username: 'alice', password: 'not the password' })),
      {
        ok: false,
        reason: 'invalid_credentials',
      },
    );
    const right = await h.request({ method: 'POST' });
    assert.deepEqual(
      outcome(await h.keycard.signIn(right.context, { username: 'alice', password: PASSWORD })),
      {
        ok: false,
        reason: 'account_blocked',
      },
    );
    assert.deepEqual(right.setCookies, []);
    assert.deepEqual(await h.keycard.logins.listForUser(user.id), []);
  });

  test('a block that lands while the login is creating its session wins', async () => {
    // guards: a login racing with an admin's block must not leave a live session behind.
    let blockUserId: string | null = null;
    const h = harness(
      {},
      (store) =>
        new Proxy(store, {
          get(target, property, receiver) {
            const value = Reflect.get(target, property, receiver);
            if (property !== 'createLogin' || typeof value !== 'function') return value;
            return async (...args: Parameters<Store['createLogin']>) => {
              await value.apply(target, args);
              if (blockUserId) await target.updateUser(blockUserId, { blocked: true, updatedAt: 0 });
            };
          },
        }),
    );
    const user = await addUser(h);
    blockUserId = user.id;
    const { context, setCookies } = await h.request({ method: 'POST' });
    assert.deepEqual(outcome(await h.keycard.signIn(context, { username: 'alice', password: PASSWORD })), {
      ok: false,
      reason: 'account_blocked',
    });
    assert.equal(context.user, null);
    assert.deepEqual(await h.keycard.logins.listForUser(user.id), []);
    const last = parseSetCookie(setCookies.at(-1) ?? '');
    assert.equal(last.attributes.get('max-age'), '0', 'the cookie just set is cleared again');
  });

  test('upgrades a bcrypt user to Argon2id at login', async () => {
    const h = harness();
    const id = generateId();
    await h.store.createUser({
      id,
      username: 'legacy',
      skeleton: 'legacy',
      passwordHash: bcrypt.hashSync(PASSWORD, 4),
      role: 'user',
      blocked: false,
      createdAt: 0,
      updatedAt: 0,
    });
    const first = await h.request({ method: 'POST' });
    assert.equal(
      (await h.keycard.signIn(first.context, { username: 'legacy', password: PASSWORD })).ok,
      true,
    );
    const upgraded = await h.store.getUserById(id);
    assert.match(upgraded?.passwordHash ?? '', /^\$argon2id\$/);
    assert.equal(h.keycard.passwords.needsRehash(upgraded?.passwordHash ?? ''), false);
    const second = await h.request({ method: 'POST' });
    assert.equal(
      (await h.keycard.signIn(second.context, { username: 'legacy', password: PASSWORD })).ok,
      true,
    );
  });

  test('hands events to onEvent, and a throwing hook does not break login', async () => {
    const hookErrors: unknown[] = [];
    const h = harness({
      onEvent: () => {
        throw new Error('hook failed');
      },
      onHookError: (error) => hookErrors.push(error),
    });
    await addUser(h);
    const { context, setCookies } = await h.request({ method: 'POST' });
    const result = await h.keycard.signIn(context, { username: 'alice', password: PASSWORD });
    assert.equal(result.ok, true);
    assert.equal(onlyCookie(setCookies).name, COOKIE);
    assert.ok(hookErrors.length >= 2, 'user_created and login_succeeded both reached the hook');
    assert.ok(hookErrors.every((e) => e instanceof Error && e.message === 'hook failed'));
  });

  test('hands every login event to onEvent with the request context', async () => {
    const h = harness();
    const user = await addUser(h);
    const { context } = await h.request({ method: 'POST', ip: '198.51.100.1' });
    const result = await h.keycard.signIn(context, { username: 'alice', password: PASSWORD });
    assert.ok(result.ok);
    assert.deepEqual(
      h.events.map((e) => e.type),
      ['user_created', 'login_succeeded'],
    );
    const login = h.events[1];
    assert.ok(login?.type === 'login_succeeded');
    assert.equal(login.userId, user.id);
    assert.equal(login.ip, '198.51.100.1');
  });
});

describe('AuthContext.login({ remember }): the cookie lifetime is the login’s, and apps cannot change it', () => {
  const MARKER = 'keycard_browser_session';

  test('remember: false sets a browser-session cookie, and regenerate keeps it one', async () => {
    const h = harness();
    const { context, setCookies } = await h.request({ method: 'POST' });
    await context.login({ id: 'user-1', username: 'alice', role: 'user' }, { remember: false });
    const issued = onlyCookie(setCookies);
    assert.equal(issued.attributes.has('max-age'), false);
    assert.equal(issued.attributes.has('expires'), false);
    const next = await h.request({ method: 'POST', cookie: `${COOKIE}=${issued.value}` });
    await next.context.regenerate();
    const moved = onlyCookie(next.setCookies);
    assert.notEqual(moved.value, issued.value);
    assert.equal(moved.attributes.has('max-age'), false, 'the regenerated session keeps the choice');
  });

  test('the default and remember: true keep the persistent cookie; cookie.persistent false caps both', async () => {
    for (const [options, remember, persistent] of [
      [{}, undefined, true],
      [{}, true, true],
      [{ cookie: { persistent: false } }, true, false],
    ] as const) {
      const h = harness(options);
      const { context, setCookies } = await h.request({ method: 'POST' });
      await context.login({ id: 'user-1', username: 'alice', role: 'user' }, { remember });
      const issued = onlyCookie(setCookies);
      assert.equal(issued.attributes.has('max-age'), persistent, JSON.stringify({ options, remember }));
      const next = await h.request({ method: 'POST', cookie: `${COOKIE}=${issued.value}` });
      await next.context.regenerate();
      assert.equal(onlyCookie(next.setCookies).attributes.has('max-age'), persistent);
    }
  });

  test('the marker is not session data: an app neither sees it nor can set, plant or clear it', async () => {
    const h = harness();
    // Planted before login, in a pre-login session's data: the login decides, not the data.
    const anonymous = await h.request({ method: 'POST' });
    Object.defineProperty(anonymous.context.data, MARKER, {
      value: true,
      enumerable: true,
      configurable: true,
      writable: true,
    });
    await anonymous.context.login({ id: 'user-1', username: 'alice', role: 'user' }, { remember: true });
    const persistent = onlyCookie(
      anonymous.setCookies.filter((c) => c.startsWith(`${COOKIE}=`) && !/=;/.test(c)),
    );
    assert.equal(
      persistent.attributes.has('max-age'),
      true,
      'a planted marker does not make it a session cookie',
    );
    assert.equal(appData(await h.store.getLogin(hashToken(persistent.value)))?.[MARKER], undefined);

    const { context, setCookies } = await h.request({ method: 'POST' });
    await context.login({ id: 'user-2', username: 'bob', role: 'user' }, { remember: false });
    const token = onlyCookie(setCookies).value;
    const next = await h.request({ cookie: `${COOKIE}=${token}` });
    assert.equal(Object.hasOwn(next.context.data, MARKER), false, 'not shown to the app');
    next.context.data.theme = 'dark';
    await next.context.commit();
    assert.deepEqual(appData(await h.store.getLogin(hashToken(token))), { theme: 'dark', [MARKER]: true });
    // A second change in the same request keeps the login's own keys (the snapshot after a save holds
    // only app data; holding the markers made the next commit unset them).
    next.context.data.theme = 'light';
    await next.context.commit();
    const kept = await h.store.getLogin(hashToken(token));
    assert.deepEqual(appData(kept), { theme: 'light', [MARKER]: true });
    assert.deepEqual((kept?.data.keycard_auth as { amr: string[] } | undefined)?.amr, ['pwd']);
    // Writing it is refused like any reserved key, and nothing is saved.
    const writer = await h.request({ cookie: `${COOKIE}=${token}` });
    writer.context.data[MARKER] = false;
    expectKeycardError(await rejected(async () => writer.context.commit()), 'internal_error');
    assert.deepEqual(appData(await h.store.getLogin(hashToken(token))), { theme: 'light', [MARKER]: true });
  });
});
