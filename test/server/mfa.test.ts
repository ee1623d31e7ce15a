/**
 * Second factors on keycard serve (issue 18, docs/mfa.md), over HTTP: TOTP enrolment and sign-in with
 * codes computed by an independent implementation (otplib), recovery codes, the pending sign-in, step-up
 * on sensitive routes, the admin's reset, and the `amr` / `auth_time` a login records. Abuse cases: a
 * replayed code and a replayed pending token, a pending token from another client or expired, guessing
 * (per sign-in and per user), simultaneous second steps, step-up bypass on sensitive routes, a factor
 * removed while a sign-in waits for it. Every store, with each strategy on at least one.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { generateSync } from 'otplib';
import { clientRoutes } from '../../src/api/clients.js';
import { adminRoutes, authRoutes } from '../../src/api/routes.js';
import { ManualClock } from '../helpers/clock.js';
import { Client } from '../helpers/http.js';
import {
  browserPost,
  decodeJWT,
  fetchCSRFToken,
  SAME_ORIGIN,
  type StoreKind,
  type StrategyServer,
  startStrategyServer,
  storeSkipReasons,
} from '../security/helpers.js';

const PASSWORD = 'correct horse battery staple';
const SKIPS = await storeSkipReasons();
const STEP_MS = 30_000;

const CASES: [StoreKind, 'session' | 'jwt' | 'hybrid'][] = [
  ['memory', 'session'],
  ['sqlite', 'session'],
  ['redis', 'session'],
  ['postgres', 'session'],
  ['sqlite', 'jwt'],
  ['memory', 'hybrid'],
];

for (const [storeKind, strategy] of CASES) {
  describe(`second factors: ${strategy} on ${storeKind}`, { skip: SKIPS[storeKind] }, () => {
    let server: StrategyServer;
    let clock: ManualClock;
    let n = 0;

    /** A TOTP code of `secret` for the manual clock's time, shifted by `steps`. */
    const code = (secret: string, steps = 0) =>
      generateSync({ secret, epoch: Math.floor((clock.now() + steps * STEP_MS) / 1000) });

    const newUser = async (role = 'user') => {
      const username = `mfa${++n}`;
      const user = await server.keycard.users.create({ username, password: PASSWORD, role });
      return { username, id: user.id };
    };

    /** The first step of a browser sign-in: the answer, and the client with its pre-login cookie. */
    const firstStep = async (username: string, headers: Record<string, string> = {}) => {
      const client = new Client(server.url);
      const token = await fetchCSRFToken(client, { ...SAME_ORIGIN, ...headers });
      const response = await client.post('/auth/login', {
        json: { username, password: PASSWORD },
        headers: { ...SAME_ORIGIN, 'x-csrf-token': token, ...headers },
      });
      return { client, response, csrf: token };
    };

    const secondStep = async (
      client: Client,
      body: Record<string, unknown>,
      headers: Record<string, string> = {},
    ) => {
      const token = await fetchCSRFToken(client, { ...SAME_ORIGIN, ...headers });
      return client.post('/auth/login/mfa', {
        json: body,
        headers: { ...SAME_ORIGIN, 'x-csrf-token': token, ...headers },
      });
    };

    /** A signed-in user with a confirmed authenticator app: the client, the secret, the recovery codes. */
    const enrolled = async (role = 'user') => {
      const user = await newUser(role);
      const { client, response } = await firstStep(user.username);
      assert.equal(response.status, 200, response.text);
      const started = await browserPost(client, '/auth/mfa/totp', { name: 'Phone' });
      assert.equal(started.status, 200, started.text);
      const { secret } = started.json as { secret: string };
      const confirmed = await browserPost(client, '/auth/mfa/totp/confirm', { code: code(secret) });
      assert.equal(confirmed.status, 200, confirmed.text);
      clock.advance(STEP_MS);
      return { ...user, client, secret, recoveryCodes: confirmed.json.recovery_codes as string[] };
    };

    const signInWithCode = async (username: string, value: string) => {
      const first = await firstStep(username);
      assert.equal(first.response.status, 401, first.response.text);
      return secondStep(first.client, { mfa_token: first.response.json.mfa_token, code: value });
    };

    /** Token strategies: a new access token after the clock moved past the old one's lifetime. */
    const fresh = async (client: Client) => {
      if (strategy === 'session') return;
      const refreshed = await browserPost(client, '/auth/refresh', {});
      assert.equal(refreshed.status, 200, refreshed.text);
    };

    before(async () => {
      clock = new ManualClock(Date.now());
      // Passkeys on, so their routes are among the sensitive ones checked (the ceremonies themselves run
      // in Chromium: test/browser/passkeys.test.ts).
      server = await startStrategyServer(strategy, {
        store: storeKind,
        clock,
        flags: { 'passkey-origin': 'https://auth.example.com' },
      });
    });
    after(async () => {
      await server?.close();
    });
    beforeEach(() => {
      // Past every throttle window of the tests before (all tests share one client address).
      clock.advance(61 * 60_000);
    });

    test('enrolment: QR code and secret, a wrong first code refused, a right one confirms and gives recovery codes', async () => {
      const user = await newUser();
      const elsewhere = (await firstStep(user.username)).client;
      const { client } = await firstStep(user.username);
      const started = await browserPost(client, '/auth/mfa/totp', {});
      assert.equal(started.status, 200, started.text);
      const { secret, uri, qr_svg: svg } = started.json;
      assert.match(secret, /^[A-Z2-7]{32}$/);
      assert.match(uri, new RegExp(`^otpauth://totp/keycard:${user.username}\\?secret=${secret}&`));
      assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/);
      // Pending: listed unconfirmed, and not asked for at sign-in.
      const listed = await client.get('/auth/mfa');
      assert.deepEqual(
        listed.json.factors.map((f: { kind: string; confirmed: boolean }) => [f.kind, f.confirmed]),
        [['totp', false]],
      );
      assert.equal((await firstStep(user.username)).response.status, 200, 'a pending factor is no factor');
      const wrong = await browserPost(client, '/auth/mfa/totp/confirm', { code: code(secret, 5) });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.json.error.code, 'invalid_code');
      const right = await browserPost(client, '/auth/mfa/totp/confirm', { code: code(secret) });
      assert.equal(right.status, 200, right.text);
      assert.equal(right.json.factor.confirmed, true);
      assert.equal(right.json.recovery_codes.length, 10);
      assert.equal(new Set(right.json.recovery_codes).size, 10);
      // The first factor ends every other login (made with the password alone); this one stays.
      assert.equal((await browserPost(elsewhere, '/auth/logout-all', {})).status, 401);
      assert.equal((await client.get('/auth/mfa')).status, 200);
      assert.ok(
        server.events.some(
          (e) => e.type === 'sessions_revoked' && e.userId === user.id && e.reason === 'mfa_enrolled',
        ),
      );
      // At rest: neither the secret nor the codes in clear.
      const stored = await server.keycard.store.listFactors(user.id);
      assert.deepEqual(stored.map((f) => f.kind).sort(), ['recovery', 'totp']);
      for (const factor of stored) {
        assert.equal(factor.secret.includes(secret), false);
        for (const recovery of right.json.recovery_codes) {
          assert.equal(factor.secret.includes(recovery.replaceAll('-', '')), false);
        }
      }
      const events = server.events.filter((e) => 'userId' in e && e.userId === user.id).map((e) => e.type);
      assert.ok(events.includes('mfa_enrolled'));
      assert.ok(events.includes('recovery_codes_generated'));
    });

    test('sign-in: the password alone makes no login; the code finishes it once; amr and auth_time recorded', async () => {
      const user = await enrolled();
      const first = await firstStep(user.username);
      assert.equal(first.response.status, 401);
      assert.equal(first.response.json.error.code, 'mfa_required');
      assert.deepEqual(first.response.json.factors, ['totp', 'recovery']);
      assert.match(first.response.json.mfa_token, /^[A-Za-z0-9_-]{43}$/);
      assert.equal((await first.client.get('/auth/me')).status, 401, 'no login yet');
      const done = await secondStep(first.client, {
        mfa_token: first.response.json.mfa_token,
        code: code(user.secret),
      });
      assert.equal(done.status, 200, done.text);
      assert.equal(done.json.user.username, user.username);
      assert.equal((await first.client.get('/auth/me')).status, 200);
      const login = (await server.keycard.store.listUserLogins(user.id))[0];
      const recorded = login?.data.keycard_auth as { amr: string[]; mfaAt: number };
      assert.deepEqual([...recorded.amr].sort(), ['mfa', 'otp', 'pwd']);
      assert.equal(recorded.mfaAt, clock.now());
      if (strategy !== 'session') {
        // The access token in its cookie carries them too.
        const access = [...first.client.cookies].find(([name]) => name.includes('access'))?.[1];
        assert.ok(access, 'an access-token cookie');
        const claims = decodeJWT(access).payload as { amr: string[]; auth_time: number };
        assert.deepEqual([...claims.amr].sort(), ['mfa', 'otp', 'pwd']);
        assert.equal(claims.auth_time, Math.floor(clock.now() / 1000));
      }
      // The pending sign-in was used up; and the same code is refused even with a fresh one.
      const replayToken = await secondStep(first.client, {
        mfa_token: first.response.json.mfa_token,
        code: code(user.secret),
      });
      assert.equal(replayToken.status, 401);
      assert.equal(replayToken.json.error.code, 'token_invalid');
      const replayCode = await signInWithCode(user.username, code(user.secret));
      assert.equal(replayCode.status, 401);
      assert.equal(replayCode.json.error.code, 'invalid_code');
    });

    test('clock skew: one step either side is accepted, two are not, and an earlier step after a later one is refused', async () => {
      const user = await enrolled();
      // The enrolment's step is two behind now: one step back is still later than it.
      clock.advance(STEP_MS);
      assert.equal((await signInWithCode(user.username, code(user.secret, 2))).status, 401);
      assert.equal((await signInWithCode(user.username, code(user.secret, -1))).status, 200);
      assert.equal((await signInWithCode(user.username, code(user.secret, 1))).status, 200);
      // Step +1 was accepted: the current step is earlier, so it is refused too.
      const earlier = await signInWithCode(user.username, code(user.secret));
      assert.equal(earlier.json.error.code, 'invalid_code');
    });

    test('the pending sign-in: another client, expiry, five wrong codes, simultaneous right answers', async () => {
      const user = await enrolled();
      const first = await firstStep(user.username, { 'user-agent': 'browser A' });
      const token = first.response.json.mfa_token;
      const elsewhere = await secondStep(
        new Client(server.url),
        { mfa_token: token, code: code(user.secret) },
        { 'user-agent': 'browser B' },
      );
      assert.equal(elsewhere.status, 401);
      assert.equal(elsewhere.json.error.code, 'token_invalid');
      clock.advance(5 * 60_000);
      const late = await secondStep(
        first.client,
        { mfa_token: token, code: code(user.secret) },
        { 'user-agent': 'browser A' },
      );
      assert.equal(late.json.error.code, 'token_invalid', 'expired after 5 minutes');

      const guessed = await firstStep(user.username);
      const codes: string[] = [];
      for (let i = 0; i < 5; i++) {
        const answer = await secondStep(guessed.client, {
          mfa_token: guessed.response.json.mfa_token,
          code: '000000',
        });
        codes.push(answer.json.error.code);
      }
      assert.deepEqual(codes, [
        'invalid_code',
        'invalid_code',
        'invalid_code',
        'invalid_code',
        'token_invalid',
      ]);
      const burnt = await secondStep(guessed.client, {
        mfa_token: guessed.response.json.mfa_token,
        code: code(user.secret),
      });
      assert.equal(burnt.json.error.code, 'token_invalid', 'the right code cannot revive it');

      clock.advance(STEP_MS);
      const raced = await firstStep(user.username);
      const right = code(user.secret);
      const csrf = await fetchCSRFToken(raced.client, SAME_ORIGIN);
      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          raced.client.post('/auth/login/mfa', {
            json: { mfa_token: raced.response.json.mfa_token, code: right },
            headers: { ...SAME_ORIGIN, 'x-csrf-token': csrf },
          }),
        ),
      );
      assert.equal(answers.filter((a) => a.status === 200).length, 1, answers.map((a) => a.text).join('\n'));
    });

    test('guessing across sign-ins is throttled per user: 10 wrong codes, then 429 even for the right one', async () => {
      const user = await enrolled();
      let refused = 0;
      while (refused < 10) {
        const first = await firstStep(user.username);
        for (let i = 0; i < 4 && refused < 10; i++, refused++) {
          const answer = await secondStep(first.client, {
            mfa_token: first.response.json.mfa_token,
            code: '123456',
          });
          assert.equal(answer.status, 401);
        }
      }
      const blocked = await signInWithCode(user.username, code(user.secret));
      assert.equal(blocked.status, 429);
      assert.ok(Number(blocked.headers['retry-after']) > 0);
      clock.advance(16 * 60_000);
      assert.equal((await signInWithCode(user.username, code(user.secret))).status, 200);
    });

    test('simultaneous guesses are counted before they are checked: 25 at once, 10 checked', async () => {
      const user = await enrolled();
      const csrf = await fetchCSRFToken(user.client, SAME_ORIGIN);
      const answers = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          user.client.post('/auth/mfa/step-up', {
            json: { code: String(100000 + i) },
            headers: { ...SAME_ORIGIN, 'x-csrf-token': csrf },
          }),
        ),
      );
      const codes = answers.map((answer) => answer.json?.error?.code);
      assert.equal(codes.filter((c) => c === 'invalid_code').length, 10, codes.join(' '));
      assert.equal(codes.filter((c) => c === 'too_many_requests').length, 15, codes.join(' '));
    });

    test('recovery codes: each works once, in any format; new ones void the old', async () => {
      const user = await enrolled();
      const [one, two] = user.recoveryCodes as [string, string];
      assert.equal((await signInWithCode(user.username, one.toUpperCase().replaceAll('-', ' '))).status, 200);
      const again = await signInWithCode(user.username, one);
      assert.equal(again.json.error.code, 'invalid_code');
      const listed = await user.client.get('/auth/mfa');
      const recovery = listed.json.factors.find((f: { kind: string }) => f.kind === 'recovery');
      assert.equal(recovery.remaining, 9);
      assert.ok(server.events.some((e) => e.type === 'recovery_code_used' && e.userId === user.id));
      const fresh = await browserPost(user.client, '/auth/mfa/recovery-codes', {});
      assert.equal(fresh.status, 200, fresh.text);
      assert.equal(fresh.json.recovery_codes.length, 10);
      assert.equal((await signInWithCode(user.username, two)).json.error.code, 'invalid_code');
      assert.equal((await signInWithCode(user.username, fresh.json.recovery_codes[0])).status, 200);
      // Simultaneous regenerations: whatever each answered, the codes of exactly one of them work.
      const csrf = await fetchCSRFToken(user.client, SAME_ORIGIN);
      const raced = await Promise.all(
        Array.from({ length: 5 }, () =>
          user.client.post('/auth/mfa/recovery-codes', {
            json: {},
            headers: { ...SAME_ORIGIN, 'x-csrf-token': csrf },
          }),
        ),
      );
      const issued = raced.filter((answer) => answer.status === 200).map((a) => a.json.recovery_codes[1]);
      assert.ok(issued.length >= 1, raced.map((a) => a.text).join('\n'));
      let working = 0;
      for (const candidate of issued) {
        if ((await signInWithCode(user.username, candidate)).status === 200) working++;
      }
      assert.equal(working, 1);
      const stored = await server.keycard.store.listFactors(user.id);
      assert.equal(stored.filter((factor) => factor.kind === 'recovery').length, 1);
    });

    test('step-up: sensitive routes need a recent factor; a code renews it; reads do not', async () => {
      const user = await enrolled('admin');
      const other = await newUser();
      clock.advance(11 * 60_000);
      await fresh(user.client);
      const attempts = {
        password: () =>
          browserPost(user.client, '/auth/password', {
            current_password: PASSWORD,
            new_password: 'another long passphrase',
          }),
        email: () =>
          browserPost(user.client, '/auth/email', {
            email: `${user.username}@example.com`,
            current_password: PASSWORD,
          }),
        totp: () => browserPost(user.client, '/auth/mfa/totp', {}),
        recovery: () => browserPost(user.client, '/auth/mfa/recovery-codes', {}),
        block: () => browserPost(user.client, `/auth/admin/users/${other.id}/block`, {}),
        reset: () => browserPost(user.client, `/auth/admin/users/${other.id}/factors/reset`, {}),
      };
      for (const [name, attempt] of Object.entries(attempts)) {
        const answer = await (attempt as () => Promise<Awaited<ReturnType<typeof attempts.block>>>)();
        if (name === 'reset' && answer.status === 404) continue;
        assert.equal(answer.status, 403, `${name}: ${answer.text}`);
        assert.equal(answer.json.error.code, 'step_up_required', name);
      }
      const removal = await user.client.delete(`/auth/mfa/factors/${'x'.repeat(22)}`, {
        headers: { ...SAME_ORIGIN, 'x-csrf-token': await fetchCSRFToken(user.client, SAME_ORIGIN) },
      });
      assert.equal(removal.json.error.code, 'step_up_required', 'no oracle on factor ids before step-up');
      assert.equal((await user.client.get('/auth/admin/users')).status, 200, 'reads need no step-up');
      assert.equal((await user.client.get('/auth/mfa')).status, 200);
      // The password is no proof for a user with a second factor.
      const byPassword = await browserPost(user.client, '/auth/mfa/step-up', { password: PASSWORD });
      assert.equal(byPassword.status, 400);
      const wrong = await browserPost(user.client, '/auth/mfa/step-up', { code: '000000' });
      assert.equal(wrong.json.error.code, 'invalid_code');
      const stepped = await browserPost(user.client, '/auth/mfa/step-up', { code: code(user.secret) });
      assert.equal(stepped.status, 200, stepped.text);
      assert.equal((await attempts.block()).status, 200);
      clock.advance(11 * 60_000);
      await fresh(user.client);
      assert.equal((await attempts.block()).json.error.code, 'step_up_required', 'the window passes');
    });

    test('no bypass: every sensitive route of the route table refuses a login past the window', async () => {
      const user = await enrolled('admin');
      const other = await newUser();
      clock.advance(11 * 60_000);
      await fresh(user.client);
      // Every change under /auth/admin/ (enumerated, so a new admin route is covered without a word
      // here), and the user's own sensitive routes.
      const table = [
        ...authRoutes(server.keycard),
        ...adminRoutes(server.keycard),
        ...clientRoutes(server.keycard),
      ];
      const own = new Set([
        'POST /auth/password',
        'POST /auth/email',
        'POST /auth/mfa/totp',
        'POST /auth/mfa/totp/confirm',
        'DELETE /auth/mfa/factors/:id',
        'POST /auth/mfa/factors/:id/delete',
        'POST /auth/mfa/recovery-codes',
        'POST /auth/mfa/passkeys/options',
        'POST /auth/mfa/passkeys',
      ]);
      const sensitive = table.filter(
        (route) =>
          (route.method !== 'GET' && route.path.startsWith('/auth/admin/')) ||
          own.has(`${route.method} ${route.path}`),
      );
      assert.ok(sensitive.length >= 20, `${sensitive.length} sensitive routes`);
      const csrf = await fetchCSRFToken(user.client, SAME_ORIGIN);
      // Bodies that pass each route's schema, so only the step-up rule can refuse them.
      const bodies: Record<string, unknown> = {
        'POST /auth/password': { current_password: PASSWORD, new_password: 'another long passphrase' },
        'POST /auth/email': { email: 'x@example.com', current_password: PASSWORD },
        'POST /auth/mfa/passkeys': {
          response: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'e30' } },
        },
      };
      for (const route of sensitive) {
        const path = route.path.replace(':id', other.id);
        const answer = await user.client.request(route.method, path, {
          ...(route.method === 'DELETE' ? {} : { json: bodies[`${route.method} ${route.path}`] ?? {} }),
          headers: { ...SAME_ORIGIN, 'x-csrf-token': csrf },
        });
        assert.equal(answer.status, 403, `${route.method} ${route.path}: ${answer.text}`);
        assert.equal(answer.json.error.code, 'step_up_required', `${route.method} ${route.path}`);
      }
      assert.equal((await server.keycard.users.get(other.id))?.blocked, false, 'nothing changed');
      assert.equal((await server.keycard.users.get(other.id))?.role, 'user');
    });

    test('step-up without a second factor: the password is the proof; a password change carries its own', async () => {
      const user = await newUser('admin');
      const other = await newUser();
      const { client } = await firstStep(user.username);
      clock.advance(11 * 60_000);
      await fresh(client);
      const block = () => browserPost(client, `/auth/admin/users/${other.id}/block`, {});
      assert.equal((await block()).json.error.code, 'step_up_required');
      assert.equal((await browserPost(client, '/auth/mfa/step-up', { code: '123456' })).status, 400);
      const wrong = await browserPost(client, '/auth/mfa/step-up', { password: 'not the password' });
      assert.equal(wrong.json.error.code, 'invalid_credentials');
      assert.equal((await browserPost(client, '/auth/mfa/step-up', { password: PASSWORD })).status, 200);
      assert.equal((await block()).status, 200);
      clock.advance(11 * 60_000);
      await fresh(client);
      const changed = await browserPost(client, '/auth/password', {
        current_password: PASSWORD,
        new_password: 'another long passphrase',
      });
      assert.equal(changed.status, 200, changed.text);
    });

    test('a factor removed while a sign-in waits for it cannot finish it; the admin reset removes them all', async () => {
      const user = await enrolled();
      const pending = await firstStep(user.username);
      const listed = await user.client.get('/auth/mfa');
      const totp = listed.json.factors.find((f: { kind: string }) => f.kind === 'totp');
      const csrf = await fetchCSRFToken(user.client, SAME_ORIGIN);
      const removed = await user.client.delete(`/auth/mfa/factors/${totp.id}`, {
        headers: { ...SAME_ORIGIN, 'x-csrf-token': csrf },
      });
      assert.equal(removed.status, 200, removed.text);
      const finished = await secondStep(pending.client, {
        mfa_token: pending.response.json.mfa_token,
        code: code(user.secret),
      });
      assert.equal(finished.status, 401);
      assert.equal(finished.json.error.code, 'invalid_code');
      // The last second factor took the recovery codes with it: the password alone signs in again.
      assert.deepEqual(await server.keycard.store.listFactors(user.id), []);
      assert.equal((await firstStep(user.username)).response.status, 200);

      const lost = await enrolled();
      const admin = await newUser('admin');
      const adminClient = (await firstStep(admin.username)).client;
      const csrfAdmin = await fetchCSRFToken(adminClient, SAME_ORIGIN);
      const reset = await adminClient.delete(`/auth/admin/users/${lost.id}/factors`, {
        headers: { ...SAME_ORIGIN, 'x-csrf-token': csrfAdmin },
      });
      assert.equal(reset.status, 200, reset.text);
      assert.equal(reset.json.removed, 2);
      assert.equal((await firstStep(lost.username)).response.status, 200);
      assert.ok(
        server.events.some((e) => e.type === 'mfa_removed' && e.userId === lost.id && e.by === 'admin'),
      );
    });

    test('deleting a user deletes their factors', async () => {
      const user = await enrolled();
      await server.keycard.users.delete(user.id);
      assert.deepEqual(await server.keycard.store.listFactors(user.id), []);
    });
  });
}

