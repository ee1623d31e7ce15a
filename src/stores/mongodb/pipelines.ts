/**
 * The aggregation expressions behind the store's conditional writes. Each write is one single-document
 * update, which MongoDB applies atomically (the filter is re-evaluated if another write to the same
 * document got in first), so no transaction is needed for any of them.
 *
 * Every value that comes from a caller is wrapped in `$literal`: inside an expression a string that starts
 * with `$` is a field path. (Data keys and values are JSON text, which never starts with `$`, but the
 * expressions do not rely on that.)
 */
import type { Document } from 'mongodb';
import type { DataPatch, RefreshState } from '../../core/store.js';
import { type DataEntry, toEntries, toRefreshState } from './documents.js';

/** A data patch as the two halves the server needs: which keys go, and which entries come in. */
export interface PatchPlan {
  /** Every key the patch sets or removes, as JSON text: existing entries with these keys are dropped. */
  keys: string[];
  /** The entries to append. */
  entries: DataEntry[];
}

/**
 * As `applyPatch` does: keys in `set` are written, then keys in `unset` removed (so a key in both ends up
 * absent), and a set value with no JSON (undefined) removes its key.
 */
export function planPatch(patch: DataPatch): PatchPlan {
  const unset = new Set(patch.unset.map((key) => JSON.stringify(key)));
  const entries = toEntries(patch.set).filter((entry) => !unset.has(entry.key));
  const keys = new Set([...Object.keys(patch.set), ...patch.unset]);
  return { keys: [...keys].map((key) => JSON.stringify(key)), entries };
}

/** The session's data entries after the patch: the untouched ones in their order, then the new ones. */
export function mergedData(plan: PatchPlan): Document {
  return {
    $concatArrays: [
      {
        $filter: {
          input: '$data',
          as: 'entry',
          cond: { $not: [{ $in: ['$$entry.key', { $literal: plan.keys }] }] },
        },
      },
      { $literal: plan.entries },
    ],
  };
}

/**
 * The UTF-8 length of `JSON.stringify(data)` after the patch, computed by the server from the entries:
 * `{` + `"key":value` joined by `,` + `}`. This is exactly the number the other stores compare with
 * `maxBytes` (`$bsonSize` would measure BSON, a different and store-specific number).
 */
export function mergedJSONBytes(plan: PatchPlan): Document {
  return {
    $let: {
      vars: { merged: mergedData(plan) },
      in: {
        $add: [2, { $sum: '$$merged.bytes' }, { $max: [0, { $subtract: [{ $size: '$$merged' }, 1] }] }],
      },
    },
  };
}

/**
 * Moves activity forward: `lastActiveAt` and `expiresAt` only grow, and `expiresAt` never passes
 * `absoluteExpiresAt`; `purgeAt` follows `expiresAt`. Stages run in order, so the second sees the first's
 * result. Data is not mentioned, so a touch never rewrites it.
 */
export function touchStages(lastActiveAt: number, expiresAt: number, purgeOffsetMs: number): Document[] {
  return [
    {
      $set: {
        lastActiveAt: { $max: ['$lastActiveAt', { $literal: lastActiveAt }] },
        expiresAt: { $min: [{ $max: ['$expiresAt', { $literal: expiresAt }] }, '$absoluteExpiresAt'] },
      },
    },
    { $set: { purgeAt: { $toDate: { $add: ['$expiresAt', { $literal: purgeOffsetMs }] } } } },
  ];
}

/**
 * The refresh rotation's write: the new refresh state replaces the old one whole (as a literal: it is
 * data, not an expression), and the touch follows with its only-forward rule, in one update. The
 * compare half — the generation the caller read — is the update's filter (`MongoStore.advanceRefresh`).
 */
export function advanceStages(
  next: RefreshState,
  touch: { lastActiveAt: number; expiresAt: number },
  purgeOffsetMs: number,
): Document[] {
  return [
    { $set: { refresh: { $literal: toRefreshState(next) } } },
    ...touchStages(touch.lastActiveAt, touch.expiresAt, purgeOffsetMs),
  ];
}

/**
 * A fixed-window increment for an upsert: a live window (`resetAt` after `now`) counts one more; a missing
 * document or a finished window starts again at 1 with a new `resetAt`. All fields of one `$set` stage
 * are computed from the document as it was, so `count` and `resetAt` agree on which case applies.
 */
export function incrementStages(now: number, windowMs: number, purgeOffsetMs: number): Document[] {
  const live = { $gt: ['$resetAt', { $literal: now }] };
  return [
    {
      $set: {
        count: { $cond: [live, { $add: ['$count', 1] }, 1] },
        resetAt: { $cond: [live, '$resetAt', { $literal: now + windowMs }] },
      },
    },
    { $set: { purgeAt: { $toDate: { $add: ['$resetAt', { $literal: purgeOffsetMs }] } } } },
  ];
}
