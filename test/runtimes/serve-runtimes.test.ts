/**
 * `keycard serve` on Bun and on Deno, as users start it there (`bun bin/keycard.js serve`, `deno run
 * <permissions> bin/keycard.js serve`, over the built dist/), on each store: SQLite (the runtime's own
 * driver), memory, Redis and PostgreSQL. Driven over HTTP from Node:
 * - web-app preset (session, cookie): the first admin from KEYCARD_ADMIN_USERNAME and
 *   KEYCARD_ADMIN_PASSWORD_FILE, a JSON login, /auth/me, a logout without its CSRF token refused and one
 *   with it accepted (the cookie then dead), a wrong password 401, and a burst of wrong passwords 429
 *   (only in the burst: the first wait lasts a second, and no test here depends on how long one takes);
 * - api preset (jwt): login, a Bearer /auth/me, a refresh that rotates, a tampered refresh token
 *   refused, and logout killing the refresh token;
 * and each server must stop cleanly on SIGTERM. This proves the runtime loads what the server needs
 * (argon2's N-API addon, the SQLite driver, ioredis, pg) and that the security behaviour holds there.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { Redis } from 'ioredis';
import { runCommand } from '../helpers/command.js';
import { Client, parseSetCookie, request } from '../helpers/http.js';
import { postgresSkipReason, postgresURL, schemaScope } from '../helpers/postgres-schemas.js';
import { deleteKeysWithPrefix } from '../helpers/redis-servers.js';
import {
  builtCLI,
  childEnvironment,
  DENO_SERVE_PERMISSIONS,
  RUNTIMES,
  type RuntimeName,
  runtimeBinary,
  runtimeSkipReason,
} from '../helpers/runtimes.js';
import { type ServerLog, watchLog } from '../helpers/server-log.js';
import { REDIS_URL, redisSkipReason, uniqueName } from '../helpers/services.js';

const PASSWORD = 'lantern-Orchid-4471-meadow';
const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' };
const COOKIE = 'keycard_session';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

type StoreKind = 'sqlite' | 'memory' | 'redis' | 'postgres';
const STORES: StoreKind[] = ['sqlite', 'memory', 'redis', 'postgres'];
const SKIPS: Record<StoreKind, string | undefined> = {
  sqlite: undefined,
  memory: undefined,
  redis: await redisSkipReason(),
  postgres: await postgresSkipReason(),
};

const schemas = SKIPS.postgres === undefined ? schemaScope() : undefined;
const redisPrefixes: string[] = [];
after(async () => {
  if (redisPrefixes.length === 0) return;
  const redis = new Redis(REDIS_URL);
  try {
    for (const prefix of redisPrefixes) await deleteKeysWithPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
});

/** A store URL of the test's own: a new file, a new Redis key prefix, a new PostgreSQL schema. */
function storeURL(kind: StoreKind, dir: string): string {
  switch (kind) {
    case 'sqlite':
      return `sqlite:${join(dir, 'keycard.db')}`;
    case 'memory':
      return 'memory:';
    case 'redis': {
      const prefix = uniqueName('kcrt');
      redisPrefixes.push(prefix);
      return `${REDIS_URL}/?prefix=${prefix}`;
    }
    case 'postgres':
      return postgresURL({ schema: (schemas as NonNullable<typeof schemas>).fresh('kc_rt') });
  }
}

interface Served {
  url: string;
  log: ServerLog;
  child: ChildProcess;
}

