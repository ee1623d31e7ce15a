/**
 * Promises that must hold when requests arrive together, on every store a deployment shares between
 * instances (SQLite, Redis, PostgreSQL), through the running server:
 *
 * - brute-force budgets count an attempt before its password is checked, so a burst checks no more
 *   passwords than docs/security.md says (6 for one account from one address, 20 for one address);
 * - logging out an ended login writes nothing (a replayed logout cost a revocation row per call);
 * - a user's logins are capped (the oldest ends, audited) and listed a page at a time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuthEvent } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.js';
import { Client, request } from '../helpers/http.js';
import { postgresSkipReason } from '../helpers/postgres-schemas.js';
import { redisSkipReason } from '../helpers/services.js';
import { bearer, type StoreKind, type StrategyServer, startStrategyServer } from './helpers.js';

const PASSWORD = 'correct horse battery staple';
const SKIPS: Record<'sqlite' | 'redis' | 'postgres', string | undefined> = {
  sqlite: undefined,
  redis: await redisSkipReason(),
  postgres: await postgresSkipReason(),
};
const STORES = ['sqlite', 'redis', 'postgres'] as const satisfies readonly StoreKind[];

/** Passwords actually checked among `events`: failures counted by the check, and successes. */
function passwordsChecked(events: AuthEvent[]): number {
  return events.filter(
    (event) =>
      (event.type === 'login_failed' && event.reason === 'invalid_credentials') ||
      event.type === 'login_succeeded',
  ).length;
}

/**
 * The most passwords one account from one address may have checked within `seconds` of a burst's start:
 * 6 at once, then one more each time a wait runs out — 1 s, then 2, 4, … (docs/security.md). The SQL
 * stores follow the server's clock, which stands still in these tests; Redis also lets a counter's key
 * expire in real time, so a burst that takes a loaded machine seconds to answer may see a wait run out.
 */
function accountBudget(seconds: number): number {
  return 6 + Math.floor(Math.log2(seconds + 1));
}

/** `count` logins sent at once from `address` (the server trusts X-Forwarded-For from the test). */
async function burst(
  server: StrategyServer,
  count: number,
  address: string,
  credentials: (i: number) => { username: string; password: string },
): Promise<{ checked: number; statuses: Map<number, number>; seconds: number }> {
  const start = server.events.length;
  const began = performance.now();
  const responses = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      request(server.url, 'POST', '/auth/login', {
        json: credentials(i),
        headers: { 'x-forwarded-for': address },
      }),
    ),
  );
  const statuses = new Map<number, number>();
  for (const response of responses) statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
  const seconds = (performance.now() - began) / 1000;
  return { checked: passwordsChecked(server.events.slice(start)), statuses, seconds };
}

