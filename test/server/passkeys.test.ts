/**
 * The passkey routes over HTTP, without a browser (test/browser/passkeys.test.ts makes real credentials in
 * Chromium): off without --passkey-origin, the setting checked, the options each ceremony gets, the
 * step-up rule before adding one, and challenges that are single use and bound to their ceremony — a
 * response naming a challenge never issued, or issued for another ceremony, is refused and uses it up.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { hashToken } from '../../src/core/random-tokens.js';
import { checkServerConfig } from '../../src/server/config.js';
import { ManualClock } from '../helpers/clock.js';
import { Client } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'a passphrase for passkeys';

/** A response shaped as a browser's, whose client data names `challenge` (no authenticator signed it). */
function unsigned(challenge: string, type: 'webauthn.create' | 'webauthn.get', origin: string) {
  const clientDataJSON = Buffer.from(JSON.stringify({ type, challenge, origin })).toString('base64url');
  return { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON } };
}

/** Signs in with the API preset's bearer token; the client and its headers. */
async function signIn(url: string, username: string) {
  const client = new Client(url);
  const login = await client.post('/auth/login', { json: { username, password: PASSWORD } });
  assert.equal(login.status, 200, login.text);
  return { client, headers: { authorization: `Bearer ${login.json.access_token}` } };
}

describe('passkeys: the setting', () => {
  const flags = (origin: string) => ({ flags: { 'passkey-origin': origin }, env: {} });

  test('an https origin, or http on localhost; nothing else', () => {
    assert.deepEqual(checkServerConfig(flags('https://auth.example.com')).errors, []);
    assert.deepEqual(checkServerConfig(flags('http://localhost:3000')).errors, []);
    for (const bad of ['http://auth.example.com', 'https://auth.example.com/login', 'auth.example.com']) {
      const { errors } = checkServerConfig(flags(bad));
      assert.equal(errors.length, 1, bad);
      assert.match(errors[0] ?? '', /--passkey-origin/);
    }
  });
});

describe('passkeys: off without --passkey-origin', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ storeURL: 'memory:', flags: { preset: 'api' } });
    await server.keycard.users.create({ username: 'ann', password: PASSWORD });
  });
  after(() => server?.close());

  test('every passkey route answers 404 not_found', async () => {
    const ann = await signIn(server.url, 'ann');
    for (const path of [
      '/auth/mfa/passkeys/options',
      '/auth/mfa/passkeys',
      '/auth/passkey/options',
      '/auth/login/passkey',
    ]) {
      const body = path.endsWith('options') ? {} : { response: unsigned('A'.repeat(43), 'webauthn.get', '') };
      const answer = await ann.client.post(path, { json: body, headers: ann.headers });
      assert.equal(answer.status, 404, path);
      assert.equal(answer.json.error.code, 'not_found');
    }
  });
});

