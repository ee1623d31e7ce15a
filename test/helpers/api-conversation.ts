/**
 * One conversation with the auth API (errors, CSRF, forms, throttling, refresh, admin, JWKS), recorded
 * step by step with what differs between two fresh servers masked, so that any host of the API —
 * `keycard serve`, `createFetchHandler` on Node, Bun or Deno, `keycardHono` — can be compared with
 * `keycard serve` answer for answer (`assert.deepEqual`), and the documented answers checked once.
 */
import assert from 'node:assert/strict';
import type { Keycard } from '../../src/index.js';
import { Client, type Response } from './http.js';

export const CONVERSATION_PASSWORD = 'correct horse battery staple';

const HEADERS = [
  'content-type',
  'cache-control',
  'content-security-policy',
  'x-content-type-options',
  'referrer-policy',
  'x-frame-options',
  'retry-after',
  'location',
  'www-authenticate',
];

/** The users the conversation expects: alice (admin), bob and carol, all with CONVERSATION_PASSWORD. */
export async function createConversationUsers(keycard: Keycard): Promise<void> {
  await keycard.users.create({ username: 'alice', password: CONVERSATION_PASSWORD, role: 'admin' });
  await keycard.users.create({ username: 'bob', password: CONVERSATION_PASSWORD });
  await keycard.users.create({ username: 'carol', password: CONVERSATION_PASSWORD });
}

/** A response with everything that differs between two fresh servers masked. */
export function observe(response: Response): unknown {
  const mask = (value: unknown): unknown => {
    if (typeof value === 'string') {
      if (/^\d{4}-\d\d-\d\dT/.test(value)) return '<time>';
      if (/^[A-Za-z0-9_.-]{16,}$/.test(value)) return '<token>';
      return value;
    }
    if (Array.isArray(value)) return value.map(mask);
    if (value && typeof value === 'object') {
      // Key ids and material differ between two servers' keys; lifetimes by a second's rounding.
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [
          key,
          ['kid', 'x', 'y', 'n'].includes(key)
            ? '<key>'
            : key.endsWith('expires_in')
              ? typeof item
              : mask(item),
        ]),
      );
    }
    return value;
  };
  const headers: Record<string, unknown> = {};
  for (const name of HEADERS)
    if (response.headers[name] !== undefined) headers[name] = response.headers[name];
  return {
    status: response.status,
    headers,
    body:
      response.json === undefined
        ? response.text.includes('<html')
          ? '<html>'
          : response.text
        : mask(response.json),
    // A cookie's value differs; its Max-Age by a second's rounding (0, a deletion, stays exact).
    cookies: response.setCookies.map((cookie) =>
      cookie
        .replace(/=[^;]*/, '=<value>')
        .replace(/Max-Age=(\d+)/i, (_, seconds: string) =>
          seconds === '0' ? 'Max-Age=0' : `Max-Age≈${Math.round(Number(seconds) / 60)}min`,
        ),
    ),
  };
}

/**
 * The same conversation with one server (users from `createConversationUsers`, fresh: no earlier
 * logins or failures): what it answered, step by step. `preset` is the server's: `api` takes the
 * token path (refresh, JWKS), any other the cookie path (CSRF-checked logout). `clients`: also the API
 * clients' admin API and token endpoint (where the server has a key to sign client tokens with).
 */
