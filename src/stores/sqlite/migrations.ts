/**
 * The SQLite schema, as numbered migrations applied in order inside one write transaction at open
 * (migrate.ts). Never edit a released migration: add the next one.
 */
import { usernameSkeleton } from '../../core/users/skeleton.js';

export interface Migration {
  version: number;
  description: string;
  sql: string;
  /**
   * SQL functions the migration's statements call, registered on the connection before they run: for
   * values only JavaScript computes (a username's skeleton). Deterministic, one text argument.
   */
  functions?: Record<string, (value: string) => string>;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'users and sessions, with the per-user and expiry indexes',
    sql: `
      CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE,
        password_hash TEXT,
        role          TEXT NOT NULL,
        blocked       INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE sessions (
        id                  TEXT PRIMARY KEY,
        user_id             TEXT,
        username            TEXT,
        role                TEXT,
        created_at          INTEGER NOT NULL,
        last_active_at      INTEGER NOT NULL,
        expires_at          INTEGER NOT NULL,
        absolute_expires_at INTEGER NOT NULL,
        data                TEXT NOT NULL,
        user_agent          TEXT,
        ip                  TEXT
      ) STRICT;

      CREATE INDEX sessions_by_user ON sessions (user_id, created_at) WHERE user_id IS NOT NULL;
      CREATE INDEX sessions_by_expiry ON sessions (expires_at);
    `,
  },
  {
    version: 2,
    description: 'refresh tokens (JWT and hybrid strategies) and throttle counters',
    sql: `
      CREATE TABLE refresh_tokens (
        id           TEXT PRIMARY KEY,
        login_id     TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        spent_at     INTEGER,
        successor_id TEXT
      ) STRICT;

      CREATE INDEX refresh_tokens_by_login ON refresh_tokens (login_id);
      CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);

      CREATE TABLE counters (
        key      TEXT PRIMARY KEY,
        count    INTEGER NOT NULL,
        reset_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 3,
    description: 'revocations (jwt and hybrid strategies), with a sequence for the polling feed',
    sql: `
      CREATE TABLE revocations (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        kind       TEXT NOT NULL,
        id         TEXT NOT NULL,
        at         INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;

      CREATE INDEX revocations_by_subject ON revocations (kind, id);
      CREATE INDEX revocations_by_expiry ON revocations (expires_at);
    `,
  },
  {
    version: 4,
    description: 'API clients (OAuth 2.0 client credentials)',
    sql: `
      CREATE TABLE clients (
        id                         TEXT PRIMARY KEY,
        name                       TEXT NOT NULL,
        scopes                     TEXT NOT NULL,
        secret_hash                TEXT NOT NULL,
        previous_secret_hash       TEXT,
        previous_secret_expires_at INTEGER,
        generation                 INTEGER NOT NULL,
        disabled                   INTEGER NOT NULL DEFAULT 0,
        created_at                 INTEGER NOT NULL,
        updated_at                 INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 5,
    description:
      'logins keep their refresh state (refresh tokens are no longer stored), the paged per-user index, username skeletons',
    functions: { keycard_username_skeleton: usernameSkeleton },
    sql: `
      -- A token login's refresh state lives in its own row (src/core/store.ts, RefreshState): O(1) per
      -- login however often it refreshes. The tokens themselves are not stored any more; those issued
      -- before this migration stop working (their logins have no refresh state), which is accepted.
      DROP TABLE refresh_tokens;
      ALTER TABLE sessions ADD COLUMN refresh_generation INTEGER;
      ALTER TABLE sessions ADD COLUMN refresh_nonce TEXT;
      ALTER TABLE sessions ADD COLUMN refresh_rotated_at INTEGER;
      ALTER TABLE sessions ADD COLUMN refresh_window_started_at INTEGER;
      ALTER TABLE sessions ADD COLUMN refresh_rotations_in_window INTEGER;
      ALTER TABLE sessions ADD COLUMN refresh_revocation_ttl_ms INTEGER;

      -- Pages of a user's logins, newest first with the id breaking ties, read straight off the index.
      DROP INDEX sessions_by_user;
      CREATE INDEX sessions_by_user ON sessions (user_id, created_at, id) WHERE user_id IS NOT NULL;

      -- The skeleton (UTS #39) is unique like the username, so a look-alike name is refused atomically.
      -- SQLite cannot add a NOT NULL UNIQUE column to a table with rows, so the table is rebuilt. Two
      -- existing users whose names share a skeleton both stay: the later one (by created_at, then id)
      -- gets '#legacy:<id>' ('#' is no username character), so the index can be built.
      CREATE TABLE users_next (
        id            TEXT PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE,
        skeleton      TEXT NOT NULL UNIQUE,
        password_hash TEXT,
        role          TEXT NOT NULL,
        blocked       INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
      ) STRICT;
      INSERT INTO users_next (id, username, skeleton, password_hash, role, blocked, created_at, updated_at)
        SELECT id, username,
          CASE WHEN ROW_NUMBER() OVER (PARTITION BY skeleton ORDER BY created_at, id) = 1
            THEN skeleton ELSE '#legacy:' || id END,
          password_hash, role, blocked, created_at, updated_at
        FROM (SELECT *, keycard_username_skeleton(username) AS skeleton FROM users);
      DROP TABLE users;
      ALTER TABLE users_next RENAME TO users;
    `,
  },
  {
    version: 6,
    description: 'the audit log, by id (time-ordered), by user and by type',
    sql: `
      -- Append-only; an id starts with its time (core/audit/query.ts), so the primary key orders the log
      -- and bounds it in time, and pruning is a range delete on it. WITHOUT ROWID: the key is the order.
      CREATE TABLE audit (
        id         TEXT PRIMARY KEY,
        at         INTEGER NOT NULL,
        type       TEXT NOT NULL,
        user_id    TEXT,
        ip         TEXT,
        user_agent TEXT,
        data       TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;
      -- A user's page, and a type's page, newest first: a range scan in index order.
      CREATE INDEX audit_by_user ON audit (user_id, id) WHERE user_id IS NOT NULL;
      CREATE INDEX audit_by_type ON audit (type, id);
    `,
  },
  {
    version: 7,
    description: "users' email addresses (unique), and single-use account tokens",
    sql: `
      ALTER TABLE users ADD COLUMN email TEXT;
      ALTER TABLE users ADD COLUMN email_verified_at INTEGER;
      -- Unique among the users that have one: the database admits one of two concurrent claims.
      CREATE UNIQUE INDEX users_email_unique ON users (email) WHERE email IS NOT NULL;
      -- Password reset, email verification and invitation links: only the token's SHA-256 is kept.
      CREATE TABLE account_tokens (
        hash       TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        user_id    TEXT,
        email      TEXT,
        role       TEXT,
        stamp      TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX account_tokens_by_expiry ON account_tokens (expires_at);
    `,
  },
  {
    version: 8,
    description: 'second factors (TOTP, passkeys, recovery codes)',
    sql: `
      -- Never a usable secret in clear (src/core/store.ts, FactorRecord): an encrypted TOTP secret, a
      -- passkey's public key, recovery codes' hashes. Rows hold up to a few kilobytes, so a rowid table.
      CREATE TABLE factors (
        id            TEXT PRIMARY KEY,
        user_id       TEXT NOT NULL,
        kind          TEXT NOT NULL,
        name          TEXT NOT NULL,
        credential_id TEXT,
        secret        TEXT NOT NULL,
        counter       INTEGER NOT NULL,
        confirmed_at  INTEGER,
        created_at    INTEGER NOT NULL,
        last_used_at  INTEGER
      ) STRICT;
      -- A passkey's credential id is unique across every user: the database admits one of two concurrent
      -- registrations, and a passwordless sign-in finds the factor by it.
      CREATE UNIQUE INDEX factors_credential_id ON factors (credential_id) WHERE credential_id IS NOT NULL;
      -- A user's factors, oldest first, read in index order; deleting a user's factors is a range of it.
      CREATE INDEX factors_by_user ON factors (user_id, created_at, id);
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS.reduce((max, migration) => Math.max(max, migration.version), 0);
