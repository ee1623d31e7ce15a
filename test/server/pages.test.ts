/** The server-rendered pages: sign in, account (sessions), admin; forms post to the API routes. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../helpers/clock.js';
import { Client, request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const HTML = { accept: 'text/html' };

describe('server: pages', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  test('with no users, the sign-in page says exactly how to create the first admin', async () => {
    const root = await request(server.url, 'GET', '/', { headers: HTML });
    assert.equal(root.status, 303);
    assert.equal(root.headers.location, '/login');
    const page = await request(server.url, 'GET', '/login', { headers: HTML });
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'] ?? '', /text\/html/);
    assert.match(page.text, /npx keycard user add admin --role admin --password-stdin/);
    assert.match(page.text, /<form method="post" action="\/auth\/login">/);
    await server.keycard.users.create({ username: 'alice', password: 'alice-password', role: 'admin' });
    const after = await request(server.url, 'GET', '/login', { headers: HTML });
    assert.doesNotMatch(after.text, /first admin/);
  });

  test('pages carry a strict CSP, no framing and no caching', async () => {
    const page = await request(server.url, 'GET', '/login', { headers: HTML });
    const csp = String(page.headers['content-security-policy'] ?? '');
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.doesNotMatch(page.text, /<script|style=/, 'no inline script or style');
    // Never to another site; to this one, so a form refused for step-up can return to its page.
    assert.equal(page.headers['referrer-policy'], 'same-origin');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const css = await request(server.url, 'GET', '/assets/keycard.css');
    assert.equal(css.status, 200);
    assert.match(css.headers['content-type'] ?? '', /text\/css/);
    assert.equal(css.headers['x-content-type-options'], 'nosniff');
  });

  test('JSON answers are uncacheable, unsniffable, unframeable and send no referrer (success and error)', async () => {
    for (const path of ['/auth/me', '/auth/csrf', '/healthz']) {
      const response = await request(server.url, 'GET', path);
      assert.match(response.headers['content-type'] ?? '', /application\/json/, path);
      assert.equal(response.headers['cache-control'], 'no-store', path);
      assert.equal(response.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(response.headers['referrer-policy'], 'no-referrer', path);
      const csp = String(response.headers['content-security-policy'] ?? '');
      assert.match(csp, /default-src 'none'/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
    }
  });

  test('the sign-in form leads to the account page listing my sessions', async () => {
    const browser = new Client(server.url);
    const failed = await browser.post('/auth/login', {
      form: { username: 'alice', password: 'wrong-password' },
      headers: HTML,
    });
    // guards: POST-redirect-GET — a failed form sign-in is a redirect, so reloading never re-posts it.
    assert.equal(failed.status, 303);
    assert.equal(failed.headers.location, '/login?error=invalid_credentials&username=alice');
    const again = await browser.get(failed.headers.location, { headers: HTML });
    assert.equal(again.status, 200);
    assert.match(again.text, /<p class="error" role="alert">Wrong username or password\.<\/p>/);
    assert.match(again.text, /value="alice"/, 'the username is kept');
    const signedIn = await browser.post('/auth/login', {
      form: { username: 'alice', password: 'alice-password' },
    });
    assert.equal(signedIn.status, 303);
    assert.equal(signedIn.headers.location, '/account');
    const account = await browser.get('/account', { headers: HTML });
    assert.equal(account.status, 200);
    assert.match(account.text, /Signed in as alice/);
    assert.match(account.text, /this device/);
    assert.equal((account.text.match(/<tr data-session=/g) ?? []).length, 1);
  });

  test('the account page escapes what devices send (user agents are attacker-controlled)', async () => {
    const browser = new Client(server.url);
    await browser.post('/auth/login', {
      form: { username: 'alice', password: 'alice-password' },
      headers: { 'user-agent': '<script>alert(1)</script>"onmouseover="x' },
    });
    const account = await browser.get('/account', { headers: HTML });
    assert.doesNotMatch(account.text, /<script>alert/);
    assert.match(account.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&quot;onmouseover=&quot;x/);
  });

  test('revoking another session and signing out from the page', async () => {
    const laptop = new Client(server.url);
    const phone = new Client(server.url);
    await laptop.post('/auth/login', { form: { username: 'alice', password: 'alice-password' } });
    await phone.post('/auth/login', { form: { username: 'alice', password: 'alice-password' } });
    const phoneId = (await phone.get('/auth/me')).json.session.id;
    const revoked = await laptop.post(`/auth/sessions/${phoneId}/revoke`, { form: {} });
    assert.equal(revoked.status, 303);
    assert.equal(revoked.headers.location, '/account');
    assert.equal((await phone.get('/account', { headers: HTML })).headers.location, '/login');
    const out = await laptop.post('/auth/logout', { form: {} });
    assert.equal(out.status, 303);
    assert.equal(out.headers.location, '/login');
    assert.equal((await laptop.get('/auth/me')).status, 401);
  });

  test('the admin page lists users for admins and is refused to others', async () => {
    await server.keycard.users.create({ username: 'bob', password: 'bob-password' });
    const bob = new Client(server.url);
    await bob.post('/auth/login', { form: { username: 'bob', password: 'bob-password' } });
    assert.equal((await bob.get('/admin', { headers: HTML })).status, 403);
    const alice = new Client(server.url);
    await alice.post('/auth/login', { form: { username: 'alice', password: 'alice-password' } });
    const admin = await alice.get('/admin', { headers: HTML });
    assert.equal(admin.status, 200);
    assert.match(admin.text, /data-user="bob"/);
    // guards: issue 13 — the form offers exactly the roles there are (the keycard's closed set).
    const select = /<select id="new-role" name="role">([\s\S]*?)<\/select>/.exec(admin.text)?.[1] ?? '';
    const offered = [...select.matchAll(/<option value="([^"]*)">/g)].map((match) => match[1]);
    assert.deepEqual(offered, [...server.keycard.options.roles]);
    assert.deepEqual(offered, ['user', 'admin']);
    const bobId = (await server.keycard.users.findByUsername('bob'))?.id;
    const blocked = await alice.post(`/auth/admin/users/${bobId}/block`, { form: {} });
    assert.equal(blocked.status, 303);
    assert.equal((await bob.get('/auth/me')).status, 401);
  });

  test('a failed JSON sign-in keeps its 401, 403 and 429; only forms are redirected', async () => {
    await server.keycard.users.create({ username: 'judy', password: 'judy-password' });
    const json = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'judy', password: 'wrong-password' },
    });
    assert.equal(json.status, 401);
    assert.equal(json.json.error.code, 'invalid_credentials');
    const judy = await server.keycard.users.findByUsername('judy');
    await server.keycard.users.block(judy?.id as string);
    const blocked = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'judy', password: 'judy-password' },
    });
    assert.equal(blocked.status, 403);
    const blockedForm = await request(server.url, 'POST', '/auth/login', {
      form: { username: 'judy', password: 'judy-password' },
    });
    assert.equal(blockedForm.status, 303);
    assert.equal(blockedForm.headers.location, '/login?error=account_blocked&username=judy');
    assert.equal(blockedForm.setCookies.filter((c) => /keycard_session=[^;]/.test(c)).length, 0);
  });

  test('a throttled form sign-in says how long to wait, in a bounded number', async () => {
    let last = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'nobody-here', password: 'wrong-0' },
    });
    for (let i = 1; i < 12 && last.status !== 429; i++) {
      last = await request(server.url, 'POST', '/auth/login', {
        json: { username: 'nobody-here', password: `wrong-${i}` },
      });
    }
    assert.equal(last.status, 429, 'JSON clients keep their 429');
    assert.ok(Number(last.headers['retry-after']) > 0);
    const form = await request(server.url, 'POST', '/auth/login', {
      form: { username: 'nobody-here', password: 'wrong-again' },
    });
    assert.equal(form.status, 303);
    const location = new URL(String(form.headers.location), server.url);
    assert.equal(location.pathname, '/login');
    assert.equal(location.searchParams.get('error'), 'too_many_requests');
    assert.equal(location.searchParams.get('username'), 'nobody-here');
    const retry = Number(location.searchParams.get('retry'));
    assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 86_400, String(retry));
    const page = await request(server.url, 'GET', `${location.pathname}${location.search}`, {
      headers: HTML,
    });
    assert.match(page.text, /Too many failed attempts\. Try again in \d+ (second|minute)s?\./);
  });

  test('the sign-in page says only what its closed set of codes says, and escapes the username', async () => {
    const forged = await request(
      server.url,
      'GET',
      `/login?error=${encodeURIComponent('<b>Locked: call 555</b>')}&username=${encodeURIComponent('"><script>alert(1)</script>')}`,
      { headers: HTML },
    );
    assert.equal(forged.status, 200);
    assert.doesNotMatch(forged.text, /call 555/);
    assert.doesNotMatch(forged.text, /role="alert"/, 'an unknown code says nothing');
    assert.doesNotMatch(forged.text, /<script>alert/);
    assert.match(forged.text, /value="&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;"/);
    const huge = await request(server.url, 'GET', '/login?error=too_many_requests&retry=99999999', {
      headers: HTML,
    });
    assert.equal(huge.status, 400, 'the wait is a bounded integer');
    const long = await request(server.url, 'GET', `/login?error=${'x'.repeat(33)}`, { headers: HTML });
    assert.equal(long.status, 400);
    const repeated = await request(server.url, 'GET', '/login?username=a&username=b', { headers: HTML });
    assert.equal(repeated.status, 400);
  });

  test('a form post from a tab whose login ended goes to the sign-in page; JSON keeps its 401', async () => {
    const tab = new Client(server.url);
    await tab.post('/auth/login', { form: { username: 'alice', password: 'alice-password' } });
    const cookies = tab.cookieHeader() as string;
    await tab.post('/auth/logout', { form: {} });
    for (const [path, form] of [
      ['/auth/logout-all', { keepCurrent: 'true' }],
      ['/auth/sessions/AAAAAAAAAAAAAAAAAAAAAA/revoke', {}],
      ['/auth/password', { current_password: 'alice-password', new_password: 'x'.repeat(20) }],
    ] as const) {
      // The stale tab still sends the ended login's cookie.
      const stale = await request(server.url, 'POST', path, {
        form,
        headers: { cookie: cookies, 'sec-fetch-site': 'same-origin' },
      });
      assert.equal(stale.status, 303, `${path}: ${stale.text}`);
      assert.equal(stale.headers.location, '/login?error=signed_out', path);
      const api = await request(server.url, 'POST', path, { json: form, headers: { cookie: cookies } });
      assert.equal(api.status, 401, path);
      assert.equal(api.json.error.code, 'unauthenticated', path);
      // A forged post from another site keeps its refusal: only keycard's own pages are sent on.
      for (const site of ['cross-site', 'same-site']) {
        const forged = await request(server.url, 'POST', path, {
          form,
          headers: { cookie: cookies, 'sec-fetch-site': site, origin: 'https://evil.example' },
        });
        assert.equal(forged.status, 401, `${path} from a ${site} page`);
      }
    }
    const page = await request(server.url, 'GET', '/login?error=signed_out', { headers: HTML });
    assert.match(page.text, /You have been signed out\. Sign in again\./);
  });

  test('the favicon: an ICO where browsers ask for it, an SVG linked from every page', async () => {
    const ico = await request(server.url, 'GET', '/favicon.ico');
    assert.equal(ico.status, 200);
    assert.equal(ico.headers['content-type'], 'image/x-icon');
    // ICONDIR (6) + one entry (16) + BITMAPINFOHEADER (40) + 16×16 BGRA + the AND mask (16 × 4).
    assert.equal(ico.headers['content-length'], String(6 + 16 + 40 + 16 * 16 * 4 + 64));
    assert.equal(ico.text.slice(0, 4), '\u0000\u0000\u0001\u0000', 'an ICONDIR of type icon');
    const svg = await request(server.url, 'GET', '/favicon.svg');
    assert.equal(svg.status, 200);
    assert.match(svg.headers['content-type'] ?? '', /^image\/svg\+xml/);
    assert.match(svg.text, /^<svg /);
    const page = await request(server.url, 'GET', '/login', { headers: HTML });
    assert.match(page.text, /<link rel="icon" href="\/favicon.svg" type="image\/svg\+xml">/);
  });

  test('a cross-site form post gets a 403 page, not a login', async () => {
    const response = await request(server.url, 'POST', '/auth/login', {
      form: { username: 'alice', password: 'alice-password' },
      headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
    });
    assert.equal(response.status, 403);
    assert.match(response.headers['content-type'] ?? '', /text\/html/);
    assert.equal(response.setCookies.length, 0);
  });

  test('unknown routes get 404 in the error format', async () => {
    const response = await request(server.url, 'GET', '/nope');
    assert.equal(response.status, 404);
    assert.equal(response.json.error.code, 'not_found');
  });
});

describe('server: pages with access tokens in cookies (spa)', () => {
  let server: TestServer;
  const clock = new ManualClock(Date.now());

  before(async () => {
    server = await startTestServer({ storeURL: 'memory:', clock, flags: { preset: 'spa' } });
    await server.keycard.users.create({ username: 'alice', password: 'alice-password' });
  });
  after(async () => {
    await server?.close();
  });

  // guards: a stale tab whose access token merely expired (a laptop that slept through its refresh)
  test('a form post with an expired access token lands on /login, which refreshes before asking', async () => {
    const tab = new Client(server.url);
    const login = await tab.post('/auth/login', { form: { username: 'alice', password: 'alice-password' } });
    assert.equal(login.status, 303);
    clock.advanceSeconds(16 * 60); // past the 15-minute access token
    const stale = await tab.post('/auth/logout-all', {
      form: { keepCurrent: 'true' },
      headers: { 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(stale.status, 303);
    assert.equal(stale.headers.location, '/login?error=signed_out');
    const page = await tab.get(String(stale.headers.location), { headers: HTML });
    assert.equal(page.status, 200);
    assert.match(page.text, /Signing you in/, 'the page that refreshes first');
    assert.match(page.text, /<body data-resume>/);
    // Without an access token at all, the sign-in form itself.
    const fresh = await request(server.url, 'GET', '/login?error=signed_out', { headers: HTML });
    assert.match(fresh.text, /You have been signed out/);
  });
});
