/**
 * Refresh-token rotation, decided under row locks in one READ COMMITTED transaction:
 * 1. the presented token's row FOR UPDATE — concurrent presentations of one token queue here, and each
 *    then reads the row as the one before left it (a row changed while a FOR UPDATE waited is re-read), so
 *    exactly one finds it current and the others find it spent, inside the grace window;
 * 2. its login's row FOR UPDATE — so a logout cannot slip between the check and the touch.
 * Locks are always taken token first, then login; nothing else locks tokens (deleting a login does not
 * cascade to them), so rotations and deletes cannot deadlock.
 */
import type pg from 'pg';
import type { RotateOptions, RotationResult } from '../../core/store.js';
import { transaction } from './pool.js';
import type { QueryName } from './queries.js';
import { type RefreshTokenRow, type SessionRow, toSession } from './rows.js';

export function rotateRefreshToken(
  pool: pg.Pool,
  statement: (name: QueryName) => pg.QueryConfig,
  presentedId: string,
  options: RotateOptions,
): Promise<RotationResult> {
  return transaction(pool, async (client): Promise<RotationResult> => {
    const run = async <R extends pg.QueryResultRow>(name: QueryName, values: unknown[]) =>
      (await client.query<R>(statement(name), values)).rows;
    const [token] = await run<RefreshTokenRow>('lockRefreshToken', [presentedId]);
    if (!token || token.expires_at <= options.now) return { status: 'invalid' };
    const [login] = await run<SessionRow>('lockSession', [token.login_id]);
    if (!login) return { status: 'invalid' };
    if (token.spent_at === null) {
      const { successor, touch } = options;
      const [touched] = await run<SessionRow>('rotate', [
        presentedId,
        options.now,
        successor.id,
        token.login_id,
        successor.createdAt,
        successor.expiresAt,
        touch.lastActiveAt,
        touch.expiresAt,
      ]);
      return { status: 'rotated', login: toSession(touched ?? login) };
    }
    if (options.now - token.spent_at <= options.graceMs && token.successor_id !== null) {
      return { status: 'grace', login: toSession(login), successorId: token.successor_id };
    }
    // Presented after the grace window: a stolen token replayed. Deleting the login ends the whole family.
    await run('deleteSession', [token.login_id]);
    return { status: 'reused', login: toSession(login) };
  });
}