for (const storeKind of STORES) {
  describe(`simultaneous requests on ${storeKind}`, { skip: SKIPS[storeKind] }, () => {
    let server: StrategyServer;
    // Time stands still during a burst, so no wait can run out while it is being answered: what gets
    // through is exactly what the budgets allow at one instant (a loaded machine takes seconds to hash).
    const clock = new ManualClock(Date.now());

    before(async () => {
      server = await startStrategyServer('session', {
        store: storeKind,
        clock,
        flags: { 'trust-proxy': 'true' },
      });
      await server.keycard.users.create({ username: 'alice', password: PASSWORD });
      await server.keycard.users.create({ username: 'bob', password: PASSWORD });
    });
    after(async () => {
      await server?.close();
    });

    // guards: 60 simultaneous logins all had their password checked. All wrong, as in the 400 burst below:
    // a right one would reset the pair's budget wherever the server took it, and the count would depend on it.
    test('60 simultaneous logins for one account from one address check at most 6 passwords', async () => {
      const result = await burst(server, 60, '198.51.100.1', (i) => ({
        username: 'alice',
        password: `wrong-${i}`,
      }));
      const budget = storeKind === 'redis' ? accountBudget(result.seconds) : 6;
      assert.ok(result.checked <= budget, `${result.checked} passwords checked in ${result.seconds} s`);
      assert.ok(result.checked >= 1, 'the budget is not zero');
      assert.ok((result.statuses.get(429) ?? 0) >= 54, JSON.stringify([...result.statuses]));
    });

    test('400 simultaneous logins for one account from one address check at most 6 passwords', async () => {
      // All wrong: a right one would reset the pair's budget (as documented) wherever the server happens
      // to take it in the burst, and the count would depend on that order.
      const result = await burst(server, 400, '198.51.100.2', (i) => ({
        username: 'bob',
        password: `wrong-${i}`,
      }));
      const budget = storeKind === 'redis' ? accountBudget(result.seconds) : 6;
      assert.ok(result.checked <= budget, `${result.checked} passwords checked in ${result.seconds} s`);
    });

    test('60 different accounts sprayed at once from one address check at most 20 passwords', async () => {
      const result = await burst(server, 60, '198.51.100.3', (i) => ({
        username: `sprayed-${i}`,
        password: `guess-${i}`,
      }));
      assert.ok(result.checked <= 20, `${result.checked} passwords checked`);
      assert.ok(result.checked >= 6, 'the address budget lets some through');
      // Another address is not affected.
      const elsewhere = await request(server.url, 'POST', '/auth/login', {
        json: { username: 'alice', password: PASSWORD },
        headers: { 'x-forwarded-for': '198.51.100.4' },
      });
      assert.equal(elsewhere.status, 200, elsewhere.text);
    });
  });

  describe(`logout and the per-user limit on ${storeKind}`, { skip: SKIPS[storeKind] }, () => {
    let server: StrategyServer;
    const clock = new ManualClock(Date.now());

    before(async () => {
      server = await startStrategyServer('jwt', {
        store: storeKind,
        clock,
        flags: { transport: 'header', 'trust-proxy': 'true' },
      });
      await server.keycard.users.create({ username: 'carol', password: PASSWORD });
    });
    after(async () => {
      await server?.close();
    });

    // guards: every replayed logout of an ended login wrote a revocation row (2,000 rows for 2,000 calls)
    test('2,000 logouts with an ended login’s token write one revocation in all', async () => {
      const login = await request(server.url, 'POST', '/auth/login', {
        json: { username: 'carol', password: PASSWORD },
      });
      assert.equal(login.status, 200, login.text);
      const token = login.json.access_token as string;
      const revocations = async () => (await server.store.listRevocations(clock.now())).length;
      const before = await revocations();
      assert.equal(
        (await request(server.url, 'POST', '/auth/logout', { headers: bearer(token) })).status,
        200,
      );
      assert.equal(await revocations(), before + 1, 'the logout revoked the login');
      for (let round = 0; round < 20; round++) {
        const answers = await Promise.all(
          Array.from({ length: 100 }, () =>
            request(server.url, 'POST', '/auth/logout', { headers: bearer(token) }),
          ),
        );
        assert.ok(answers.every((answer) => answer.status === 200));
      }
      assert.equal(await revocations(), before + 1, 'no row per replayed logout');
    });

    test('the 101st login ends the oldest, audited; the list comes a page at a time', async () => {
      const user = await server.keycard.users.findByUsername('carol');
      assert.ok(user);
      await server.keycard.logins.destroyAllForUser(user.id);
      // 100 logins made directly (no password hashing), a millisecond apart so "oldest" is well defined.
      const tokens = server.keycard.tokens;
      assert.ok(tokens);
      const logins = [];
      for (let i = 0; i < 100; i++) {
        clock.advance(1);
        logins.push(await tokens.startLogin(user, { userAgent: `device ${i}`, ip: '203.0.113.9' }));
      }
      clock.advance(1);
      const start = server.events.length;
      const newest = await request(server.url, 'POST', '/auth/login', {
        json: { username: 'carol', password: PASSWORD },
        headers: { 'x-forwarded-for': '203.0.113.9' },
      });
      assert.equal(newest.status, 200);
      const ended = server.events
        .slice(start)
        .filter((event) => event.type === 'session_revoked' && event.by === 'limit');
      assert.deepEqual(
        ended.map((event) => (event as { sessionId: string }).sessionId),
        [logins[0]?.login.id],
        'the oldest login ended, with an audit event',
      );
      const oldRefresh = await request(server.url, 'POST', '/auth/refresh', {
        json: { refresh_token: logins[0]?.refreshToken },
      });
      assert.equal(oldRefresh.status, 401, 'the oldest login’s refresh token is dead');

      const client = { headers: bearer(newest.json.access_token) };
      const first = await request(server.url, 'GET', '/auth/sessions', client);
      assert.equal(first.status, 200);
      assert.equal(first.json.sessions.length, 50, 'the default page is 50');
      assert.ok(first.text.length < 20_000, `${first.text.length} bytes`);
      const seen = new Set<string>(first.json.sessions.map((s: { id: string }) => s.id));
      let next = first.json.next as string | null;
      while (next) {
        const page = await request(server.url, 'GET', `/auth/sessions?limit=50&cursor=${next}`, client);
        assert.equal(page.status, 200, page.text);
        for (const session of page.json.sessions) seen.add(session.id);
        next = page.json.next;
      }
      assert.equal(seen.size, 100, 'every login, once');
      const bad = await request(server.url, 'GET', '/auth/sessions?cursor=not-a-cursor!', client);
      assert.equal(bad.status, 400);
      const tooMany = await request(server.url, 'GET', '/auth/sessions?limit=5000', client);
      assert.equal(tooMany.status, 400);
    });
  });
}

// The same answers whatever the client: one session-strategy browser gets its own pages too.
test('GET /auth/sessions pages in the session strategy as well', async () => {
  const server = await startStrategyServer('session', { store: 'sqlite' });
  try {
    await server.keycard.users.create({ username: 'dave', password: PASSWORD });
    const user = await server.keycard.users.findByUsername('dave');
    assert.ok(user);
    for (let i = 0; i < 3; i++)
      await server.keycard.logins.create({ user: { id: user.id, username: 'dave', role: 'user' } });
    const client = new Client(server.url);
    assert.equal(
      (await client.post('/auth/login', { json: { username: 'dave', password: PASSWORD } })).status,
      200,
    );
    const page = await client.get('/auth/sessions?limit=2');
    assert.equal(page.json.sessions.length, 2);
    assert.equal(page.json.sessions[0].current, true, 'newest first: this login');
    const rest = await client.get(`/auth/sessions?limit=2&cursor=${page.json.next}`);
    assert.equal(rest.json.sessions.length, 2);
    assert.equal(rest.json.next, null);
  } finally {
    await server.close();
  }
});
