/**
 * API clients over real HTTP: the OAuth 2.0 token endpoint (client credentials, RFC 6749 §4.4 and §5.2)
 * and the admin API, with an injected clock for the rotation overlap.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ManualClock } from '../helpers/clock.js';
import { Client, request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const form = (fields: Record<string, string>) => ({ form: fields });
const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
});

describe('server: API clients (client credentials)', () => {
  const clock = new ManualClock(Date.now());
  let server: TestServer;
  let admin: Client;

  before(async () => {
    server = await startTestServer({ clock });
    await server.keycard.users.create({ username: 'root', password: 'root-password-1', role: 'admin' });
    await server.keycard.users.create({ username: 'carol', password: 'carol-password-1' });
    admin = new Client(server.url);
    assert.equal(
      (await admin.post('/auth/login', { json: { username: 'root', password: 'root-password-1' } })).status,
      200,
    );
  });
  after(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    // Changing clients is an admin action, and tests move the clock past the step-up window (docs/mfa.md).
    const stepped = await admin.post('/auth/mfa/step-up', { json: { password: 'root-password-1' } });
    assert.equal(stepped.status, 200, stepped.text);
  });

  async function newClient(
    scopes = ['orders:read', 'orders:write'],
  ): Promise<{ id: string; secret: string }> {
    const created = await admin.post('/auth/admin/clients', { json: { name: 'billing', scopes } });
    assert.equal(created.status, 201, created.text);
    assert.match(created.json.client_secret, /^kcs_/);
    return { id: created.json.client.client_id, secret: created.json.client_secret };
  }

  const token = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    request(server.url, 'POST', '/auth/token', { ...form(fields), headers });

  test('HTTP Basic or form fields get a Bearer token with the granted scope', async () => {
    const { id, secret } = await newClient();
    const viaBasic = await token(
      { grant_type: 'client_credentials', scope: 'orders:read' },
      basic(id, secret),
    );
    assert.equal(viaBasic.status, 200, viaBasic.text);
    assert.deepEqual(Object.keys(viaBasic.json).sort(), [
      'access_token',
      'expires_in',
      'scope',
      'token_type',
    ]);
    assert.equal(viaBasic.json.token_type, 'Bearer');
    assert.equal(viaBasic.json.scope, 'orders:read');
    assert.equal(viaBasic.headers['cache-control'], 'no-store');
    assert.equal(viaBasic.headers.pragma, 'no-cache');
    const viaForm = await token({ grant_type: 'client_credentials', client_id: id, client_secret: secret });
    assert.equal(viaForm.status, 200);
    assert.equal(viaForm.json.scope, 'orders:read orders:write');
    const [header, payload] = (viaForm.json.access_token as string)
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    assert.equal(header.typ, 'client-at+jwt');
    assert.equal(payload.client_id, id);
  });

  test('a wrong secret, an unknown client and a disabled client get 401 invalid_client with a challenge', async () => {
    const { id, secret } = await newClient();
    const wrong = await token({ grant_type: 'client_credentials' }, basic(id, `${secret}x`));
    assert.equal(wrong.status, 401);
    assert.deepEqual(Object.keys(wrong.json).sort(), ['error', 'error_description']);
    assert.equal(wrong.json.error, 'invalid_client');
    assert.match(String(wrong.headers['www-authenticate']), /^Basic realm="keycard"/);
    assert.equal(wrong.text.includes(secret), false);
    const unknown = await token(
      { grant_type: 'client_credentials' },
      basic('kc_AAAAAAAAAAAAAAAAAAAAAA', secret),
    );
    assert.equal(unknown.status, 401);
    assert.equal((await admin.post(`/auth/admin/clients/${id}/disable`)).status, 200);
    const disabled = await token({ grant_type: 'client_credentials' }, basic(id, secret));
    assert.equal(disabled.status, 401);
    assert.equal(disabled.json.error, 'invalid_client');
    assert.equal((await admin.post(`/auth/admin/clients/${id}/enable`)).status, 200);
    assert.equal((await token({ grant_type: 'client_credentials' }, basic(id, secret))).status, 200);
  });

  test('scope escalation → 400 invalid_scope; other grants → unsupported_grant_type; malformed → invalid_request', async () => {
    const { id, secret } = await newClient(['orders:read']);
    const escalate = await token(
      { grant_type: 'client_credentials', scope: 'orders:read admin' },
      basic(id, secret),
    );
    assert.equal(escalate.status, 400);
    assert.equal(escalate.json.error, 'invalid_scope');
    const password = await token(
      { grant_type: 'password', username: 'carol', password: 'x' },
      basic(id, secret),
    );
    assert.equal(password.status, 400);
    assert.equal(password.json.error, 'unsupported_grant_type');
    const missing = await token({}, basic(id, secret));
    assert.equal(missing.json.error, 'invalid_request');
    const both = await token(
      { grant_type: 'client_credentials', client_id: id, client_secret: secret },
      basic(id, secret),
    );
    assert.equal(both.status, 400);
    assert.equal(both.json.error, 'invalid_request');
    const repeated = await request(server.url, 'POST', '/auth/token', {
      body: 'grant_type=client_credentials&grant_type=client_credentials',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...basic(id, secret) },
    });
    assert.equal(repeated.status, 400);
    assert.equal(repeated.json.error, 'invalid_request');
  });

  test('failed client authentications are throttled like logins', async () => {
    const { id, secret } = await newClient();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await token({ grant_type: 'client_credentials' }, basic(id, 'kcs_wrong'))).status);
    }
    assert.ok(statuses.includes(429), String(statuses));
    const throttled = await token({ grant_type: 'client_credentials' }, basic(id, secret));
    assert.equal(throttled.status, 429, 'even the right secret waits');
    assert.ok(Number(throttled.headers['retry-after']) > 0);
    clock.advanceSeconds(3600);
    assert.equal((await token({ grant_type: 'client_credentials' }, basic(id, secret))).status, 200);
  });

  test('a client token is refused where a user is required, and a user cannot get a client token', async () => {
    const { id, secret } = await newClient();
    const issued = await token({ grant_type: 'client_credentials' }, basic(id, secret));
    const me = await request(server.url, 'GET', '/auth/me', {
      headers: { authorization: `Bearer ${issued.json.access_token}` },
    });
    assert.equal(me.status, 401);
    const asUser = await token({
      grant_type: 'client_credentials',
      client_id: 'carol',
      client_secret: 'carol-password-1',
    });
    assert.equal(asUser.status, 401);
  });

  test('rotation: the old secret works through the overlap, then not', async () => {
    const { id, secret } = await newClient();
    const rotated = await admin.post(`/auth/admin/clients/${id}/rotate-secret`, { json: { overlap: '10m' } });
    assert.equal(rotated.status, 200, rotated.text);
    const fresh = rotated.json.client_secret as string;
    assert.notEqual(fresh, secret);
    assert.equal((await token({ grant_type: 'client_credentials' }, basic(id, secret))).status, 200);
    assert.equal((await token({ grant_type: 'client_credentials' }, basic(id, fresh))).status, 200);
    clock.advanceSeconds(601);
    assert.equal((await token({ grant_type: 'client_credentials' }, basic(id, secret))).status, 401);
    assert.equal((await token({ grant_type: 'client_credentials' }, basic(id, fresh))).status, 200);
    // Past the step-up window now: confirmed again before the next admin action.
    assert.equal((await admin.post(`/auth/admin/clients/${id}/rotate-secret`, { json: {} })).status, 403);
    await admin.post('/auth/mfa/step-up', { json: { password: 'root-password-1' } });
    const bad = await admin.post(`/auth/admin/clients/${id}/rotate-secret`, { json: { overlap: 'soon' } });
    assert.equal(bad.status, 400);
  });

  test('only admins manage clients; secrets are never listed', async () => {
    await newClient();
    const carol = new Client(server.url);
    await carol.post('/auth/login', { json: { username: 'carol', password: 'carol-password-1' } });
    assert.equal((await carol.get('/auth/admin/clients')).status, 403);
    assert.equal(
      (await carol.post('/auth/admin/clients', { json: { name: 'x', scopes: ['a'] } })).status,
      403,
    );
    const list = await admin.get('/auth/admin/clients');
    assert.equal(list.status, 200);
    assert.ok(list.json.clients.length > 0);
    assert.equal(list.text.includes('kcs_'), false);
    assert.equal(list.text.includes('secret_hash') || list.text.includes('secretHash'), false);
    const invalid = await admin.post('/auth/admin/clients', { json: { name: 'x', scopes: ['has space'] } });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json.error.field, 'scopes');
    const { id } = await newClient();
    assert.equal((await admin.delete(`/auth/admin/clients/${id}`)).status, 200);
    assert.equal((await admin.delete(`/auth/admin/clients/${id}`)).status, 404);
  });

  // guards: issue 13 — client changes were not audited at all; from the admin API and from `keycard
  // client` (test/cli/audit.test.ts) they are the same typed events, emitted by core.
  test('each change to a client is an audit event saying where it came from', async () => {
    const start = server.events.length;
    const { id, secret } = await newClient(['orders:read']);
    const agent = { 'user-agent': 'ops-console/1.0' };
    assert.equal(
      (await admin.post(`/auth/admin/clients/${id}/rotate-secret`, { json: {}, headers: agent })).status,
      200,
    );
    assert.equal((await admin.post(`/auth/admin/clients/${id}/disable`, { headers: agent })).status, 200);
    assert.equal((await admin.post(`/auth/admin/clients/${id}/enable`, { headers: agent })).status, 200);
    assert.equal((await admin.delete(`/auth/admin/clients/${id}`, { headers: agent })).status, 200);
    const events = server.events.slice(start).filter((event) => event.type.startsWith('client_'));
    assert.deepEqual(
      events.map(({ ip, ...rest }) => rest),
      [
        { type: 'client_created', clientId: id, scopes: ['orders:read'], userAgent: null },
        { type: 'client_secret_rotated', clientId: id, userAgent: 'ops-console/1.0' },
        { type: 'client_disabled', clientId: id, userAgent: 'ops-console/1.0' },
        { type: 'client_enabled', clientId: id, userAgent: 'ops-console/1.0' },
        { type: 'client_removed', clientId: id, userAgent: 'ops-console/1.0' },
      ],
    );
    for (const event of events) assert.equal(typeof event.ip, 'string');
    assert.equal(JSON.stringify(events).includes(secret), false, 'never the secret');
  });

  test('the client list comes a page at a time, by id', async () => {
    for (let i = 0; i < 3; i++) await newClient();
    const all = (await admin.get('/auth/admin/clients?limit=1000')).json.clients.map(
      (c: { client_id: string }) => c.client_id,
    );
    assert.ok(all.length >= 3);
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const page = await admin.get(`/auth/admin/clients?limit=2${next ? `&after=${next}` : ''}`);
      assert.equal(page.status, 200, page.text);
      assert.ok(page.json.clients.length <= 2);
      seen.push(...page.json.clients.map((c: { client_id: string }) => c.client_id));
      next = page.json.next;
    } while (next);
    assert.deepEqual(seen, all, 'the pages, joined, are the whole list');
    assert.equal((await admin.get('/auth/admin/clients?limit=0')).status, 400);
  });
});
