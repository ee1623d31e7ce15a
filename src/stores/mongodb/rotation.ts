/**
 * Refresh-token rotation without a transaction.
 *
 * MongoDB transactions need a replica set or a sharded cluster; keycard's MongoDB store also runs on a
 * standalone server, so rotation is built from single-document atomic operations, ordered so that every
 * interruption leaves a state the contract allows:
 *
 * 1. Read the presented token and its login. Unknown, expired, or a login that is gone: `invalid`.
 * 2. If the token is current, insert the successor first (unspent, in the presented token's login).
 * 3. Spend the presented token with `findOneAndUpdate({ _id, spentAt: null })`. This is the one decision
 *    that must be atomic, and it is a single-document conditional write: of any number of concurrent
 *    rotations exactly one matches. The losers delete the successor they inserted in step 2 and answer
 *    as for a spent token (step 5), which gives them the winner's successor.
 * 4. The winner touches the login (only forward) and returns it; a login deleted meanwhile gives `invalid`.
 * 5. A spent token within the grace window: `grace`, with its successor. Later: `reused`, and the login is
 *    deleted with `findOneAndDelete` (one operation), which ends every token of the family: each rotation
 *    checks that its login exists in step 1. The family's token documents go with the TTL monitor.
 *
 * Interrupted after step 2: an unspent successor nobody holds (its secret was never sent), which no one
 * can present, and which the TTL index purges. Interrupted after step 3: the rotation stands and the
 * login's activity was not recorded, exactly as if the response had been lost. Because the successor is
 * written before the token is spent, a spent token never names a successor that was not stored.
 */
import type { Collection } from 'mongodb';
import type { RotateOptions, RotationResult } from '../../core/store.js';
import {
  type RefreshTokenDocument,
  type SessionDocument,
  toRefreshTokenDocument,
  toSession,
} from './documents.js';
import { touchStages } from './pipelines.js';

export interface RotationContext {
  sessions: Collection<SessionDocument>;
  refreshTokens: Collection<RefreshTokenDocument>;
  /** See `MongoStore.purgeOffset`. */
  purgeOffsetMs: number;
}

const INVALID: RotationResult = { status: 'invalid' };

export async function rotateRefreshToken(
  context: RotationContext,
  presentedId: string,
  options: RotateOptions,
): Promise<RotationResult> {
  const token = await context.refreshTokens.findOne({ _id: presentedId });
  if (!token || token.expiresAt <= options.now) return INVALID;
  const login = await context.sessions.findOne({ _id: token.loginId });
  if (!login) return INVALID;
  if (token.spentAt !== null) return judgeSpent(context, token, login, options);

  const successor = options.successor;
  await context.refreshTokens.insertOne(
    toRefreshTokenDocument(
      { ...successor, loginId: token.loginId, spentAt: null, successorId: null },
      new Date(successor.expiresAt + context.purgeOffsetMs),
    ),
  );
  const won = await context.refreshTokens.findOneAndUpdate(
    { _id: presentedId, spentAt: null },
    { $set: { spentAt: options.now, successorId: successor.id } },
    { projection: { _id: 1 } },
  );
  if (!won) {
    // Another rotation spent it first: ours is not the successor.
    await context.refreshTokens.deleteOne({ _id: successor.id });
    const spent = await context.refreshTokens.findOne({ _id: presentedId });
    if (!spent || spent.spentAt === null) return INVALID;
    return judgeSpent(context, spent, login, options);
  }
  const touched = await context.sessions.findOneAndUpdate(
    { _id: token.loginId },
    touchStages(options.touch.lastActiveAt, options.touch.expiresAt, context.purgeOffsetMs),
    { returnDocument: 'after' },
  );
  return touched ? { status: 'rotated', login: toSession(touched) } : INVALID;
}

async function judgeSpent(
  context: RotationContext,
  token: RefreshTokenDocument,
  login: SessionDocument,
  options: RotateOptions,
): Promise<RotationResult> {
  const spentAt = token.spentAt ?? options.now;
  if (options.now - spentAt <= options.graceMs && token.successorId !== null) {
    return { status: 'grace', login: toSession(login), successorId: token.successorId };
  }
  // Replayed after the grace window: a stolen token. Deleting the login revokes the whole family; a
  // concurrent replay that finds it already deleted reports `invalid`, as for any logged-out token.
  const deleted = await context.sessions.findOneAndDelete({ _id: token.loginId });
  return deleted ? { status: 'reused', login: toSession(deleted) } : INVALID;
}
