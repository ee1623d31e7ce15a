/**
 * The back-fill of migration 5: every existing user gets the skeleton of its username, computed by
 * keycard's `usernameSkeleton` (UTS #39), which SQL cannot call. Version 6 then makes the column NOT NULL
 * and unique, so look-alike names are refused from then on.
 *
 * Users who registered before skeletons existed may already look alike. Both keep their accounts: the
 * first to register (by `created_at`, then `id`) keeps the skeleton and the later ones get `#legacy:<id>`,
 * which no username's skeleton can equal (`#` is not allowed in a username) — so the unique constraint can
 * be created, and a new name that looks like theirs is still refused because of the first one.
 *
 * A later, different skeleton function needs a migration that drops `users_skeleton_unique`, runs this
 * again (it recomputes every row) and adds the constraint back.
 */
import { usernameSkeleton } from '../../core/users/skeleton.js';
import type { MigrationClient } from './migrations.js';

/** Rows read and written per statement: bounded memory and statement size however many users there are. */
const BATCH_SIZE = 1000;

export async function backfillSkeletons(client: MigrationClient): Promise<void> {
  let after = '';
  for (;;) {
    const { rows } = await client.query('SELECT id, username FROM users WHERE id > $1 ORDER BY id LIMIT $2', [
      after,
      BATCH_SIZE,
    ]);
    const ids = rows.map((row) => row.id as string);
    const skeletons = rows.map((row) => usernameSkeleton(row.username as string));
    if (ids.length > 0) {
      await client.query(
        `UPDATE users SET skeleton = fill.skeleton
         FROM unnest($1::text[], $2::text[]) AS fill (id, skeleton) WHERE users.id = fill.id`,
        [ids, skeletons],
      );
    }
    const last = ids.at(-1);
    if (last === undefined || ids.length < BATCH_SIZE) break;
    after = last;
  }
  await client.query(
    `UPDATE users SET skeleton = '#legacy:' || users.id
     FROM (SELECT id, row_number() OVER (PARTITION BY skeleton ORDER BY created_at, id) AS rank FROM users)
       AS ranked
     WHERE users.id = ranked.id AND ranked.rank > 1`,
  );
}