/** Starts `keycard serve` on `runtime` in a new directory, the first admin from the environment. */
async function serve(
  t: TestContext,
  runtime: RuntimeName,
  cli: string,
  store: StoreKind,
  preset: string,
): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), `keycard-${runtime}-`));
  const passwordFile = join(dir, 'admin-password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  const serveArgs = [
    'serve',
    ...['--port', '0', '--host', '127.0.0.1', '--preset', preset, '--log-level', 'info'],
    ...['--store', storeURL(store, dir), '--keys', join(dir, 'keys.json')],
  ];
  const args =
    runtime === 'bun' ? [cli, ...serveArgs] : ['run', ...DENO_SERVE_PERMISSIONS, cli, ...serveArgs];
  const child = spawn(runtimeBinary(runtime), args, {
    cwd: dir,
    env: childEnvironment({ KEYCARD_ADMIN_USERNAME: 'admin', KEYCARD_ADMIN_PASSWORD_FILE: passwordFile }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const log = watchLog(child);
  const listening = await log.waitFor(/^Server listening at /);
  const url = /^Server listening at (http:\/\/127\.0\.0\.1:\d+)$/.exec(listening.msg)?.[1];
  assert.ok(url, listening.msg);
  await log.waitFor(/^created the first admin 'admin' \(username from KEYCARD_ADMIN_USERNAME/);
  return { url, log, child };
}

/** SIGTERM, then the process must close and exit 0 by itself. */
async function stop(served: Served): Promise<void> {
  served.child.kill('SIGTERM');
  const { code, signal } = await served.log.exited;
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, served.log.stderr());
  assert.ok(served.log.entries.some((entry) => /SIGTERM: shutting down/.test(entry.msg)));
}

/** web-app preset: session strategy, cookie transport, CSRF, throttling. */
async function sessionScenario(url: string): Promise<void> {
  const health = await request(url, 'GET', '/healthz');
  assert.equal(health.status, 200, health.text);

  const browser = new Client(url);
  const login = await browser.post('/auth/login', { json: { username: 'admin', password: PASSWORD } });
  assert.equal(login.status, 200, login.text);
  assert.equal(login.json.user.role, 'admin');
  assert.equal(typeof login.json.csrf_token, 'string');
  const cookie = parseSetCookie(login.setCookies[0] ?? '');
  assert.equal(cookie.name, COOKIE);
  assert.ok(cookie.attributes.has('httponly'));

  const me = await browser.get('/auth/me');
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.user.username, 'admin');

  // A cookie-authenticated logout without the session's CSRF token is refused; the login lives on.
  const forged = await browser.post('/auth/logout', { headers: SAME_ORIGIN });
  assert.equal(forged.status, 403, forged.text);
  assert.equal(forged.json.error.code, 'csrf_rejected');
  assert.deepEqual(forged.setCookies, []);
  assert.equal((await browser.get('/auth/me')).status, 200);

  const token = browser.cookies.get(COOKIE);
  const logout = await browser.post('/auth/logout', {
    headers: { ...SAME_ORIGIN, 'x-csrf-token': login.json.csrf_token },
  });
  assert.equal(logout.status, 200, logout.text);
  assert.equal(browser.cookies.has(COOKIE), false, 'the cookie is cleared');
  const replay = await request(url, 'GET', '/auth/me', {}, `${COOKIE}=${token}`);
  assert.equal(replay.status, 401, 'the logged-out cookie is dead');

  const wrong = await request(url, 'POST', '/auth/login', { json: { username: 'admin', password: 'wrong' } });
  assert.equal(wrong.status, 401, wrong.text);
  assert.equal(wrong.json.error.code, 'invalid_credentials');

  // A burst of wrong passwords: every attempt is counted before its password is checked, so past the
  // free failures (5) the rest are refused with 429 and Retry-After, however fast they come.
  const burst = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      request(url, 'POST', '/auth/login', { json: { username: 'admin', password: `wrong-${i}` } }),
    ),
  );
  assert.deepEqual(
    burst.filter((reply) => reply.status !== 401 && reply.status !== 429).map((reply) => reply.text),
    [],
  );
  const throttled = burst.filter((reply) => reply.status === 429);
  assert.ok(
    throttled.length >= 1,
    `a burst of 8 after 1 failure is throttled: ${burst.map((r) => r.status)}`,
  );
  for (const reply of throttled) {
    assert.equal(reply.json.error.code, 'too_many_requests');
    assert.ok(Number(reply.headers['retry-after']) >= 1, `Retry-After: ${reply.headers['retry-after']}`);
    assert.deepEqual(reply.setCookies, []);
  }
}

/** api preset: jwt strategy, header transport, refresh rotation. */
async function jwtScenario(url: string): Promise<void> {
  const login = await request(url, 'POST', '/auth/login', {
    json: { username: 'admin', password: PASSWORD },
  });
  assert.equal(login.status, 200, login.text);
  assert.equal(login.json.token_type, 'Bearer');
  const me = await request(url, 'GET', '/auth/me', { headers: bearer(login.json.access_token) });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.user.username, 'admin');

  const refreshed = await request(url, 'POST', '/auth/refresh', {
    json: { refresh_token: login.json.refresh_token },
  });
  assert.equal(refreshed.status, 200, refreshed.text);
  assert.notEqual(refreshed.json.refresh_token, login.json.refresh_token, 'rotated');
  const again = await request(url, 'GET', '/auth/me', { headers: bearer(refreshed.json.access_token) });
  assert.equal(again.status, 200, again.text);

  const token: string = refreshed.json.refresh_token;
  const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
  const forged = await request(url, 'POST', '/auth/refresh', { json: { refresh_token: tampered } });
  assert.equal(forged.status, 401, forged.text);

  const logout = await request(url, 'POST', '/auth/logout', { headers: bearer(refreshed.json.access_token) });
  assert.equal(logout.status, 200, logout.text);
  const dead = await request(url, 'POST', '/auth/refresh', { json: { refresh_token: token } });
  assert.equal(dead.status, 401, 'logout ended the refresh family');
}

for (const runtime of RUNTIMES) {
  const runtimeSkip = runtimeSkipReason(runtime);
  describe(`keycard serve on ${runtime}`, { skip: runtimeSkip }, () => {
    let cli: string;
    before(() => {
      cli = builtCLI();
    });

    for (const store of STORES) {
      test(`${store} store: first admin, login, me, CSRF-checked logout, 401, 429; jwt refresh`, {
        skip: SKIPS[store],
      }, async (t) => {
        const [session, jwt] = await Promise.all([
          serve(t, runtime, cli, store, 'web-app'),
          serve(t, runtime, cli, store, 'api'),
        ]);
        await Promise.all([sessionScenario(session.url), jwtScenario(jwt.url)]);
        await Promise.all([stop(session), stop(jwt)]);
      });
    }
  });
}

describe('the CLI on deno without a permission it needs', { skip: runtimeSkipReason('deno') }, () => {
  test('says which flag Deno refused, not "reinstall keycard", and exits 1', async () => {
    const cli = builtCLI();
    // Without --allow-ffi, argon2's addon cannot load.
    const result = await runCommand(
      runtimeBinary('deno'),
      ['run', '--allow-read', '--allow-env', cli, '--help'],
      {
        env: childEnvironment(),
      },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^keycard: Deno refused a permission the CLI needs \(.*--allow-ffi/m);
    assert.doesNotMatch(result.stderr, /reinstall/);
  });
});
