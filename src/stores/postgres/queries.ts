/**
 * The store's SQL, built once per schema. Each statement is a named prepared statement (parsed and planned
 * once per connection); names carry a hash of the schema so two stores on different schemas can share a pool.
 */
import { createHash } from 'node:crypto';
import { configurationError } from '../../core/errors.js';

/** Lower-case letters, digits and underscores, so the name never needs escaping and reads the same unquoted. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function checkSchemaName(schema: string): string {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw configurationError(
      'the PostgreSQL schema name must be 1 to 63 lower-case letters, digits or underscores, not starting with a digit',
    );
  }
  return schema;
}

export function quoteIdentifier(name: string): string {
  return `"${name}"`;
}

/**
 * The NOTIFY channel of a schema's revocation feed. NOTIFY channels are identifiers, at most 63 bytes
 * (NAMEDATALEN - 1); a longer name would be cut by LISTEN and refused by pg_notify, and two long schema
 * names could share a cut. So a name that does not fit keeps a readable prefix and ends with a hash.
 */
export function revocationChannel(schema: string): string {
  const channel = `keycard_revocations_${schema}`;
  if (channel.length <= 63) return channel;
  const hash = createHash('sha256').update(schema).digest('hex').slice(0, 16);
  return `${channel.slice(0, 46)}_${hash}`;
}

/** The text of an advisory lock key (hashed to bigint by the server), one per task and schema. */
export function advisoryKey(task: 'migrate' | 'prune', schema: string): string {
  return `keycard:${task}:${schema}`;
}

// Columns are listed, never *: a prepared statement whose result shape changes under it (a later migration
// adding a column while instances run) fails with "cached plan must not change result type".
const SESSION_COLUMNS =
  'id, user_id, username, role, created_at, last_active_at, expires_at, absolute_expires_at, data, user_agent, ip, refresh';
const USER_COLUMNS =
  'id, username, skeleton, password_hash, role, blocked, email, email_verified_at, created_at, updated_at';
const TOKEN_COLUMNS = 'hash, kind, user_id, email, role, stamp, created_at, expires_at';
const CLIENT_COLUMNS = `id, name, scopes, secret_hash, previous_secret_hash, previous_secret_expires_at,
  generation, disabled, created_at, updated_at`;

/** touchLogin's rule, shared by every statement that records activity: only forward, never past the absolute expiry. */
const TOUCH = (lastActiveAt: string, expiresAt: string) =>
  `last_active_at = greatest(last_active_at, ${lastActiveAt}::bigint),
   expires_at = least(greatest(expires_at, ${expiresAt}::bigint), absolute_expires_at)`;

/**
 * NOTIFY payloads must be shorter than 8000 bytes (PostgreSQL's default build); a revocation whose JSON is
 * longer (an absurdly long id) is announced by its sequence number, and the listener reads the row.
 */
const NOTIFY_PAYLOAD_LIMIT = 8000;

/**
 * A batch (insertRevocations) is announced in chunks: each NOTIFY carries a JSON array of records. A record
 * longer than BATCH_INLINE_LIMIT bytes goes as `{ seq }`. Records are cut into chunks where the running
 * total of their lengths (plus a comma each) crosses a multiple of BATCH_CHUNK_BYTES, so a chunk holds less
 * than BATCH_CHUNK_BYTES + BATCH_INLINE_LIMIT + 1 bytes of records, plus its two brackets: under 8000.
 */
const BATCH_INLINE_LIMIT = 1000;
const BATCH_CHUNK_BYTES = 6000;

