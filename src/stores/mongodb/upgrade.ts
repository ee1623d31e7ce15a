/**
 * Bringing a database written by an earlier keycard up to date, before the indexes are created. MongoDB
 * has no schema, so there is no version to migrate from: each step finds what is left to do and does
 * only that, so it runs at every open (cheaply once done), and two instances opening at once do the same
 * work without getting in each other's way.
 *
 * 1. Refresh tokens are no longer stored (a login keeps its O(1) refresh state, `LoginRecord.refresh`):
 *    the old `<prefix>refresh_tokens` collection is dropped. Its tokens stop working, which is accepted
 *    (their logins must sign in again). It is dropped only if it carries keycard's TTL index
 *    (`purge_at_ttl`): with an empty `collectionPrefix`, a collection named `refresh_tokens` might be
 *    another application's.
 * 2. The per-user session index gained `_id` as a tie-break for paging; the old `user_id_created_at`
 *    (a prefix of the new one, so nothing needs it) is dropped.
 * 3. Users get the confusable `skeleton` of their username, so that the unique `skeleton_unique` index
 *    can be built. Two existing users whose names look alike keep signing in: the earlier one (by
 *    `createdAt`, then id) gets the skeleton, the later one `#legacy:<id>`, which no other name has.
 */
import { type Collection, type Db, type Document, MongoServerError } from 'mongodb';
import { usernameSkeleton } from '../../core/users/skeleton.js';
import type { UserDocument } from './documents.js';

export interface UpgradeTargets {
  db: Db;
  users: Collection<UserDocument>;
  sessions: Collection<Document>;
  /** `<prefix>refresh_tokens`: where keycard kept refresh tokens before they left the store. */
  legacyRefreshTokens: string;
}

/** The name of keycard's TTL index, on every collection whose documents expire (see `MongoStore`). */
export const PURGE_INDEX_NAME = 'purge_at_ttl';
export const LEGACY_SESSION_INDEX_NAME = 'user_id_created_at';
/** Users given their skeleton per round trip: one `$in` read and one bulk write each. */
const SKELETON_BATCH = 1000;

export async function upgradeCollections(targets: UpgradeTargets): Promise<void> {
  await Promise.all([
    dropLegacyRefreshTokens(targets.db, targets.legacyRefreshTokens),
    dropIndexIfPresent(targets.sessions, LEGACY_SESSION_INDEX_NAME),
    fillSkeletons(targets.users),
  ]);
}

/** MongoDB's codes for "no such collection" and "no such index". */
const NAMESPACE_NOT_FOUND = 26;
const INDEX_NOT_FOUND = 27;

function isAbsent(error: unknown): boolean {
  return (
    error instanceof MongoServerError &&
    (error.code === NAMESPACE_NOT_FOUND || error.code === INDEX_NOT_FOUND)
  );
}

async function dropLegacyRefreshTokens(db: Db, name: string): Promise<void> {
  // The usual case, once dropped or never there: one listCollections that finds nothing (an empty list
  // also when the database does not exist yet), rather than listIndexes and its NamespaceNotFound.
  const found = await db.listCollections({ name }, { nameOnly: true }).toArray();
  if (found.length === 0) return;
  const collection = db.collection(name);
  let indexes: Document[];
  try {
    indexes = await collection.listIndexes().toArray();
  } catch (error) {
    if (isAbsent(error)) return; // dropped meanwhile by a concurrent open
    throw error;
  }
  if (!indexes.some((index) => index.name === PURGE_INDEX_NAME)) return;
  // The driver answers false, not an error, when a concurrent open dropped it first.
  await collection.drop();
}

async function dropIndexIfPresent(collection: Collection<Document>, name: string): Promise<void> {
  try {
    await collection.dropIndex(name);
  } catch (error) {
    if (!isAbsent(error)) throw error;
  }
}

/**
 * Users written before skeletons existed, oldest first, in batches. Each batch asks which of its skeletons
 * are already taken (by earlier batches, or by users that have one), so a later user never takes an
 * earlier one's skeleton; each write is conditional on the user still having none, so a concurrent open
 * that got there first wins, and since both follow the same order they make the same choice.
 */
async function fillSkeletons(users: Collection<UserDocument>): Promise<void> {
  const cursor = users
    .find({ skeleton: { $exists: false } }, { projection: { _id: 1, username: 1 } })
    .sort({ createdAt: 1, _id: 1 });
  let batch: { _id: string; skeleton: string }[] = [];
  for await (const user of cursor) {
    batch.push({ _id: user._id, skeleton: usernameSkeleton(user.username) });
    if (batch.length === SKELETON_BATCH) {
      await assignSkeletons(users, batch);
      batch = [];
    }
  }
  if (batch.length > 0) await assignSkeletons(users, batch);
}

async function assignSkeletons(
  users: Collection<UserDocument>,
  batch: { _id: string; skeleton: string }[],
): Promise<void> {
  const wanted = [...new Set(batch.map((user) => user.skeleton))];
  const holders = await users
    .find({ skeleton: { $in: wanted } }, { projection: { _id: 0, skeleton: 1 } })
    .toArray();
  const taken = new Set(holders.map((holder) => holder.skeleton));
  const writes = batch.map((user) => {
    const skeleton = taken.has(user.skeleton) ? `#legacy:${user._id}` : user.skeleton;
    taken.add(skeleton);
    return {
      updateOne: {
        filter: { _id: user._id, skeleton: { $exists: false } },
        update: { $set: { skeleton } },
      },
    };
  });
  await users.bulkWrite(writes, { ordered: false });
}