describe('passkeys: options and challenges', () => {
  const origin = 'https://auth.example.com';
  let server: TestServer;
  let clock: ManualClock;

  before(async () => {
    clock = new ManualClock(Date.now());
    server = await startTestServer({
      storeURL: 'memory:',
      clock,
      flags: { preset: 'api', 'passkey-origin': origin },
    });
    for (const username of ['ann', 'ben', 'cat']) {
      await server.keycard.users.create({ username, password: PASSWORD });
    }
  });
  after(() => server?.close());
  beforeEach(() => clock.advance(61 * 60_000));

  test('registration options: discoverable, this relying party, the user named; a fresh challenge each time', async () => {
    const ann = await signIn(server.url, 'ann');
    const first = await ann.client.post('/auth/mfa/passkeys/options', { headers: ann.headers });
    assert.equal(first.status, 200, first.text);
    const { options } = first.json;
    assert.equal(options.rp.id, 'auth.example.com');
    assert.equal(options.user.name, 'ann');
    assert.equal(options.authenticatorSelection.residentKey, 'required');
    assert.equal(options.authenticatorSelection.userVerification, 'preferred');
    assert.deepEqual(options.excludeCredentials, []);
    const second = await ann.client.post('/auth/mfa/passkeys/options', { headers: ann.headers });
    assert.notEqual(second.json.options.challenge, options.challenge);
  });

  test('adding a passkey needs a recent proof: a login older than the window is asked to step up', async () => {
    const ben = await signIn(server.url, 'ben');
    clock.advance(11 * 60_000);
    const answer = await ben.client.post('/auth/mfa/passkeys/options', { headers: ben.headers });
    assert.equal(answer.status, 403);
    assert.equal(answer.json.error.code, 'step_up_required');
  });

  test('passwordless options name no credential and require user verification', async () => {
    const answer = await new Client(server.url).post('/auth/passkey/options', { json: {} });
    assert.equal(answer.status, 200);
    assert.equal(answer.json.options.rpId, 'auth.example.com');
    assert.equal(answer.json.options.userVerification, 'required');
    assert.equal(answer.json.options.allowCredentials, undefined);
    // Step-up options are for a signed-in user's own passkeys only.
    const anonymous = await new Client(server.url).post('/auth/passkey/options', { json: { step_up: true } });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.json.error.code, 'unauthenticated');
  });

  test('passwordless requests are bounded per client address (each options request stores a challenge)', async () => {
    const ask = () => new Client(server.url).post('/auth/passkey/options', { json: {} });
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) statuses.push((await ask()).status);
    assert.deepEqual(statuses.slice(0, 30), Array(30).fill(200));
    const refused = await ask();
    assert.equal(statuses[30], 429);
    assert.equal(refused.status, 429);
    assert.equal(refused.json.error.code, 'too_many_requests');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    // A passwordless sign-in from the same address is refused before any verification.
    const response = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'e30' } };
    const login = await new Client(server.url).post('/auth/login/passkey', { json: { response } });
    assert.equal(login.status, 429);
    clock.advance(16 * 60_000);
    assert.equal((await ask()).status, 200, 'the window passes');
  });

  test("a pending sign-in's options list its user's passkeys, for the client that signed in only", async () => {
    const cat = await server.keycard.users.findByUsername('cat');
    assert.ok(cat);
    const now = clock.now();
    await server.store.createFactor({
      id: 'passkey-of-cat',
      userId: cat.id,
      kind: 'passkey',
      name: 'Key',
      credentialId: 'Y2F0cy1rZXk',
      secret: JSON.stringify({
        v: 1,
        publicKey: 'AA',
        transports: ['usb'],
        userVerified: false,
        backedUp: false,
      }),
      counter: 0,
      confirmedAt: now,
      createdAt: now,
      lastUsedAt: null,
    });
    const client = new Client(server.url);
    const pending = await client.post('/auth/login', { json: { username: 'cat', password: PASSWORD } });
    assert.equal(pending.status, 401);
    assert.deepEqual(
      pending.json.factors,
      ['passkey', 'recovery'].filter((kind) => kind === 'passkey'),
    );
    const mfaToken = pending.json.mfa_token;

    const options = await client.post('/auth/passkey/options', { json: { mfa_token: mfaToken } });
    assert.equal(options.status, 200);
    assert.deepEqual(options.json.options.allowCredentials, [
      { id: 'Y2F0cy1rZXk', type: 'public-key', transports: ['usb'] },
    ]);
    const elsewhere = await client.post('/auth/passkey/options', {
      json: { mfa_token: mfaToken },
      headers: { 'user-agent': 'another browser' },
    });
    assert.equal(elsewhere.status, 401);
    assert.equal(elsewhere.json.error.code, 'token_invalid');
  });

  test('a challenge is single use and bound to its ceremony: the wrong one refused, and used up', async () => {
    const ann = await signIn(server.url, 'ann');
    const issued = await ann.client.post('/auth/mfa/passkeys/options', { headers: ann.headers });
    const { challenge } = issued.json.options;
    const stored = () =>
      server.store.getAccountToken(hashToken(challenge), 'webauthn_challenge', clock.now());
    assert.equal((await stored())?.userId, (await server.keycard.users.findByUsername('ann'))?.id);
    // A registration challenge answered at the passwordless sign-in: refused, and it is gone.
    const misused = await new Client(server.url).post('/auth/login/passkey', {
      json: { response: unsigned(challenge, 'webauthn.get', origin) },
    });
    assert.equal(misused.status, 401);
    assert.equal(misused.json.error.code, 'invalid_code');
    assert.equal(await stored(), null);
    // A challenge never issued, and client data that is not JSON.
    const unknown = await ann.client.post('/auth/mfa/passkeys', {
      json: { response: unsigned('A'.repeat(43), 'webauthn.create', origin) },
      headers: ann.headers,
    });
    assert.equal(unknown.status, 401);
    const garbled = await ann.client.post('/auth/mfa/passkeys', {
      json: {
        response: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'x' } },
      },
      headers: ann.headers,
    });
    assert.equal(garbled.status, 400);
    assert.equal(garbled.json.error.field, 'response');
  });
});