function statements(s: string, channel: string) {
  return {
    insertSession: `INSERT INTO ${s}.sessions (id, user_id, username, role, created_at, last_active_at,
        expires_at, absolute_expires_at, data, data_sizes, user_agent, ip, refresh)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12, $13::jsonb)`,
    getLogin: `SELECT ${SESSION_COLUMNS} FROM ${s}.sessions WHERE id = $1`,
    // The second condition skips the write (and its dead tuple) when nothing would move.
    touchLogin: `UPDATE ${s}.sessions SET ${TOUCH('$2', '$3')}
      WHERE id = $1 AND (last_active_at < $2 OR expires_at < least($3, absolute_expires_at))`,
    // One atomic statement: the row is locked, the patch merged into whatever it holds now (READ COMMITTED
    // re-reads a row changed by a concurrent writer), and the size of the merged data checked before it is
    // written. Sizes: '{' plus each key's '"key":value,' (its last comma being the '}'), or 2 for '{}'.
    // greatest() ignores NULL, so without a touch ($6, $7 null) the activity columns keep their values.
    patchSession: `UPDATE ${s}.sessions SET
        data = (data || $2::jsonb) - $3::text[],
        data_sizes = (data_sizes || $4::jsonb) - $3::text[],
        ${TOUCH('$6', '$7')}
      WHERE id = $1 AND (
        SELECT greatest(2, 1 + coalesce(sum(size::bigint), 0))
        FROM jsonb_each_text((data_sizes || $4::jsonb) - $3::text[]) AS member(key, size)
      ) <= $5`,
    sessionExists: `SELECT EXISTS (SELECT 1 FROM ${s}.sessions WHERE id = $1) AS exists`,
    deleteLogin: `DELETE FROM ${s}.sessions WHERE id = $1`,
    deleteUserSession: `DELETE FROM ${s}.sessions WHERE id = $1 AND user_id = $2`,
    // Both read sessions_by_user (user_id, created_at DESC, id DESC) in its own order and stop at the limit
    // (NULL: LIMIT ALL): a page costs its own size, however many logins the user has. The cursor is a row
    // comparison on the index's columns, so it is where the range scan starts, not a filter on every entry
    // before it. Two statements rather than one with "$2 IS NULL OR …", which a generic plan could only
    // apply as a filter.
    listUserLogins: `SELECT ${SESSION_COLUMNS} FROM ${s}.sessions WHERE user_id = $1
      ORDER BY created_at DESC, id DESC LIMIT $2`,
    listUserSessionsAfter: `SELECT ${SESSION_COLUMNS} FROM ${s}.sessions
      WHERE user_id = $1 AND (created_at, id) < ($2::bigint, $3::text)
      ORDER BY created_at DESC, id DESC LIMIT $4`,
    countUserLogins: `SELECT count(*) AS count FROM ${s}.sessions WHERE user_id = $1`,
    // Live signed-in logins (the metrics' sample): the WHERE names sessions_by_expiry's expression, so the
    // count is a range of that index (a bitmap or index scan over the live logins, each row read for its
    // user_id), never the whole table. least() equals expires_at, which never passes absolute_expires_at.
    countLogins: `SELECT count(*) AS count FROM ${s}.sessions
      WHERE least(expires_at, absolute_expires_at) > $1 AND user_id IS NOT NULL`,
    // The refresh rotation's compare-and-set, one statement: PostgreSQL locks the row, and a rotation that
    // waited for a concurrent one re-evaluates the WHERE on the row the winner left (READ COMMITTED), whose
    // generation has moved on — so of concurrent rotations of one generation exactly one updates a row and
    // the others get none. A session-strategy login (refresh NULL) and a deleted one match nothing; never an
    // upsert. The generations are compared as jsonb numbers, with no cast of the stored value that could fail.
    advanceRefresh: `UPDATE ${s}.sessions SET refresh = $3::jsonb, ${TOUCH('$4', '$5')}
      WHERE id = $1 AND refresh->'generation' = to_jsonb($2::bigint)
      RETURNING ${SESSION_COLUMNS}`,
    deleteUserLogins: `DELETE FROM ${s}.sessions WHERE user_id = $1 AND id IS DISTINCT FROM $2::text`,
    // users_username_unique and users_skeleton_unique make a taken or look-alike name fail atomically.
    insertUser: `INSERT INTO ${s}.users (id, username, skeleton, password_hash, role, blocked, email,
        email_verified_at, created_at, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    usernameExists: `SELECT EXISTS (SELECT 1 FROM ${s}.users WHERE username = $1) AS exists`,
    getUserById: `SELECT ${USER_COLUMNS} FROM ${s}.users WHERE id = $1`,
    getUserByUsername: `SELECT ${USER_COLUMNS} FROM ${s}.users WHERE username = $1`,
    getUserByEmail: `SELECT ${USER_COLUMNS} FROM ${s}.users WHERE email = $1`,
    listUsers: `SELECT ${USER_COLUMNS} FROM ${s}.users WHERE username > $1 ORDER BY username LIMIT $2`,
    // A prefix is a range on the unique index in the "C" collation (usernamePrefixEnd), never LIKE: its
    // characters are literal.
    listUsersWithPrefix: `SELECT ${USER_COLUMNS} FROM ${s}.users
      WHERE username > $1 AND username >= $3 AND username < $4 ORDER BY username LIMIT $2`,
    // One row: the username and the skeleton (unique constraints on it) are free the moment it commits.
    deleteUser: `DELETE FROM ${s}.users WHERE id = $1`,
    countUsers: `SELECT count(*) AS count FROM ${s}.users`,
    updateUser: `UPDATE ${s}.users SET password_hash = coalesce($2::text, password_hash),
        role = coalesce($3::text, role), blocked = coalesce($4::boolean, blocked), updated_at = $5,
        email = CASE WHEN $6::boolean THEN $7::text ELSE email END,
        email_verified_at = CASE WHEN $8::boolean THEN $9::bigint ELSE email_verified_at END
      WHERE id = $1 RETURNING ${USER_COLUMNS}`,
    // Single-use account tokens: using one is one DELETE … RETURNING, so one of simultaneous uses gets it.
    insertAccountToken: `INSERT INTO ${s}.account_tokens (${TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    getAccountToken: `SELECT ${TOKEN_COLUMNS} FROM ${s}.account_tokens
      WHERE hash = $1 AND kind = $2 AND expires_at > $3`,
    takeAccountToken: `DELETE FROM ${s}.account_tokens WHERE hash = $1 AND kind = $2 AND expires_at > $3
      RETURNING ${TOKEN_COLUMNS}`,
    incrementCounter: `INSERT INTO ${s}.counters AS counter (key, count, reset_at) VALUES ($1, 1, $3)
      ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN counter.reset_at > $2 THEN counter.count + 1 ELSE 1 END,
        reset_at = CASE WHEN counter.reset_at > $2 THEN counter.reset_at ELSE excluded.reset_at END
      RETURNING count, reset_at`,
    readCounter: `SELECT count, reset_at FROM ${s}.counters WHERE key = $1 AND reset_at > $2`,
    deleteCounter: `DELETE FROM ${s}.counters WHERE key = $1`,
    // Only the live window the increment went into, only above zero; an UPDATE, so it never creates a row.
    releaseCounter: `UPDATE ${s}.counters SET count = count - 1
      WHERE key = $1 AND reset_at = $2 AND reset_at > $3 AND count > 0`,
    // One statement, so one transaction: NOTIFY is delivered when it commits, so a listener that hears it
    // (or reloads after it) finds the row.
    insertRevocation: `WITH added AS (
        INSERT INTO ${s}.revocations (kind, id, at, expires_at) VALUES ($1, $2, $3, $4)
        RETURNING seq,
          json_build_object('kind', kind, 'id', id, 'at', at, 'expiresAt', expires_at)::text AS message
      )
      SELECT pg_notify('${channel}', CASE WHEN octet_length(message) < ${NOTIFY_PAYLOAD_LIMIT} THEN message
        ELSE json_build_object('seq', seq)::text END) FROM added`,
    // The batch, one statement too: every row and every NOTIFY commit together. unnest keeps the arrays'
    // order, and seq numbers the rows in it; the chunks (see BATCH_CHUNK_BYTES) follow seq.
    insertRevocations: `WITH added AS (
        INSERT INTO ${s}.revocations (kind, id, at, expires_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
        RETURNING seq,
          json_build_object('kind', kind, 'id', id, 'at', at, 'expiresAt', expires_at)::text AS message
      ), announced AS (
        SELECT seq, CASE WHEN octet_length(message) <= ${BATCH_INLINE_LIMIT} THEN message
          ELSE json_build_object('seq', seq)::text END AS message
        FROM added
      ), chunked AS (
        SELECT seq, message,
          sum(octet_length(message) + 1) OVER (ORDER BY seq) / ${BATCH_CHUNK_BYTES} AS chunk
        FROM announced
      )
      SELECT pg_notify('${channel}', payload) FROM (
        SELECT '[' || string_agg(message, ',' ORDER BY seq) || ']' AS payload FROM chunked GROUP BY chunk
      ) AS chunks`,
    getRevocation: `SELECT kind, id, at, expires_at FROM ${s}.revocations WHERE seq = $1`,
    listRevocations: `SELECT kind, id, at, expires_at FROM ${s}.revocations WHERE expires_at > $1
      ORDER BY seq`,
    // Two probes of revocations_by_subject: the login, then the user's cut-offs at or after issuedAt.
    isRevoked: `SELECT EXISTS (SELECT 1 FROM ${s}.revocations
          WHERE kind = 'login' AND id = $1 AND expires_at > $4)
        OR EXISTS (SELECT 1 FROM ${s}.revocations
          WHERE kind = 'user' AND id = $2 AND at >= $3 AND expires_at > $4) AS revoked`,
    insertClient: `INSERT INTO ${s}.clients (${CLIENT_COLUMNS})
      VALUES ($1, $2, $3::text[], $4, $5, $6, $7, $8, $9, $10)`,
    getClient: `SELECT ${CLIENT_COLUMNS} FROM ${s}.clients WHERE id = $1`,
    // A NULL limit is LIMIT ALL.
    listClients: `SELECT ${CLIENT_COLUMNS} FROM ${s}.clients WHERE id > $1 ORDER BY id LIMIT $2`,
    // "Only what is given": coalesce keeps a column whose parameter is NULL. The previous secret and its
    // expiry may be set to NULL (cleared), so NULL cannot mean "not given" for them: each comes with a
    // flag ($5, $7) saying whether the update names it, and the value is taken as it is when it does.
    updateClient: `UPDATE ${s}.clients SET
        name = coalesce($2::text, name),
        scopes = coalesce($3::text[], scopes),
        secret_hash = coalesce($4::text, secret_hash),
        previous_secret_hash = CASE WHEN $5::boolean THEN $6::text ELSE previous_secret_hash END,
        previous_secret_expires_at =
          CASE WHEN $7::boolean THEN $8::bigint ELSE previous_secret_expires_at END,
        generation = coalesce($9::bigint, generation),
        disabled = coalesce($10::boolean, disabled),
        updated_at = $11
      WHERE id = $1 RETURNING ${CLIENT_COLUMNS}`,
    deleteClient: `DELETE FROM ${s}.clients WHERE id = $1`,
    ping: `SELECT max(version) AS version FROM ${s}.schema_migrations`,
  };
}

export type QueryName = keyof ReturnType<typeof statements>;

export interface Queries {
  sql: Record<QueryName, string>;
  /** Prepared statement names, unique per schema. */
  names: Record<QueryName, string>;
}

export function buildQueries(schema: string): Queries {
  const sql = statements(quoteIdentifier(schema), revocationChannel(schema));
  const prefix = `kc_${createHash('sha256').update(schema).digest('hex').slice(0, 12)}_`;
  const names = Object.fromEntries(Object.keys(sql).map((key) => [key, `${prefix}${key}`]));
  return { sql, names: names as Record<QueryName, string> };
}
