/**
 * Pruning once per cluster (shared server, a schema of this file's own): two store instances on one
 * database, and only one prunes a round — the advisory lock keeps rounds apart, the schedule in the
 * `maintenance` table keeps a second instance from repeating a round the cluster just did.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateToken } from '../../src/core/random-tokens.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { sessionFixture, tokenLoginFixture } from '../conformance/store.js';
import { ManualClock } from '../helpers/clock.js';
import { postgresSkipReason, schemaScope } from '../helpers/postgres-schemas.js';
import { POSTGRES_URL } from '../helpers/services.js';

const HOUR = 3_600_000;
const skip = await postgresSkipReason();

describe('postgres store: pruning once per cluster', { skip }, () => {
  const { admin, fresh } = schemaScope();

  test('of two instances on one database only one prunes a round; the lock holder alone works', async () => {
    const schema = fresh();
    const clock = new ManualClock();
    const options = { connectionString: POSTGRES_URL, schema, clock, pruneIntervalMs: HOUR };
    const a = await PostgresStore.open(options);
    const b = await PostgresStore.open(options);
    const holder = await admin.connect();
    try {
      const seed = async () => {
        const idle = sessionFixture(clock, { expiresAt: clock.now() + 1000 });
        // A token login whose refresh token has expired: its refresh state goes with its row.
        const absolute = tokenLoginFixture(clock, { absoluteExpiresAt: clock.now() + 1000 });
        for (const record of [idle, absolute]) await a.createLogin(record);
        await a.incrementCounter(`ip:${generateToken()}`, 1000, clock.now());
        await a.addRevocation({ kind: 'login', id: idle.id, at: clock.now(), expiresAt: clock.now() + 1000 });
        clock.advance(1000);
      };
      const live = tokenLoginFixture(clock, {
        expiresAt: clock.now() + 10 * HOUR,
        absoluteExpiresAt: clock.now() + 20 * HOUR,
      });
      await a.createLogin(live);
      const kept = {
        kind: 'user' as const,
        id: 'user-1',
        at: clock.now(),
        expiresAt: clock.now() + 10 * HOUR,
      };
      await a.addRevocation(kept);
      const count = async (table: string) =>
        (await admin.query(`SELECT count(*)::int AS n FROM "${schema}".${table}`)).rows[0].n as number;

      await seed();
      const round = await Promise.all([a.prune(), b.prune()]);
      const pruned = round.filter((result) => result.status === 'pruned');
      assert.equal(pruned.length, 1, `exactly one instance pruned: ${JSON.stringify(round)}`);
      assert.deepEqual(pruned[0], {
        status: 'pruned',
        sessions: 2,
        counters: 1,
        revocations: 1,
        accountTokens: 0,
      });
      assert.equal(await count('sessions'), 1);
      assert.deepEqual(await a.getLogin(live.id), live, 'a live login is kept, its refresh state untouched');
      assert.deepEqual(await a.listRevocations(0), [kept], 'a live revocation is kept');

      await seed();
      assert.deepEqual(
        await b.prune(),
        { status: 'skipped', reason: 'not_due' },
        'the other instance skips: the cluster pruned less than an interval ago',
      );
      assert.equal(await count('sessions'), 3);

      await admin.query(`UPDATE "${schema}".maintenance SET last_run_at = now() - interval '2 hours'`);
      await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`keycard:prune:${schema}`]);
      assert.deepEqual(await b.prune(), { status: 'skipped', reason: 'locked' });
      assert.equal(await count('sessions'), 3, 'nothing is pruned while another instance holds the lock');
      await holder.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`keycard:prune:${schema}`]);
      assert.deepEqual(await b.prune(), {
        status: 'pruned',
        sessions: 2,
        counters: 1,
        revocations: 1,
        accountTokens: 0,
      });
      assert.deepEqual(await a.getLogin(live.id), live);
      assert.equal(await count('counters'), 0);
      assert.equal(await count('revocations'), 1);
    } finally {
      holder.release();
      await a.close();
      await b.close();
    }
  });
});
