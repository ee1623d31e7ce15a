/**
 * Every cookie keycard sets, named and shaped in one place (src/core/cookies/policy.ts): in core, without
 * an adapter, the names (`__Host-` / `__Secure-`), HttpOnly, Secure, SameSite, Path and Domain of each,
 * for each `cookie.secure` setting, and the deletion that matches it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CookieSpec, createCookiePolicy, writeCookie } from '../../src/core/cookies/policy.js';
import { createKeySet, generateJWTKey } from '../../src/core/jwt/keys.js';
import { type KeycardOptions, resolveOptions } from '../../src/core/options.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { requestInfo } from './support.js';

const policy = (options: Partial<KeycardOptions> = {}) =>
  createCookiePolicy(resolveOptions({ store: new MemoryStore(), ...options } as KeycardOptions));

const shape = (cookie: CookieSpec) => ({
  name: cookie.name,
  httpOnly: cookie.attributes.httpOnly,
  secure: cookie.attributes.secure,
  sameSite: cookie.attributes.sameSite,
  path: cookie.attributes.path,
  domain: cookie.attributes.domain,
  deletion: cookie.deletion,
});

/** Plain http on localhost: the one place `secure: 'auto'` drops Secure. */
const localHTTP = requestInfo({ secure: false, headers: { host: 'localhost:3000' } });
const publicHTTPS = requestInfo({ secure: true, headers: { host: 'app.example' } });
const publicHTTP = requestInfo({ secure: false, headers: { host: 'app.example' } });
const localHTTPS = requestInfo({ secure: true, headers: { host: 'localhost:3000' } });

const SECURE_CSRF = {
  name: '__Host-keycard_csrf',
  httpOnly: true,
  secure: true,
  sameSite: 'lax',
  path: '/',
  domain: undefined,
  deletion: '__Host-keycard_csrf=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax',
};
const PLAIN_CSRF = {
  name: 'keycard_csrf',
  httpOnly: true,
  secure: false,
  sameSite: 'lax',
  path: '/',
  domain: undefined,
  deletion: 'keycard_csrf=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax',
};

describe('the CSRF cookie', () => {
  test('secure: true — __Host-, Secure, HttpOnly, Path=/ on every request, plain-http localhost included', () => {
    const cookies = policy({ cookie: { secure: true } });
    for (const request of [localHTTP, publicHTTP, publicHTTPS, localHTTPS])
      assert.deepEqual(shape(cookies(request).csrf), SECURE_CSRF);
  });

  test('secure: false — no prefix and no Secure on every request, HTTPS included; still HttpOnly, Path=/', () => {
    const cookies = policy({ cookie: { secure: false } });
    for (const request of [localHTTP, publicHTTP, publicHTTPS, localHTTPS])
      assert.deepEqual(shape(cookies(request).csrf), PLAIN_CSRF);
  });

  test("secure: 'auto' (the default) — Secure except over plain http to localhost", () => {
    for (const cookies of [policy(), policy({ cookie: { secure: 'auto' } })]) {
      assert.deepEqual(shape(cookies(localHTTP).csrf), PLAIN_CSRF);
      assert.deepEqual(shape(cookies(localHTTPS).csrf), SECURE_CSRF, 'HTTPS on localhost');
      assert.deepEqual(shape(cookies(publicHTTP).csrf), SECURE_CSRF, 'http elsewhere (behind a proxy)');
      assert.deepEqual(shape(cookies(publicHTTPS).csrf), SECURE_CSRF);
      const noHost = requestInfo({ secure: false, headers: {} });
      assert.deepEqual(shape(cookies(noHost).csrf), SECURE_CSRF, 'no Host: not known to be localhost');
    }
  });

  test('never a Domain, even when the login cookies take one; SameSite follows the option', () => {
    const cookies = policy({ cookie: { secure: true, domain: 'example.com', sameSite: 'strict' } });
    const csrf = cookies(publicHTTPS).csrf;
    assert.equal(csrf.name, '__Host-keycard_csrf');
    assert.equal(csrf.attributes.domain, undefined);
    assert.equal('domain' in csrf.attributes, false);
    assert.equal(csrf.attributes.sameSite, 'strict');
    assert.equal(csrf.deletion, '__Host-keycard_csrf=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict');
  });
});