describe('a role that needs a second factor (--mfa-required-role admin)', () => {
  let server: StrategyServer;
  let clock: ManualClock;
  before(async () => {
    clock = new ManualClock(Date.now());
    server = await startStrategyServer('session', {
      store: 'sqlite',
      clock,
      flags: { 'mfa-required-role': ['admin'] },
    });
  });
  after(async () => {
    await server?.close();
  });

  test('an admin without one signs in, is told to add one, may read but not act, and may enroll', async () => {
    const admin = await server.keycard.users.create({ username: 'boss', password: PASSWORD, role: 'admin' });
    const other = await server.keycard.users.create({ username: 'staff', password: PASSWORD });
    const client = new Client(server.url);
    const token = await fetchCSRFToken(client, SAME_ORIGIN);
    const login = await client.post('/auth/login', {
      json: { username: 'boss', password: PASSWORD },
      headers: { ...SAME_ORIGIN, 'x-csrf-token': token },
    });
    assert.equal(login.status, 200, login.text);
    assert.equal(login.json.mfa_enrollment_required, true);
    assert.equal((await client.get('/auth/admin/users')).status, 200, 'reads are allowed');
    const block = () => browserPost(client, `/auth/admin/users/${other.id}/block`, {});
    const refused = await block();
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error.code, 'mfa_enrollment_required');
    // A step-up with the password does not lift it: the role needs a factor, not a fresh password.
    assert.equal((await browserPost(client, '/auth/mfa/step-up', { password: PASSWORD })).status, 200);
    assert.equal((await block()).json.error.code, 'mfa_enrollment_required');
    // Enrolling is the one sensitive action allowed.
    const started = await browserPost(client, '/auth/mfa/totp', {});
    assert.equal(started.status, 200, started.text);
    const code = generateSync({ secret: started.json.secret, epoch: Math.floor(clock.now() / 1000) });
    assert.equal((await browserPost(client, '/auth/mfa/totp/confirm', { code })).status, 200);
    assert.equal((await block()).status, 200, 'with a factor, fresh from its confirmation');
    assert.equal((await server.keycard.users.get(other.id))?.blocked, true);
    // A user of another role is not asked (staff is blocked now: another one).
    await server.keycard.users.create({ username: 'crew', password: PASSWORD });
    const plain = new Client(server.url);
    const plainToken = await fetchCSRFToken(plain, SAME_ORIGIN);
    const ok = await plain.post('/auth/login', {
      json: { username: 'crew', password: PASSWORD },
      headers: { ...SAME_ORIGIN, 'x-csrf-token': plainToken },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.mfa_enrollment_required, undefined);
    assert.equal(admin.role, 'admin');
  });

  test('an unknown role is refused at start-up', async () => {
    await assert.rejects(
      startStrategyServer('session', { store: 'memory', flags: { 'mfa-required-role': ['root'] } }),
      /mfa.requiredRoles names root, which is not a role/,
    );
  });
});