export async function converse(
  url: string,
  preset: string,
  options: { clients?: boolean } = {},
): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {};
  const origin = { origin: url, 'sec-fetch-site': 'same-origin' };
  const anonymous = new Client(url);
  seen['me, signed out'] = observe(await anonymous.get('/auth/me'));
  seen['no such route'] = observe(await anonymous.get('/auth/nope'));
  seen['wrong method'] = observe(await anonymous.request('PUT', '/auth/login'));
  seen['malformed JSON'] = observe(
    await anonymous.post('/auth/login', {
      body: '{"username":',
      headers: { 'content-type': 'application/json' },
    }),
  );
  seen['text/plain'] = observe(
    await anonymous.post('/auth/login', { body: 'x', headers: { 'content-type': 'text/plain' } }),
  );
  seen['oversized'] = observe(
    await anonymous.post('/auth/login', { json: { username: 'alice', password: 'x'.repeat(20_000) } }),
  );
  seen['missing field'] = observe(await anonymous.post('/auth/login', { json: { username: 'alice' } }));
  seen['cross-site login'] = observe(
    await anonymous.post('/auth/login', {
      json: { username: 'alice', password: CONVERSATION_PASSWORD },
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    }),
  );
  seen['browser login without its CSRF token'] = observe(
    await anonymous.post('/auth/login', {
      json: { username: 'alice', password: CONVERSATION_PASSWORD },
      headers: origin,
    }),
  );
  seen['wrong password'] = observe(
    await anonymous.post('/auth/login', { json: { username: 'alice', password: 'nope-nope' } }),
  );
  seen['form login, wrong password'] = observe(
    await anonymous.post('/auth/login', { form: { username: 'alice', password: 'nope-nope' } }),
  );
  const browser = new Client(url);
  const csrf = await browser.get('/auth/csrf');
  seen['csrf'] = observe(csrf);
  const login = await browser.post('/auth/login', {
    json: { username: 'alice', password: CONVERSATION_PASSWORD },
    headers: { ...origin, 'x-csrf-token': csrf.json.token },
  });
  seen['browser login'] = observe(login);
  const bearer: Record<string, string> =
    typeof login.json.access_token === 'string' ? { authorization: `Bearer ${login.json.access_token}` } : {};
  seen['me'] = observe(await browser.get('/auth/me', { headers: bearer }));
  seen['verify'] = observe(await browser.get('/auth/verify', { headers: bearer }));
  seen['sessions'] = observe(await browser.get('/auth/sessions', { headers: bearer }));
  seen['admin users'] = observe(await browser.get('/auth/admin/users', { headers: bearer }));
  seen['revoke an id that is not a session'] = observe(
    await browser.delete('/auth/sessions/AAAAAAAAAAAAAAAAAAAAAA', {
      headers: { ...bearer, ...origin, 'x-csrf-token': login.json.csrf_token ?? '' },
    }),
  );
  if (options.clients) {
    // API clients: the admin API, and the token endpoint with its OAuth error shape.
    const unsafe = { ...bearer, ...origin, 'x-csrf-token': login.json.csrf_token ?? '' };
    const created = await browser.post('/auth/admin/clients', {
      json: { name: 'billing', scopes: ['orders:read'] },
      headers: unsafe,
    });
    seen['client created'] = observe(created);
    seen['clients listed'] = observe(await browser.get('/auth/admin/clients', { headers: bearer }));
    const clientId = created.json.client?.client_id;
    const basic = (secret: string) => `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
    const grant = { grant_type: 'client_credentials' };
    const right = { authorization: basic(created.json.client_secret) };
    seen['client token'] = observe(await anonymous.post('/auth/token', { form: grant, headers: right }));
    seen['client token, wrong secret'] = observe(
      await anonymous.post('/auth/token', { form: grant, headers: { authorization: basic('wrong-secret') } }),
    );
    seen['client token, malformed JSON'] = observe(
      await anonymous.post('/auth/token', { body: '{', headers: { 'content-type': 'application/json' } }),
    );
    seen['client token, unsupported grant'] = observe(
      await anonymous.post('/auth/token', { form: { grant_type: 'password' } }),
    );
    seen['client token, oversized'] = observe(
      await anonymous.post('/auth/token', { form: { ...grant, scope: 'x'.repeat(20_000) } }),
    );
    seen['client disabled'] = observe(
      await browser.post(`/auth/admin/clients/${clientId}/disable`, { headers: unsafe }),
    );
    seen['client token, disabled'] = observe(
      await anonymous.post('/auth/token', { form: grant, headers: right }),
    );
  }
  if (preset === 'api') {
    const refreshed = await browser.post('/auth/refresh', {
      json: { refresh_token: login.json.refresh_token },
    });
    seen['refresh'] = observe(refreshed);
    seen['refresh again within the grace window'] = observe(
      await browser.post('/auth/refresh', { json: { refresh_token: login.json.refresh_token } }),
    );
    seen['jwks'] = observe(await anonymous.get('/.well-known/jwks.json'));
  } else {
    seen['logout without its CSRF token'] = observe(await browser.post('/auth/logout', { headers: origin }));
    seen['logout'] = observe(
      await browser.post('/auth/logout', { headers: { ...origin, 'x-csrf-token': login.json.csrf_token } }),
    );
    seen['me after logout'] = observe(await browser.get('/auth/me'));
  }
  seen['form post, signed out'] = observe(await anonymous.post('/auth/logout-all', { form: {} }));
  const form = new Client(url);
  seen['form login'] = observe(
    await form.post('/auth/login', { form: { username: 'bob', password: CONVERSATION_PASSWORD } }),
  );
  for (let i = 0; i < 6; i++) {
    seen[`throttled ${i}`] = observe(
      await anonymous.post('/auth/login', { json: { username: 'carol', password: `wrong-${i}-wrong` } }),
    );
  }
  return seen;
}

/**
 * The statuses docs/server.md promises for the conversation's steps: checked on `keycard serve`'s
 * answers, so that "the same as keycard serve" also means "the documented answers".
 */
export function assertDocumentedAnswers(seen: Record<string, unknown>, preset: string): void {
  const status = (step: string) => (seen[step] as { status: number }).status;
  assert.equal(status('me, signed out'), 401);
  assert.equal(status('no such route'), 404);
  assert.equal(status('malformed JSON'), 400);
  assert.equal(status('text/plain'), 415);
  assert.equal(status('oversized'), 413);
  assert.equal(status('missing field'), 400);
  assert.equal(status('cross-site login'), 403);
  assert.equal(status('wrong password'), 401);
  // POST-redirect-GET: a refused form sign-in goes back to the sign-in page, saying why.
  assert.equal(status('form login, wrong password'), 303);
  assert.equal(
    (seen['form login, wrong password'] as { headers: { location: string } }).headers.location,
    '/login?error=invalid_credentials&username=alice',
  );
  // A page's form post without a live login (a stale tab) goes to the sign-in page too.
  assert.equal(status('form post, signed out'), 303);
  assert.equal(status('browser login'), 200);
  assert.equal(status('me'), 200);
  assert.equal(status('admin users'), 200);
  assert.equal(status('revoke an id that is not a session'), 404);
  assert.equal(status('form login'), 303);
  if ('client created' in seen) {
    assert.equal(status('client created'), 201);
    assert.equal(status('client token'), 200);
    assert.equal(status('client token, wrong secret'), 401);
    assert.equal(status('client token, malformed JSON'), 400);
    assert.equal(status('client token, unsupported grant'), 400);
    assert.equal(status('client token, oversized'), 413);
    assert.equal(status('client token, disabled'), 401);
  }
  assert.equal(status('throttled 5'), 429);
  if (preset === 'api') {
    assert.equal(status('refresh'), 200);
    // Within the grace window a spent token gets the same successor (docs/jwt.md), on both.
    assert.equal(status('refresh again within the grace window'), 200);
    assert.equal(status('jwks'), 200);
  } else {
    assert.equal(status('browser login without its CSRF token'), 403);
    assert.equal(status('logout without its CSRF token'), 403);
    assert.equal(status('logout'), 200);
    assert.equal(status('me after logout'), 401);
  }
}
