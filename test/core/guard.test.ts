/**
 * The request guard (src/core/request/guard.ts) in core: which requests it checks, the origin refusal, the
 * CSRF token bound to the cookie-borne login or to the pre-login cookie, the skips, and the audit events.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createCookiePolicy } from '../../src/core/cookies/policy.js';
import type { AuthEvent } from '../../src/core/events.js';
import { type KeycardOptions, resolveOptions } from '../../src/core/options.js';
import {
  csrfBinding,
  type GuardCheck,
  type GuardDependencies,
  guard,
  issueCSRFToken,
  preLoginId,
} from '../../src/core/request/guard.js';
import { ANONYMOUS, type AuthState, withLogin } from '../../src/core/request/state.js';
import type { AuthUser, LoginRecord } from '../../src/core/store.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { expectKeycardError, requestInfo, thrown } from './support.js';

const ALICE: AuthUser = { id: 'user-alice', username: 'alice', role: 'user' };
const LOGIN = { id: 'login-1', user: ALICE } as LoginRecord;
const PRE_ID = 'AAAAAAAAAAAAAAAAAAAAAA'; // 22 characters, as generateId makes

function deps(options: Partial<KeycardOptions> = {}, usesCookies = true) {
  const resolved = resolveOptions({
    store: new MemoryStore(),
    cookie: { secure: true },
    csrf: { secrets: [Buffer.alloc(32, 1), Buffer.alloc(32, 2)] },
    ...options,
  } as KeycardOptions);
  const events: AuthEvent[] = [];
  const d: GuardDependencies = {
    options: resolved,
    cookies: createCookiePolicy(resolved),
    emit: (event) => events.push(event),
    usesCookies,
  };
  return { d, events };
}

const cookieLogin: AuthState = withLogin(ALICE, LOGIN, null, true);
const headerLogin: AuthState = withLogin(ALICE, LOGIN, null, false);

/** A browser's same-origin or cross-site POST. */
const post = (headers: Record<string, string | undefined> = {}, method = 'POST') =>
  requestInfo({
    method,
    headers: { host: 'app.example', 'user-agent': 'UA', ...headers },
    ip: '203.0.113.7',
  });
const sameOrigin = (headers: Record<string, string | undefined> = {}, method = 'POST') =>
  post({ origin: 'https://app.example', 'sec-fetch-site': 'same-origin', ...headers }, method);