describe('the login cookies', () => {
  test('secure: __Host- session and access cookies at Path=/, the refresh cookie __Secure- at the refresh path', () => {
    const cookies = policy({ cookie: { secure: true } })(publicHTTPS);
    assert.deepEqual(shape(cookies.session), {
      name: '__Host-keycard_session',
      httpOnly: true,
      secure: true,
      sameSite: 'lax',
      path: '/',
      domain: undefined,
      deletion: '__Host-keycard_session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax',
    });
    assert.deepEqual(shape(cookies.access), {
      ...shape(cookies.session),
      name: '__Host-keycard_access',
      deletion: '__Host-keycard_access=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax',
    });
    assert.deepEqual(shape(cookies.refresh), {
      name: '__Secure-keycard_refresh',
      httpOnly: true,
      secure: true,
      sameSite: 'lax',
      path: '/auth/refresh',
      domain: undefined,
      deletion: '__Secure-keycard_refresh=; Max-Age=0; Path=/auth/refresh; HttpOnly; Secure; SameSite=Lax',
    });
  });

  test('not secure: no prefixes, no Secure, still HttpOnly', () => {
    const cookies = policy({ cookie: { secure: false, name: 'app_login' } })(publicHTTPS);
    assert.equal(cookies.session.name, 'app_login');
    assert.equal(cookies.access.name, 'keycard_access');
    assert.equal(cookies.refresh.name, 'keycard_refresh');
    for (const cookie of [cookies.session, cookies.access, cookies.refresh]) {
      assert.equal(cookie.attributes.secure, false, cookie.name);
      assert.equal(cookie.attributes.httpOnly, true, cookie.name);
      assert.equal(cookie.deletion.includes('Secure'), false, cookie.name);
    }
  });

  test('a Domain turns __Host- into __Secure- and goes on every login cookie and its deletion', () => {
    const cookies = policy({ cookie: { secure: true, domain: 'example.com' } })(publicHTTPS);
    assert.equal(cookies.session.name, '__Secure-keycard_session');
    assert.equal(cookies.access.name, '__Secure-keycard_access');
    assert.equal(cookies.refresh.name, '__Secure-keycard_refresh');
    for (const cookie of [cookies.session, cookies.access, cookies.refresh]) {
      assert.equal(cookie.attributes.domain, 'example.com');
      assert.match(cookie.deletion, /; Domain=example\.com;/);
    }
  });

  test('the refresh cookie goes to the configured refresh path', () => {
    const keys = createKeySet([generateJWTKey('EdDSA', 'k1')]);
    const cookies = policy({
      strategy: 'jwt',
      jwt: { keys, refreshPath: '/api/token/refresh', refreshSecrets: [Buffer.alloc(32, 5)] },
      cookie: { secure: true },
    } as Partial<KeycardOptions>)(publicHTTPS);
    assert.equal(cookies.refresh.attributes.path, '/api/token/refresh');
    assert.equal(cookies.session.attributes.path, '/');
  });
});

describe('writeCookie', () => {
  test('the spec’s name and attributes, with Max-Age when given and without for a browser-session cookie', () => {
    const csrf = policy({ cookie: { secure: true } })(publicHTTPS).csrf;
    assert.equal(
      writeCookie(csrf, 'abc', 600),
      '__Host-keycard_csrf=abc; Max-Age=600; Path=/; HttpOnly; Secure; SameSite=Lax',
    );
    assert.equal(writeCookie(csrf, 'abc'), '__Host-keycard_csrf=abc; Path=/; HttpOnly; Secure; SameSite=Lax');
  });
});
