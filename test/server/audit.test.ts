/**
 * Audit events end to end: a realistic day on the real server — failed and throttled logins, logins on
 * two devices, a revoked device, a cross-site attempt, an admin blocking and unblocking, malformed and
 * oversized bodies carrying a password, refresh rotation and a replayed refresh token — with the server's
 * logger writing into a buffer. Every event type must be in the log with who and from where, and the
 * whole log text must contain no password, session token, access or refresh token, or key-file secret.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { AuthEvent } from '../../src/index.js';
import { type KeycardServer, loadServerConfig, startServer } from '../../src/server/index.js';
import { ManualClock } from '../helpers/clock.js';
import { Client, request } from '../helpers/http.js';

const USER_AGENT = 'AuditTest/1.0 (scenario)';
const PASSWORDS = {
  admin: 'admin-Basalt-4410-meadow',
  bob: 'bob-Cinder-9023-orchard',
  carol: 'carol-Fjord-6617-lantern',
  wrong: 'wrong-Guess-3301-pebble',
  malformed: 'malformed-Heron-8822-quill',
  oversized: 'oversized-Ivory-5530-crane',
  form: 'form-Jasper-7745-willow',
};

interface LoggedServer extends KeycardServer {
  url: string;
  log: string[];
  dir: string;
}

async function startLoggedServer(
  clock: ManualClock,
  flags: Record<string, unknown> = {},
): Promise<LoggedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-audit-'));
  const log: string[] = [];
  const config = loadServerConfig({
    flags: {
      port: '0',
      host: '127.0.0.1',
      store: `sqlite:${join(dir, 'keycard.db')}`,
      keys: join(dir, 'keys.json'),
      'log-level': 'info',
      // Request lines too, so the no-secret checks cover them.
      'log-requests': true,
      ...flags,
    },
    env: {},
  });
  const server = await startServer(config, { clock, logStream: { write: (line) => log.push(line) } });
  return { ...server, log, dir };
}

/** Every secret of the key file: HMAC secrets and the private members of every JWK. */
function keyFileSecrets(path: string): string[] {
  const file = JSON.parse(readFileSync(path, 'utf8')) as {
    secrets: { secret: string }[];
    signingKeys: { jwk: Record<string, unknown> }[];
  };
  const secrets = file.secrets.map((entry) => entry.secret);
  for (const key of file.signingKeys) {
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
      const value = key.jwk[member];
      if (typeof value === 'string') secrets.push(value);
    }
  }
  return secrets;
}

/** The audit events as logged (each line is one pino JSON object). */
function loggedEvents(log: string[]): AuthEvent[] {
  return log
    .map((line) => JSON.parse(line) as { event?: AuthEvent })
    .flatMap((entry) => (entry.event ? [entry.event] : []));
}

function assertNoSecrets(text: string, secrets: Record<string, string>): void {
  for (const [name, secret] of Object.entries(secrets)) {
    assert.ok(secret.length >= 16, `${name} is long enough to search for`);
    assert.equal(text.includes(secret), false, `the log contains ${name}`);
  }
}

const headers = { 'user-agent': USER_AGENT };

