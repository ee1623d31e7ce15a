/**
 * The second-factor pages over HTTP (docs/mfa.md), on the memory store with a manual clock: a sensitive
 * form refused for want of a recent proof goes to /step-up and back only to this site, a forged one keeps
 * its 403, /step-up says nothing a link carries, and the enrolment page shows its secret uncached. The
 * browser flow is test/browser/mfa.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateSync } from 'otplib';
import { ManualClock } from '../helpers/clock.js';
import { Client } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'a passphrase for the pages';
const HTML = { accept: 'text/html' };

describe('server: second-factor pages', () => {
  let server: TestServer;
  const clock = new ManualClock(Date.now());
  const host = () => new URL(server.url).host;

  before(async () => {
    server = await startTestServer({ clock, storeURL: 'memory:' });
    for (const username of ['ada', 'bo', 'cy'])
      await server.keycard.users.create({ username, password: PASSWORD });
  });
  after(async () => server?.close());

  /** Signs `username` in by the form and adds an app by the forms; the client and the app's key. */
  async function withApp(username: string): Promise<{ client: Client; secret: string }> {
    const client = new Client(server.url);
    const signedIn = await client.post('/auth/login', { form: { username, password: PASSWORD } });
    assert.equal(signedIn.status, 303);
    const enrol = await client.post('/auth/mfa/totp', { form: { name: `${username}'s phone` } });
    assert.equal(enrol.status, 200);
    assert.match(String(enrol.headers['content-type']), /^text\/html/);
    assert.equal(enrol.headers['cache-control'], 'no-store');
    assert.match(enrol.text, /<svg role="img"/);
    assert.doesNotMatch(enrol.text, /<script/);
    const secret = /data-secret="([A-Z2-7]+)"/.exec(enrol.text)?.[1] ?? '';
    const confirmed = await client.post('/auth/mfa/totp/confirm', {
      form: { code: generateSync({ secret, epoch: Math.floor(clock.now() / 1000) }) },
    });
    assert.equal(confirmed.status, 200);
    assert.match(confirmed.text, /<pre id="recovery-codes">[^<]+<\/pre>/);
    return { client, secret };
  }

  test('past the window, a form goes to /step-up and back to its own page, never elsewhere', async () => {
    const { client } = await withApp('ada');
    clock.advanceSeconds(11 * 60);
    const change = {
      current_password: PASSWORD,
      new_password: 'another passphrase',
      confirm_password: 'another passphrase',
    };

    const json = await client.post('/auth/password', { json: change });
    assert.equal(json.status, 403);
    assert.equal(json.json.error.code, 'step_up_required');

    const same = await client.post('/auth/password', {
      form: change,
      headers: { referer: `http://${host()}/account?cursor=x` },
    });
    assert.equal(same.status, 303);
    assert.equal(same.headers.location, `/step-up?next=${encodeURIComponent('/account?cursor=x')}`);

    const elsewhere = await client.post('/auth/password', {
      form: change,
      headers: { referer: 'https://evil.example/account' },
    });
    assert.equal(elsewhere.headers.location, '/step-up?next=%2Faccount');

    // A forged post from another site keeps its refusal: it learns nothing, and nothing is redirected.
    const forged = await client.post('/auth/mfa/recovery-codes', {
      form: {},
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(forged.status, 403);
    assert.equal(forged.headers.location, undefined);
  });

  test('/step-up keeps `next` on this site and says only the refusals it knows', async () => {
    const client = new Client(server.url);
    await client.post('/auth/login', { form: { username: 'bo', password: PASSWORD } });
    const cases: [string, string][] = [
      ['/admin/users/x', '/admin/users/x'],
      ['//evil.example/', '/account'],
      ['/\\evil.example', '/account'],
      ['https://evil.example/', '/account'],
    ];
    for (const [next, kept] of cases) {
      const page = await client.get(`/step-up?next=${encodeURIComponent(next)}`, { headers: HTML });
      assert.equal(page.status, 200);
      assert.match(page.text, new RegExp(`name="next" value="${kept.replace(/\//g, '\\/')}"`), next);
    }
    const said = await client.get('/step-up?error=invalid_code', { headers: HTML });
    assert.match(said.text, /code is not right/);
    const unknown = await client.get(`/step-up?error=${encodeURIComponent('<b>pwned</b>')}`, {
      headers: HTML,
    });
    assert.doesNotMatch(unknown.text, /pwned|role="alert"/);
    // bo has no factor: the page asks for the password.
    assert.match(said.text, /type="password"/);
    assert.equal(
      (await new Client(server.url).get('/step-up', { headers: HTML })).headers.location,
      '/login',
    );
  });

  test("another user's factor cannot be removed by its id", async () => {
    const { client: cy, secret } = await withApp('cy');
    const code = generateSync({ secret, epoch: Math.floor(clock.now() / 1000) + 30 });
    assert.equal((await cy.post('/auth/mfa/step-up', { json: { code } })).status, 200);
    const bo = await withApp('bo');
    const boFactor = (await bo.client.get('/auth/mfa')).json.factors.find(
      (factor: { kind: string }) => factor.kind === 'totp',
    );
    const attempt = await cy.post(`/auth/mfa/factors/${boFactor.id}/delete`, { json: {} });
    assert.equal(attempt.status, 404);
    assert.equal((await bo.client.get('/auth/mfa')).json.factors.length, 2, 'the app and the recovery codes');
  });
});

describe('server: the passkey buttons on the pages', () => {
  test('with --passkey-origin: on /login, the second step and /account; without: nowhere', async () => {
    for (const on of [true, false]) {
      const server = await startTestServer({
        storeURL: 'memory:',
        ...(on ? { flags: { 'passkey-origin': 'https://auth.example.com' } } : {}),
      });
      try {
        await server.keycard.users.create({ username: 'dee', password: PASSWORD });
        const client = new Client(server.url);
        const login = await client.get('/login', { headers: HTML });
        assert.equal(/data-passkey="login"/.test(login.text), on, `/login, passkeys ${on}`);
        assert.equal(login.text.includes('<script src="/assets/webauthn.js" defer>'), on);
        assert.doesNotMatch(login.text, /<script>/, 'no inline script');
        const signedIn = await client.post('/auth/login', { form: { username: 'dee', password: PASSWORD } });
        assert.equal(signedIn.status, 303);
        const account = await client.get('/account', { headers: HTML });
        assert.equal(/data-passkey="add"/.test(account.text), on, `/account, passkeys ${on}`);
        if (on) {
          const script = await client.get('/assets/webauthn.js');
          assert.equal(script.status, 200);
          assert.match(String(script.headers['content-type']), /javascript/);
          assert.match(script.text, /SimpleWebAuthnBrowser/);
        }
      } finally {
        await server.close();
      }
    }
  });
});
