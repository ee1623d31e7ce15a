/**
 * The audit log as createKeycard wires it: every event appended to the store (memory and SQLite, real
 * stores), a typed username kept only as a truncated hash, an append that fails never failing the
 * request, and pruning by the retention on the keycard's clock.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { createKeySet, generateJWTKey } from '../../src/core/jwt/keys.js';
import { createKeycard, type Keycard } from '../../src/core/keycard.js';
import type { AuditRecord, Store } from '../../src/core/store.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import { ManualClock } from '../helpers/clock.js';
import { expectKeycardError, FAST_ARGON2, requestInfo } from './support.js';

const PASSWORD = 'correct horse battery staple';
const TYPED = 'Mallory-Typed-Name';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function keycardOn(
  store: Store,
  clock: ManualClock,
  extra: Partial<Parameters<typeof createKeycard>[0]> = {},
) {
  return createKeycard({
    store,
    clock,
    strategy: 'jwt',
    environment: 'development',
    passwords: { argon2: FAST_ARGON2 },
    jwt: { keys: createKeySet([generateJWTKey('EdDSA', 'k1')]), transport: 'header' },
    ...extra,
  });
}

function request(keycard: Keycard, access?: string) {
  return keycard.authenticate(
    requestInfo({
      method: 'POST',
      ip: '198.51.100.7',
      headers: {
        host: 'api.example',
        'user-agent': `agent/1.0 ${'x'.repeat(400)}`,
        authorization: access && `Bearer ${access}`,
      },
    }),
    () => assert.fail('a header client is sent no cookies'),
  );
}

const stores: [string, (clock: ManualClock) => Store][] = [
  ['memory', (clock) => new MemoryStore({ clock })],
  ['sqlite', (clock) => new SQLiteStore({ path: ':memory:', clock })],
];

for (const [name, open] of stores) {
  describe(`audit log through createKeycard: ${name}`, () => {
    test('a successful refresh is not recorded, so a login does not grow the log with use; a bad one is', async () => {
      const clock = new ManualClock(Date.now());
      const store = open(clock);
      const keycard = keycardOn(store, clock);
      try {
        await keycard.users.create({ username: 'alice', password: PASSWORD });
        const context = await request(keycard);
        assert.ok((await keycard.signIn(context, { username: 'alice', password: PASSWORD })).ok);
        let refreshToken = context.tokens?.refresh_token as string;
        await keycard.audit?.flush();
        const before = (await keycard.audit?.list({ limit: 100 }))?.length ?? 0;
        for (let i = 0; i < 5; i++) {
          clock.advance(60_000);
          const next = await request(keycard);
          await keycard.refresh(next, refreshToken);
          refreshToken = next.tokens?.refresh_token as string;
        }
        await keycard.audit?.flush();
        assert.equal(
          (await keycard.audit?.list({ limit: 100 }))?.length,
          before,
          'five refreshes, no record',
        );
        await keycard.refresh(await request(keycard), 'not-a-refresh-token').catch(() => {});
        await keycard.audit?.flush();
        const types = ((await keycard.audit?.list({ limit: 100 })) ?? []).map((r) => r.type);
        assert.ok(types.includes('refresh_failed'), types.join(', '));
      } finally {
        await keycard.close();
        await store.close();
      }
    });

    test('a login, a failed login, a logout and a block leave their records; a typed username only hashed', async () => {
      const clock = new ManualClock(Date.now());
      const store = open(clock);
      const keycard = keycardOn(store, clock);
      try {
        const alice = await keycard.users.create({ username: 'alice', password: PASSWORD });
        const context = await request(keycard);
        assert.ok((await keycard.signIn(context, { username: 'alice', password: PASSWORD })).ok);
        const access = context.tokens?.access_token;
        assert.ok(access);
        clock.advance(1);
        const failing = await request(keycard);
        const failed = await keycard.signIn(failing, { username: TYPED, password: 'a wrong password 1' });
        assert.equal(failed.ok, false);
        clock.advance(1);
        assert.ok(await (await request(keycard, access)).logout());
        clock.advance(1);
        const again = await request(keycard);
        assert.ok((await keycard.signIn(again, { username: 'alice', password: PASSWORD })).ok);
        clock.advance(1);
        await keycard.users.block(alice.id);
        await keycard.audit?.flush();

        const records = (await keycard.audit?.list({ limit: 100 })) ?? [];
        // Newest first; events of one millisecond (a block and the logins it ends) in id order.
        const t0 = clock.now() - 4;
        assert.deepEqual(
          records.map((r) => [r.at - t0, r.type]).sort(),
          [
            [0, 'user_created'],
            [0, 'login_succeeded'],
            [1, 'login_failed'],
            [2, 'logout'],
            [3, 'login_succeeded'],
            [4, 'user_blocked'],
            [4, 'sessions_revoked'],
          ].sort(),
        );
        assert.deepEqual(
          records.map((r) => r.at),
          records.map((r) => r.at).sort((a, b) => b - a),
        );
        assert.equal(records.find((r) => r.type === 'sessions_revoked')?.data.count, 1);
        assert.equal(records.find((r) => r.type === 'sessions_revoked')?.data.reason, 'blocked');
        const byType = (type: string) => records.find((r) => r.type === type) as AuditRecord;
        const login = byType('login_succeeded');
        assert.equal(login.userId, alice.id);
        assert.equal(login.ip, '198.51.100.7');
        assert.equal(login.userAgent?.length, 256, 'the user agent is cut to 256 characters');
        assert.equal(typeof login.data.sessionId, 'string');
        assert.equal(byType('logout').userId, alice.id);
        assert.equal(byType('user_blocked').userId, alice.id);

        const failure = byType('login_failed');
        assert.equal(failure.userId, null);
        assert.equal(failure.data.reason, 'invalid_credentials');
        assert.equal(failure.data.username, undefined);
        // No secret given: SHA-256, truncated to 96 bits.
        const expected = createHash('sha256').update(TYPED).digest().subarray(0, 12).toString('base64url');
        assert.equal(failure.data.usernameHash, `sha256:${expected}`);
        const everything = JSON.stringify(records);
        for (const secret of [TYPED, TYPED.toLowerCase(), 'a wrong password 1', PASSWORD, access]) {
          assert.ok(!everything.includes(secret), `${secret.slice(0, 12)}… is nowhere in the log`);
        }
        // Filters through the keycard's reader.
        assert.deepEqual(
          (await keycard.audit?.list({ limit: 100, userId: alice.id, types: ['logout'] }))?.map(
            (r) => r.type,
          ),
          ['logout'],
        );
        expectKeycardError(
          await keycard.audit?.list({ limit: 5000 }).then(
            () => assert.fail('refused'),
            (error: unknown) => error,
          ),
          'invalid_request',
        );
      } finally {
        await keycard.close();
        await store.close();
      }
    });

    test('with a secret, the typed username is an HMAC under a key derived from it', async () => {
      const clock = new ManualClock(Date.now());
      const store = open(clock);
      const secret = Buffer.alloc(32, 7);
      const keycard = keycardOn(store, clock, { audit: { secret } });
      try {
        await keycard.signIn(await request(keycard), { username: TYPED, password: 'a wrong password 1' });
        await keycard.audit?.flush();
        const [failure] = (await keycard.audit?.list({ limit: 10, types: ['login_failed'] })) ?? [];
        const key = createHmac('sha256', secret).update('keycard audit username v1').digest();
        const digest = createHmac('sha256', key).update(TYPED).digest().subarray(0, 12).toString('base64url');
        assert.equal(failure?.data.usernameHash, `hmac-sha256:${digest}`);
      } finally {
        await keycard.close();
        await store.close();
      }
    });

    test('records older than the retention are pruned, on the keycard clock', async () => {
      const clock = new ManualClock(Date.now());
      const store = open(clock);
      const keycard = keycardOn(store, clock, { audit: { retention: '2d' } });
      try {
        await keycard.users.create({ username: 'old', password: PASSWORD });
        clock.advance(DAY);
        await keycard.users.create({ username: 'newer', password: PASSWORD });
        await keycard.audit?.flush();
        assert.equal(await keycard.audit?.prune(), 0, 'nothing is two days old yet');
        clock.advance(DAY + 1);
        assert.equal(await keycard.audit?.prune(), 1);
        const left = (await keycard.audit?.list({ limit: 10 })) ?? [];
        assert.equal(left.length, 1);
        assert.equal(left[0]?.type, 'user_created');
        clock.advance(DAY);
        assert.equal(await keycard.audit?.prune(), 1);
        assert.deepEqual(await keycard.audit?.list({ limit: 10 }), []);
      } finally {
        await keycard.close();
        await store.close();
      }
    });
  });
}

test('a failing audit store fails no login; the failure goes to onHookError', async () => {
  const clock = new ManualClock(Date.now());
  const store = new MemoryStore({ clock });
  // A real store that cannot be reached: a SQLite store, closed.
  const broken = new SQLiteStore({ path: ':memory:', clock });
  await broken.close();
  const errors: unknown[] = [];
  const keycard = keycardOn(store, clock, {
    audit: { store: broken },
    onHookError: (error) => errors.push(error),
  });
  try {
    await keycard.users.create({ username: 'alice', password: PASSWORD });
    const context = await request(keycard);
    const result = await keycard.signIn(context, { username: 'alice', password: PASSWORD });
    assert.ok(result.ok, 'signed in although the audit log is down');
    assert.ok(context.tokens?.access_token);
    await keycard.audit?.flush();
    // The start-up prune, user_created, login_succeeded: each reported, none thrown.
    assert.ok(errors.length >= 2, `reported ${errors.length}`);
    for (const error of errors) expectKeycardError(error, 'store_unavailable');
  } finally {
    await keycard.close();
    await store.close();
  }
});

test('audit: false records nothing and offers no reader; a bad audit option is refused', async () => {
  const clock = new ManualClock(Date.now());
  const store = new MemoryStore({ clock });
  const off = keycardOn(store, clock, { audit: false });
  await off.users.create({ username: 'alice', password: PASSWORD });
  assert.equal(off.audit, null);
  assert.deepEqual(await store.listAudit({ limit: 10 }), []);
  await off.close();
  for (const audit of [{ retention: '30m' }, { retention: '90' }, { secret: Buffer.alloc(8) }, 'yes']) {
    assert.throws(
      () => keycardOn(store, clock, { audit: audit as never }),
      (error: unknown) => expectKeycardError(error, 'invalid_configuration') !== undefined,
    );
  }
  await store.close();
});