describe('audit events and the log', () => {
  const servers: LoggedServer[] = [];
  after(async () => {
    for (const server of servers) {
      await server.close();
      rmSync(server.dir, { recursive: true, force: true });
    }
  });

  test('session strategy: every event is logged with who and from where; no secret is', async () => {
    const clock = new ManualClock(Date.now());
    const server = await startLoggedServer(clock);
    servers.push(server);
    const { keycard } = server;
    await keycard.users.create({ username: 'admin', password: PASSWORDS.admin, role: 'admin' });
    const bobId = (await keycard.users.create({ username: 'bob', password: PASSWORDS.bob })).id;
    const secrets: Record<string, string> = {};
    for (const [name, value] of Object.entries(PASSWORDS)) secrets[`password ${name}`] = value;

    // Someone guesses bob's password until throttled; bob's right password is refused too, then works.
    for (let i = 0; i < 6; i++) {
      await request(server.url, 'POST', '/auth/login', {
        json: { username: 'bob', password: `${PASSWORDS.wrong}-${i}` },
        headers,
      });
      secrets[`wrong password ${i}`] = `${PASSWORDS.wrong}-${i}`;
    }
    const throttled = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'bob', password: PASSWORDS.bob },
      headers,
    });
    assert.equal(throttled.status, 429);
    clock.advanceSeconds(Number(throttled.headers['retry-after']));

    // Bob signs in on a laptop and a phone, looks at his devices, and revokes the phone.
    const laptop = new Client(server.url);
    const phone = new Client(server.url);
    for (const device of [laptop, phone]) {
      const response = await device.post('/auth/login', {
        json: { username: 'bob', password: PASSWORDS.bob },
        headers,
      });
      assert.equal(response.status, 200, response.text);
    }
    secrets['laptop session token'] = laptop.cookies.get('keycard_session') ?? '';
    secrets['phone session token'] = phone.cookies.get('keycard_session') ?? '';
    assert.equal((await laptop.get('/auth/me', { headers })).status, 200);
    const phoneId = (await phone.get('/auth/me', { headers })).json.session.id;
    assert.equal((await laptop.delete(`/auth/sessions/${phoneId}`, { headers })).status, 200);

    // A page on another site posts with bob's cookie.
    const cross = await laptop.post('/auth/logout-all', {
      headers: { ...headers, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(cross.status, 403);

    // Input that carries a password but is refused before any check: malformed, oversized, a form.
    await request(server.url, 'POST', '/auth/login', {
      body: `{"username":"bob","password":"${PASSWORDS.malformed}"`,
      headers: { ...headers, 'content-type': 'application/json' },
    });
    await request(server.url, 'POST', '/auth/login', {
      json: { username: 'bob', password: PASSWORDS.oversized, filler: 'x'.repeat(20_000) },
      headers,
    });
    await request(server.url, 'POST', '/auth/login', {
      form: { username: 'bob', password: PASSWORDS.form },
      headers,
    });

    // The admin creates carol, blocks bob (ending his sessions) and unblocks him.
    const admin = new Client(server.url);
    assert.equal(
      (await admin.post('/auth/login', { json: { username: 'admin', password: PASSWORDS.admin }, headers }))
        .status,
      200,
    );
    secrets['admin session token'] = admin.cookies.get('keycard_session') ?? '';
    const created = await admin.post('/auth/admin/users', {
      json: { username: 'carol', password: PASSWORDS.carol },
      headers,
    });
    assert.equal(created.status, 201, created.text);
    assert.equal((await admin.post(`/auth/admin/users/${bobId}/block`, { headers })).status, 200);
    assert.equal((await laptop.get('/auth/me', { headers })).status, 401);
    assert.equal((await admin.post(`/auth/admin/users/${bobId}/unblock`, { headers })).status, 200);

    // Bob signs in again, logs out everywhere; the admin logs out.
    const again = new Client(server.url);
    await again.post('/auth/login', { json: { username: 'bob', password: PASSWORDS.bob }, headers });
    secrets['later session token'] = again.cookies.get('keycard_session') ?? '';
    assert.equal((await again.post('/auth/logout-all', { headers })).status, 200);
    assert.equal((await admin.post('/auth/logout', { headers })).status, 200);

    const events = loggedEvents(server.log);
    const types = new Set(events.map((event) => event.type));
    for (const type of [
      'login_failed',
      'throttled',
      'login_succeeded',
      'session_revoked',
      'cross_site_rejected',
      'user_created',
      'user_blocked',
      'sessions_revoked',
      'user_unblocked',
      'logout',
    ] as const) {
      assert.ok(types.has(type), `${type} is in the log`);
    }
    for (const event of events) {
      if (event.type === 'user_created' && !event.ip) continue; // the two created by the test itself
      assert.ok(event.ip, `${event.type} has the address`);
      assert.equal(event.userAgent, USER_AGENT, `${event.type} has the user agent`);
    }
    const crossSite = events.find((event) => event.type === 'cross_site_rejected');
    assert.deepEqual(
      crossSite && { userId: crossSite.userId, path: crossSite.path, method: crossSite.method },
      { userId: bobId, path: '/auth/logout-all', method: 'POST' },
    );
    assert.ok(
      events.some((event) => event.type === 'login_succeeded' && event.userId === bobId && event.sessionId),
    );

    keyFileSecrets(join(server.dir, 'keys.json')).forEach((secret, i) => {
      secrets[`key-file secret ${i}`] = secret;
    });
    assert.ok(
      Object.keys(secrets).some((name) => name.startsWith('key-file')),
      'the key file has secrets',
    );
    assertNoSecrets(server.log.join(''), secrets);
  });

  for (const [label, flags] of [
    ['jwt strategy', { preset: 'api' }],
    ['hybrid strategy', { strategy: 'hybrid', transport: 'header' }],
  ] as const) {
    test(`${label}: tokens, refresh rotation and reuse are logged without any token`, async () => {
      const clock = new ManualClock(Date.now());
      const server = await startLoggedServer(clock, flags);
      servers.push(server);
      await server.keycard.users.create({ username: 'bob', password: PASSWORDS.bob });
      const secrets: Record<string, string> = {
        'password bob': PASSWORDS.bob,
        'password wrong': PASSWORDS.wrong,
      };

      await request(server.url, 'POST', '/auth/login', {
        json: { username: 'bob', password: PASSWORDS.wrong },
        headers,
      });
      const login = await request(server.url, 'POST', '/auth/login', {
        json: { username: 'bob', password: PASSWORDS.bob },
        headers,
      });
      assert.equal(login.status, 200, login.text);
      const first = login.json as { access_token: string; refresh_token: string };
      const refreshed = await request(server.url, 'POST', '/auth/refresh', {
        json: { refresh_token: first.refresh_token },
        headers,
      });
      assert.equal(refreshed.status, 200, refreshed.text);
      const second = refreshed.json as { access_token: string; refresh_token: string };
      assert.equal(
        (
          await request(server.url, 'GET', '/auth/me', {
            headers: { ...headers, authorization: `Bearer ${second.access_token}` },
          })
        ).status,
        200,
      );
      // The first refresh token, replayed after the grace window: the login is revoked.
      clock.advanceSeconds(60);
      const replay = await request(server.url, 'POST', '/auth/refresh', {
        json: { refresh_token: first.refresh_token },
        headers,
      });
      assert.equal(replay.status, 401);
      assert.equal(replay.json.error.code, 'refresh_token_reused');
      // A tampered token and a logout with a fresh login.
      await request(server.url, 'GET', '/auth/me', {
        headers: { ...headers, authorization: `Bearer ${second.access_token.slice(0, -4)}AAAA` },
      });
      const third = (
        await request(server.url, 'POST', '/auth/login', {
          json: { username: 'bob', password: PASSWORDS.bob },
          headers,
        })
      ).json as { access_token: string; refresh_token: string };
      assert.equal(
        (
          await request(server.url, 'POST', '/auth/logout', {
            headers: { ...headers, authorization: `Bearer ${third.access_token}` },
          })
        ).status,
        200,
      );

      for (const [name, tokens] of Object.entries({ first, second, third })) {
        secrets[`${name} access token`] = tokens.access_token;
        secrets[`${name} access token signature`] = tokens.access_token.split('.')[2] ?? '';
        secrets[`${name} refresh token`] = tokens.refresh_token;
      }
      keyFileSecrets(join(server.dir, 'keys.json')).forEach((secret, i) => {
        secrets[`key-file secret ${i}`] = secret;
      });

      const events = loggedEvents(server.log);
      const types = new Set(events.map((event) => event.type));
      for (const type of [
        'login_failed',
        'login_succeeded',
        'token_refreshed',
        'refresh_token_reused',
        'logout',
      ] as const) {
        assert.ok(types.has(type), `${type} is in the log`);
      }
      for (const event of events.filter((event) => event.type !== 'user_created')) {
        assert.ok(event.ip, `${event.type} has the address`);
        assert.equal(event.userAgent, USER_AGENT, `${event.type} has the user agent`);
      }
      assertNoSecrets(server.log.join(''), secrets);
    });
  }

  test('request lines are logged only with logRequests; audit events either way', async () => {
    for (const logRequests of [false, true]) {
      const server = await startLoggedServer(new ManualClock(Date.now()), { 'log-requests': logRequests });
      servers.push(server);
      await server.keycard.users.create({ username: 'bob', password: PASSWORDS.bob });
      const response = await request(server.url, 'POST', '/auth/login', {
        json: { username: 'bob', password: PASSWORDS.wrong },
        headers,
      });
      assert.equal(response.status, 401);
      const entries = server.log.map((line) => JSON.parse(line) as { msg?: string; req?: { url?: string } });
      const requestLines = entries.filter((entry) => entry.req?.url === '/auth/login');
      assert.equal(requestLines.length > 0, logRequests, `request lines with logRequests=${logRequests}`);
      assert.ok(
        loggedEvents(server.log).some((event) => event.type === 'login_failed'),
        'the audit event is logged',
      );
    }
  });
});
