/**
 * The SQLite schema, as numbered migrations applied in order inside one write transaction at open.
 * Never edit a released migration: add the next one.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
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
];

export const LATEST_VERSION = MIGRATIONS.reduce((max, migration) => Math.max(max, migration.version), 0);
