/**
 * The PostgreSQL schema, as numbered migrations applied in order inside one transaction under an advisory
 * lock (see migrate.ts). The SQL names tables without a schema: it runs with `search_path` set to the
 * store's schema (`keycard` by default). Never edit a released migration: add the next one.
 *
 * A migration is SQL, and may add a `backfill`: JavaScript run after its SQL in the same transaction, for
 * values only keycard's own code can compute (a username's skeleton, `usernameSkeleton`). A migration that
 * needs a constraint on the back-filled values puts it in the next version, which runs after the backfill.
 *
 * Times are bigint milliseconds since the epoch, as the store contract speaks them. Ids, usernames and
 * counter keys use the "C" collation: byte order, so B-tree lookups never call the locale's strcoll and
 * `listUsers` and `listClients` page in the same order as the SQLite store, whatever the database's
 * default collation.
 */
import { backfillSkeletons } from './skeletons.js';

/** The migration transaction's connection, as a migration's `backfill` sees it. */
export interface MigrationClient {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export interface Migration {
  version: number;
  description: string;
  sql: string;
  /** Run after `sql`, in the same transaction and with the same `search_path`. */
  backfill?(client: MigrationClient): Promise<void>;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'users and sessions, with the per-user and expiry indexes',
    sql: `
      CREATE TABLE users (
        id            text COLLATE "C" PRIMARY KEY,
        username      text COLLATE "C" NOT NULL CONSTRAINT users_username_unique UNIQUE,
        password_hash text,
        role          text NOT NULL,
        blocked       boolean NOT NULL DEFAULT false,
        created_at    bigint NOT NULL,
        updated_at    bigint NOT NULL
      );

      CREATE TABLE sessions (
        id                  text COLLATE "C" PRIMARY KEY,
        user_id             text COLLATE "C",
        username            text,
        role                text,
        created_at          bigint NOT NULL,
        last_active_at      bigint NOT NULL,
        expires_at          bigint NOT NULL,
        absolute_expires_at bigint NOT NULL,
        data                jsonb NOT NULL,
        -- Bytes each top-level key adds to the compact JSON of data ('"key":value,'), so the size limit
        -- is checked exactly as JSON.stringify counts, inside the UPDATE that merges a patch.
        data_sizes          jsonb NOT NULL,
        user_agent          text,
        ip                  text
      );

      CREATE INDEX sessions_by_user ON sessions (user_id, created_at) WHERE user_id IS NOT NULL;
      CREATE INDEX sessions_by_expiry ON sessions ((least(expires_at, absolute_expires_at)));
    `,
  },
  {
    version: 2,
    description: 'refresh tokens, throttle counters and the prune schedule',
    sql: `
      CREATE TABLE refresh_tokens (
        id           text COLLATE "C" PRIMARY KEY,
        login_id     text COLLATE "C" NOT NULL,
        created_at   bigint NOT NULL,
        expires_at   bigint NOT NULL,
        spent_at     bigint,
        successor_id text COLLATE "C"
      );

      -- No index by login: tokens are never looked up by login. A deleted login's tokens are invalid at
      -- once (rotation reads the login under lock) and are pruned when they expire, as spent tokens are.
      CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);

      CREATE TABLE counters (
        key      text COLLATE "C" PRIMARY KEY,
        count    bigint NOT NULL,
        reset_at bigint NOT NULL
      );

      CREATE INDEX counters_by_reset ON counters (reset_at);

      -- When each cluster-wide maintenance task last ran, by the database's clock (see prune.ts).
      CREATE TABLE maintenance (
        task        text PRIMARY KEY,
        last_run_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 3,
    description: 'revocations (jwt and hybrid strategies), fed to every instance by LISTEN/NOTIFY',
    sql: `
      -- seq orders the rows as they were added; the feed itself is NOTIFY (see feed.ts), not a poll.
      CREATE TABLE revocations (
        seq        bigserial PRIMARY KEY,
        kind       text NOT NULL CONSTRAINT revocations_kind CHECK (kind IN ('login', 'user')),
        id         text COLLATE "C" NOT NULL,
        at         bigint NOT NULL,
        expires_at bigint NOT NULL
      );

      -- isRevoked, the per-request fallback while a feed is down: equality on (kind, id), a range on at for a
      -- user's cut-off, and expires_at carried in the index so that vacuumed pages need no heap visit.
      CREATE INDEX revocations_by_subject ON revocations (kind, id, at) INCLUDE (expires_at);
      CREATE INDEX revocations_by_expiry ON revocations (expires_at);
    `,
  },
  {
    version: 4,
    description: 'API clients (OAuth 2.0 client credentials)',
    sql: `
      -- Clients never expire, so pruning leaves them alone. scopes keep their order (text[]); the secrets
      -- are SHA-256 hashes, never the secrets themselves.
      CREATE TABLE clients (
        id                         text COLLATE "C" CONSTRAINT clients_pkey PRIMARY KEY,
        name                       text NOT NULL,
        scopes                     text[] NOT NULL,
        secret_hash                text NOT NULL,
        previous_secret_hash       text,
        previous_secret_expires_at bigint,
        generation                 bigint NOT NULL,
        disabled                   boolean NOT NULL DEFAULT false,
        created_at                 bigint NOT NULL,
        updated_at                 bigint NOT NULL
      );
    `,
  },
  {
    version: 5,
    description:
      'refresh state in the login row (refresh tokens dropped), the paged per-user index, username skeletons',
    sql: `
      -- A token login's refresh state (RefreshState, src/core/store.ts): one nullable jsonb column, NULL for
      -- a session-strategy login. A column, not six: getLogin, every request's read, gets one NULL field
      -- more rather than six (node-postgres describes and parses every field of every row), and only token
      -- logins pay a JSON.parse of about 150 bytes. The compare-and-set of a rotation (advanceRefresh,
      -- queries.ts) reads one member of a row found by its primary key. The CHECK keeps every stored state
      -- whole, so that a bug writing half a state fails loudly instead of breaking refreshes later. A missing
      -- member makes its test NULL, and a CHECK that is NULL passes: hence IS TRUE.
      ALTER TABLE sessions ADD COLUMN refresh jsonb CONSTRAINT sessions_refresh_shape CHECK (
        refresh IS NULL OR (
          jsonb_typeof(refresh->'generation') = 'number'
          AND jsonb_typeof(refresh->'nonce') = 'string'
          AND jsonb_typeof(refresh->'rotatedAt') = 'number'
          AND jsonb_typeof(refresh->'windowStartedAt') = 'number'
          AND jsonb_typeof(refresh->'rotationsInWindow') = 'number'
          AND jsonb_typeof(refresh->'revocationTTLMs') = 'number'
        ) IS TRUE
      );

      -- Refresh tokens are no longer stored: a token names its login and generation and carries a MAC
      -- (src/core/jwt/refresh-token.ts). Tokens issued before this version stop working; their holders
      -- sign in again.
      DROP TABLE refresh_tokens;

      -- listUserLogins pages newest first (created_at DESC, id DESC) after a cursor: this index serves
      -- the page as one range scan in its own order, O(page) however many logins the user has; it serves
      -- countUserLogins and deleteUserLogins too.
      DROP INDEX sessions_by_user;
      CREATE INDEX sessions_by_user ON sessions (user_id, created_at DESC, id DESC) WHERE user_id IS NOT NULL;

      -- Filled for existing users by the backfill (usernameSkeleton is JavaScript); NOT NULL and unique
      -- from version 6 on.
      ALTER TABLE users ADD COLUMN skeleton text COLLATE "C";
    `,
    backfill: backfillSkeletons,
  },
  {
    version: 6,
    description: 'usernames that look alike are refused (unique skeleton)',
    sql: `
      ALTER TABLE users ALTER COLUMN skeleton SET NOT NULL;
      ALTER TABLE users ADD CONSTRAINT users_skeleton_unique UNIQUE (skeleton);
    `,
  },
  {
    version: 7,
    description: 'the audit log, by id (time-ordered), by user and by type',
    sql: `
      -- Append-only; an id starts with its time (core/audit/query.ts), so the primary key orders the log
      -- and bounds it in time, and pruning is a range delete on it.
      CREATE TABLE audit (
        id         text COLLATE "C" PRIMARY KEY,
        at         bigint NOT NULL,
        type       text COLLATE "C" NOT NULL,
        user_id    text COLLATE "C",
        ip         text,
        user_agent text,
        data       jsonb NOT NULL
      );
      -- A user's page, and a type's page, newest first: a backward range scan in index order.
      CREATE INDEX audit_by_user ON audit (user_id, id) WHERE user_id IS NOT NULL;
      CREATE INDEX audit_by_type ON audit (type, id);
    `,
  },
  {
    version: 8,
    description: "users' email addresses (unique), and single-use account tokens",
    sql: `
      ALTER TABLE users ADD COLUMN email text COLLATE "C";
      ALTER TABLE users ADD COLUMN email_verified_at bigint;
      -- Unique among the users that have one (NULLs are distinct): one of two concurrent claims wins.
      ALTER TABLE users ADD CONSTRAINT users_email_unique UNIQUE (email);
      -- Password reset, email verification and invitation links: only the token's SHA-256 is kept.
      CREATE TABLE account_tokens (
        hash       text COLLATE "C" PRIMARY KEY,
        kind       text COLLATE "C" NOT NULL,
        user_id    text COLLATE "C",
        email      text COLLATE "C",
        role       text,
        stamp      text,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX account_tokens_by_expiry ON account_tokens (expires_at);
    `,
  },
  {
    version: 9,
    description: 'second factors (TOTP, passkeys, recovery codes)',
    sql: `
      -- Never a usable secret in clear (src/core/store.ts, FactorRecord): an encrypted TOTP secret, a
      -- passkey's public key, recovery codes' hashes. counter is bigint: a passkey's signature counter
      -- goes up to 2^32 - 1.
      CREATE TABLE factors (
        id            text COLLATE "C" PRIMARY KEY,
        user_id       text COLLATE "C" NOT NULL,
        kind          text COLLATE "C" NOT NULL,
        name          text NOT NULL,
        credential_id text COLLATE "C",
        secret        text NOT NULL,
        counter       bigint NOT NULL,
        confirmed_at  bigint,
        created_at    bigint NOT NULL,
        last_used_at  bigint
      );
      -- A passkey's credential id is unique across every user: the database admits one of two concurrent
      -- registrations, and a passwordless sign-in finds the factor by it.
      CREATE UNIQUE INDEX factors_credential_id ON factors (credential_id) WHERE credential_id IS NOT NULL;
      -- A user's factors, oldest first (ties by id, byte order: "C"), read in index order; deleting a
      -- user's factors is a range of it.
      CREATE INDEX factors_by_user ON factors (user_id, created_at, id);
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS.reduce((max, migration) => Math.max(max, migration.version), 0);
