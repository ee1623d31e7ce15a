/**
 * Pruning expired rows once per cluster. Every instance runs a timer, but a round only does work when
 * 1. it takes the schema's prune advisory lock with pg_try_advisory_lock — so two rounds never run at
 *    once, and an instance that finds the lock taken skips its round instead of waiting; and
 * 2. holding it, it claims the round in the `maintenance` table: due when the last round in the cluster
 *    started at least 90% of an interval ago by the database's clock (one clock for every instance; the
 *    10% absorbs timer drift), so N instances prune about once per interval between them, not N times.
 * Rows go in batches of BATCH_SIZE, each its own short statement, skipping rows another transaction has
 * locked, so pruning never holds many locks or runs into the statement timeout.
 *
 * Refresh state is part of its login's row (no refresh tokens are stored): an expired login goes with
 * everything it holds, and a live one is never touched.
 */
import type pg from 'pg';
import { withClient } from './pool.js';
import { advisoryKey, quoteIdentifier } from './queries.js';

export type PruneResult =
  | { status: 'pruned'; sessions: number; counters: number; revocations: number; accountTokens: number }
  | { status: 'skipped'; reason: 'locked' | 'not_due' };

const BATCH_SIZE = 1000;

export function pruneExpired(
  pool: pg.Pool,
  schema: string,
  options: { now: number; intervalMs: number },
): Promise<PruneResult> {
  const s = quoteIdentifier(schema);
  const key = advisoryKey('prune', schema);
  return withClient(pool, async (client) => {
    const locked = await client.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [
      key,
    ]);
    if (!locked.rows[0].locked) return { status: 'skipped', reason: 'locked' };
    try {
      const claimed = await client.query(
        `INSERT INTO ${s}.maintenance AS task (task, last_run_at) VALUES ('prune', now())
         ON CONFLICT (task) DO UPDATE SET last_run_at = excluded.last_run_at
         WHERE task.last_run_at <= now() - $1::bigint * interval '1 millisecond'`,
        [Math.floor(options.intervalMs * 0.9)],
      );
      if (claimed.rowCount === 0) return { status: 'skipped', reason: 'not_due' };
      const deleteAll = async (table: string, expired: string): Promise<number> => {
        let total = 0;
        for (;;) {
          const result = await client.query(
            `DELETE FROM ${s}.${table} WHERE ctid = ANY (ARRAY (
               SELECT ctid FROM ${s}.${table} WHERE ${expired} LIMIT ${BATCH_SIZE} FOR UPDATE SKIP LOCKED))`,
            [options.now],
          );
          total += result.rowCount ?? 0;
          if ((result.rowCount ?? 0) < BATCH_SIZE) return total;
        }
      };
      return {
        status: 'pruned',
        sessions: await deleteAll('sessions', 'least(expires_at, absolute_expires_at) <= $1'),
        counters: await deleteAll('counters', 'reset_at <= $1'),
        revocations: await deleteAll('revocations', 'expires_at <= $1'),
        accountTokens: await deleteAll('account_tokens', 'expires_at <= $1'),
      };
    } finally {
      // If this fails the connection is broken and withClient destroys it, which ends the lock as well.
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]);
    }
  });
}