const crossSite = (headers: Record<string, string | undefined> = {}, method = 'POST') =>
  post({ origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', ...headers }, method);

const run = (d: GuardDependencies, request: ReturnType<typeof post>, state: AuthState, check: GuardCheck) =>
  thrown(() => {
    guard(d, request, state, check);
    throw new Error('passed');
  });
const passes = (...args: Parameters<typeof run>) => {
  const error = run(...args);
  assert.ok(error instanceof Error && error.message === 'passed', String(error));
};

describe('guard: what is checked', () => {
  test('an ordinary request is checked only when a cookie carried its credential and it is unsafe', () => {
    const { d, events } = deps();
    passes(d, crossSite(), headerLogin, { action: 'request', submitted: undefined });
    passes(d, crossSite(), ANONYMOUS, { action: 'request', submitted: undefined });
    passes(d, crossSite({}, 'GET'), cookieLogin, { action: 'request', submitted: undefined });
    expectKeycardError(
      run(d, crossSite(), cookieLogin, { action: 'request', submitted: undefined }),
      'cross_site_request',
    );
    expectKeycardError(
      run(d, sameOrigin(), cookieLogin, { action: 'request', submitted: undefined }),
      'csrf_rejected',
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ['cross_site_rejected', 'csrf_rejected'],
    );
  });

  test('a login is always checked, cookies or not; a refresh only for the cookie transport, and the origin only', () => {
    const { d } = deps();
    const error = expectKeycardError(
      run(d, crossSite(), ANONYMOUS, { action: 'login', submitted: undefined }),
      'cross_site_request',
    );
    assert.equal(error.message, 'cross-site login refused');
    expectKeycardError(
      run(d, sameOrigin(), ANONYMOUS, { action: 'login', submitted: undefined }),
      'csrf_rejected',
    );
    expectKeycardError(
      run(d, crossSite(), ANONYMOUS, { action: 'refresh', submitted: undefined }),
      'cross_site_request',
    );
    passes(d, sameOrigin(), ANONYMOUS, { action: 'refresh', submitted: undefined });
    const header = deps({}, false).d;
    passes(header, crossSite(), ANONYMOUS, { action: 'refresh', submitted: undefined });
    // Without cookies there is no login CSRF to fear, but another site's login is still refused.
    expectKeycardError(
      run(header, crossSite(), ANONYMOUS, { action: 'login', submitted: undefined }),
      'cross_site_request',
    );
    passes(header, sameOrigin(), ANONYMOUS, { action: 'login', submitted: undefined });
  });

  test('the skips: skipOrigin passes a cross-site request to the token check; skipCSRF never skips a login', () => {
    const { d } = deps();
    const error = expectKeycardError(
      run(d, crossSite(), cookieLogin, { action: 'request', submitted: undefined, skipOrigin: true }),
      'csrf_rejected',
    );
    assert.match(error.message, /needs a CSRF token/);
    passes(d, sameOrigin(), cookieLogin, { action: 'request', submitted: undefined, skipCSRF: true });
    expectKeycardError(
      run(d, sameOrigin(), ANONYMOUS, { action: 'login', submitted: undefined, skipCSRF: true }),
      'csrf_rejected',
    );
    const message = expectKeycardError(
      run(d, crossSite(), cookieLogin, { action: 'request', submitted: undefined }),
      'cross_site_request',
    ).message;
    assert.equal(message, 'cross-site request refused');
  });

  test('csrf.enabled false and requests from no browser page need no token', () => {
    passes(deps({ csrf: { enabled: false } }).d, sameOrigin(), cookieLogin, {
      action: 'request',
      submitted: undefined,
    });
    passes(deps().d, post(), cookieLogin, { action: 'request', submitted: undefined });
  });
});

describe('guard: the CSRF token', () => {
  test('a token bound to the cookie-borne login passes, under any listed secret; another login’s does not', () => {
    const { d } = deps();
    const token = issueCSRFToken(d, 'login:login-1');
    passes(d, sameOrigin(), cookieLogin, { action: 'request', submitted: token });
    const { d: rotated } = deps({ csrf: { secrets: [Buffer.alloc(32, 3), Buffer.alloc(32, 1)] } });
    passes(rotated, sameOrigin(), cookieLogin, { action: 'request', submitted: token });
    const other = issueCSRFToken(d, 'login:login-2');
    const error = expectKeycardError(
      run(d, sameOrigin(), cookieLogin, { action: 'request', submitted: other }),
      'csrf_rejected',
    );
    assert.match(error.message, /invalid for this login/);
    expectKeycardError(
      run(d, sameOrigin(), cookieLogin, { action: 'request', submitted: 'x' }),
      'csrf_rejected',
    );
  });

  test('before login the token is bound to the pre-login cookie; an explicit binding wins, null refuses', () => {
    const { d } = deps();
    const token = issueCSRFToken(d, `pre:${PRE_ID}`);
    const withCookie = sameOrigin({ cookie: `__Host-keycard_csrf=${PRE_ID}` });
    passes(d, withCookie, ANONYMOUS, { action: 'login', submitted: token });
    expectKeycardError(
      run(d, sameOrigin(), ANONYMOUS, { action: 'login', submitted: token }),
      'csrf_rejected',
    );
    passes(d, sameOrigin(), ANONYMOUS, { action: 'login', submitted: token, binding: `pre:${PRE_ID}` });
    expectKeycardError(
      run(d, withCookie, ANONYMOUS, { action: 'login', submitted: token, binding: null }),
      'csrf_rejected',
    );
  });

  test('the rejection event says why, with who and where, and no token', () => {
    const { d, events } = deps();
    run(d, sameOrigin(), cookieLogin, { action: 'request', submitted: undefined });
    run(d, sameOrigin(), cookieLogin, { action: 'request', submitted: 'forged-token' });
    assert.deepEqual(events, [
      {
        type: 'csrf_rejected',
        reason: 'missing_token',
        method: 'POST',
        userId: ALICE.id,
        sessionId: 'login-1',
        ip: '203.0.113.7',
        userAgent: 'UA',
      },
      {
        type: 'csrf_rejected',
        reason: 'invalid_token',
        method: 'POST',
        userId: ALICE.id,
        sessionId: 'login-1',
        ip: '203.0.113.7',
        userAgent: 'UA',
      },
    ]);
  });

  test('the cross-site event carries the path without its query, cut at 256 characters', () => {
    const { d, events } = deps();
    const request = { ...crossSite(), path: () => `/${'p'.repeat(300)}` };
    run(d, request, cookieLogin, { action: 'request', submitted: undefined });
    run(d, crossSite(), ANONYMOUS, { action: 'login', submitted: undefined });
    assert.deepEqual(events[0], {
      type: 'cross_site_rejected',
      method: 'POST',
      userId: ALICE.id,
      sessionId: 'login-1',
      path: `/${'p'.repeat(255)}`,
      ip: '203.0.113.7',
      userAgent: 'UA',
    });
    assert.deepEqual(events[1], {
      type: 'cross_site_rejected',
      method: 'POST',
      userId: null,
      sessionId: null,
      ip: '203.0.113.7',
      userAgent: 'UA',
    });
  });
});

describe('csrfBinding and preLoginId', () => {
  test('the cookie-borne login first, else a well-formed pre-login cookie, else a new one when asked', () => {
    const { d } = deps();
    const withCookie = sameOrigin({ cookie: `__Host-keycard_csrf=${PRE_ID}` });
    assert.deepEqual(csrfBinding(d, withCookie, cookieLogin, true), {
      binding: 'login:login-1',
      cookie: null,
    });
    assert.deepEqual(csrfBinding(d, withCookie, headerLogin, true), {
      binding: `pre:${PRE_ID}`,
      cookie: null,
    });
    assert.deepEqual(csrfBinding(d, sameOrigin(), ANONYMOUS, false), { binding: null, cookie: null });
    const made = csrfBinding(d, sameOrigin(), ANONYMOUS, true);
    const id = made.binding?.slice(4) as string;
    assert.match(made.binding ?? '', /^pre:[A-Za-z0-9_-]{22}$/);
    assert.equal(made.cookie, `__Host-keycard_csrf=${id}; Path=/; HttpOnly; Secure; SameSite=Lax`);
  });

  test('only a 22-character base64url pre-login id is taken; a duplicate cookie is none', () => {
    const { d } = deps();
    const id = (cookie: string) => preLoginId(d, sameOrigin({ cookie }));
    assert.equal(id(`__Host-keycard_csrf=${PRE_ID}`), PRE_ID);
    assert.equal(id(`__Host-keycard_csrf=${PRE_ID}A`), null);
    assert.equal(id(`__Host-keycard_csrf=${PRE_ID.slice(1)}`), null);
    assert.equal(id(`__Host-keycard_csrf=${PRE_ID.slice(1)}+`), null);
    assert.equal(id(`x__Host-keycard_csrf=${PRE_ID}`), null);
    assert.equal(id(`__Host-keycard_csrf=${PRE_ID}; __Host-keycard_csrf=${PRE_ID}`), null);
    assert.equal(id(`keycard_csrf=${PRE_ID}`), null, 'the secure policy reads the __Host- name only');
  });
});
