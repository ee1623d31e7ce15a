/**
 * The Redis store's one-time upgrade of users written before usernames had skeletons (UTS #39,
 * `usernameSkeleton`): the SQL stores do this in a migration; Redis has no schema, so the store does it
 * when it connects (and before its first `createUser`), guarded by a marker key.
 *
 * Each such user gets `skel` = the skeleton of its username, claimed in `kc:{users}:skeletons`, oldest
 * user first (by createdAt, then id). When two existing users' names are look-alikes, the later one gets
 * `#legacy:<id>` instead, as in the SQL migrations: both keep working, and a new look-alike of either is
 * refused. The skeleton is computed here because Lua cannot; the script re-checks each user, so a user
 * created meanwhile (with its own skeleton) is left alone, and two instances starting at once write it
 * once.
 */
import type { Cluster, Redis } from 'ioredis';
import { usernameSkeleton } from '../../core/users/skeleton.js';
import type { RedisKeys } from './keys.js';
import type { RedisScripts } from './scripts.js';

/** The marker's value: bump it when existing skeletons must be computed again (a new skeleton function). */
export const SKELETON_SCHEMA = 'skeletons:1';

/** Users per script call: a bounded number of keys and arguments per call, however many users there are. */
const BATCH = 500;

interface LegacyUser {
  id: string;
  username: string;
  createdAt: number;
}

/** Back-fills skeletons unless the marker says it was done; a no-op costs one GET. */
export async function backfillSkeletons(
  client: Redis | Cluster,
  keys: RedisKeys,
  scripts: RedisScripts,
): Promise<void> {
  if ((await client.get(keys.usersSchema())) === SKELETON_SCHEMA) return;
  const legacy: LegacyUser[] = [];
  let cursor = '0';
  do {
    const [next, pairs] = await client.hscan(keys.usernames(), cursor, 'COUNT', 1000);
    cursor = next;
    const found: { username: string; id: string }[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      found.push({ username: pairs[i] as string, id: pairs[i + 1] as string });
    }
    const fields = await Promise.all(found.map(({ id }) => client.hmget(keys.user(id), 'skel', 'created')));
    found.forEach((user, i) => {
      const [skeleton, createdAt] = fields[i] ?? [];
      if (skeleton === null && createdAt !== null) {
        legacy.push({ ...user, createdAt: Number(createdAt) });
      }
    });
  } while (cursor !== '0');
  legacy.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // At least one call, the last of which sets the marker (also when there is nothing to do).
  for (let start = 0; start === 0 || start < legacy.length; start += BATCH) {
    const batch = legacy.slice(start, start + BATCH);
    const last = start + BATCH >= legacy.length;
    await scripts.backfillSkeletons(
      [keys.usersSchema(), keys.skeletons(), ...batch.map((user) => keys.user(user.id))],
      [
        SKELETON_SCHEMA,
        last ? '1' : '0',
        ...batch.flatMap((user) => [usernameSkeleton(user.username), user.id]),
      ],
    );
  }
}
