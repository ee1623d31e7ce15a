/** The SQLite store's schema: migrations applied once at open, refusals, and the upgrade of older files. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { KeycardError } from '../../src/core/errors.js';
import { usernameSkeleton } from '../../src/core/users/skeleton.js';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import { LATEST_VERSION, MIGRATIONS } from '../../src/stores/sqlite/migrations.js';
import { sessionFixture, userFixture } from '../conformance/store.js';
import { ManualClock } from '../helpers/clock.js';
import { tempSQLiteFile } from '../helpers/sqlite-file.js';

test('sqlite store applies migrations once and records the schema version', async () => {
  const file = tempSQLiteFile();
  try {
    const first = new SQLiteStore({ path: file.path });
    await first.close();
    const second = new SQLiteStore({ path: file.path });
    await second.close();
    const raw = new Database(file.path);
    const rows = raw.prepare('SELECT version FROM schema_migrations').all() as { version: number }[];
    assert.deepEqual(
      rows.map((row) => row.version),
      Array.from({ length: LATEST_VERSION }, (_, i) => i + 1),
    );
    assert.equal((raw.pragma('journal_mode', { simple: true }) as string).toLowerCase(), 'wal');
    raw.close();
  } finally {
    file.cleanup();
  }
});

test('sqlite store refuses a database written by a newer keycard', async () => {
  const file = tempSQLiteFile();
  try {
    await new SQLiteStore({ path: file.path }).close();
    const raw = new Database(file.path);
    raw
      .prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)')
      .run(LATEST_VERSION + 1, 0);
    raw.close();
    assert.throws(
      () => new SQLiteStore({ path: file.path }),
      (error) => error instanceof KeycardError && /newer than this keycard/.test(error.message),
    );
  } finally {
    file.cleanup();
  }
});

test('sqlite store with migrate: false refuses an unmigrated database', () => {
  const file = tempSQLiteFile();
  try {
    assert.throws(
      () => new SQLiteStore({ path: file.path, migrate: false }),
      (error) => error instanceof KeycardError && /keycard migrate/.test(error.message),
    );
  } finally {
    file.cleanup();
  }
});

/** A file as keycard left it at schema `version` (the migrations up to it, as they were released). */
function fileAtVersion(path: string, version: number): Database.Database {
  const raw = new Database(path);
  raw.pragma('journal_mode = WAL');
  raw.exec(
    'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT',
  );
  for (const migration of MIGRATIONS.filter((m) => m.version <= version)) {
    raw.exec(migration.sql);
    raw.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)').run(migration.version);
  }
  return raw;
}

function insertVersion4User(raw: Database.Database, id: string, username: string, createdAt: number): void {
  raw
    .prepare(
      `INSERT INTO users (id, username, password_hash, role, blocked, created_at, updated_at)
       VALUES (?, ?, '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA', 'user', 0, ?, ?)`,
    )
    .run(id, username, createdAt, createdAt);
}

// guards: issue 12 points 5 and 8 on files written before them — refresh-token rows dropped, logins kept,
// every user given a unique skeleton even where two existing names collide
test('migration 5 upgrades a version-4 file: refresh tokens dropped, logins kept, skeletons computed', async () => {
  const file = tempSQLiteFile();
  const clock = new ManualClock();
  const raw = fileAtVersion(file.path, 4);
  const login = sessionFixture(clock, { user: { id: 'u-alice', username: 'alice', role: 'user' } });
  try {
    insertVersion4User(raw, 'u-alice', 'alice', 1000);
    // Two pairs whose names share a skeleton (one precomposed, one decomposed): the later by created_at
    // keeps its name but not the skeleton, even when its id sorts first; at equal created_at, the larger id.
    insertVersion4User(raw, 'u-9', 'zoë', 2000);
    insertVersion4User(raw, 'u-1', 'zoe\u0308', 3000);
    insertVersion4User(raw, 'u-b', 'rene\u0301e', 4000);
    insertVersion4User(raw, 'u-c', 'renée', 4000);
    raw
      .prepare(
        `INSERT INTO sessions (id, user_id, username, role, created_at, last_active_at, expires_at,
           absolute_expires_at, data, user_agent, ip) VALUES (?, 'u-alice', 'alice', 'user', ?, ?, ?, ?, '{"a":1}', ?, ?)`,
      )
      .run(
        login.id,
        login.createdAt,
        login.lastActiveAt,
        login.expiresAt,
        login.absoluteExpiresAt,
        login.userAgent,
        login.ip,
      );
    raw
      .prepare(
        `INSERT INTO refresh_tokens (id, login_id, created_at, expires_at, spent_at, successor_id)
         VALUES ('old-token', ?, ?, ?, NULL, NULL)`,
      )
      .run(login.id, login.createdAt, login.expiresAt);
  } finally {
    raw.close();
  }

  const store = new SQLiteStore({ path: file.path, clock, pruneIntervalMs: 0, fileCheckIntervalMs: 0 });
  const check = new Database(file.path, { readonly: true });
  try {
    const tables = (
      check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
    ).map((row) => row.name);
    assert.equal(tables.includes('refresh_tokens'), false, 'the refresh-token table is gone');
    assert.deepEqual(
      await store.getLogin(login.id),
      { ...login, data: { a: 1 }, refresh: null },
      'the login is kept, with no refresh state: its old refresh tokens stop working',
    );
    const index = (check.pragma("index_info('sessions_by_user')") as { name: string }[]).map((c) => c.name);
    assert.deepEqual(index, ['user_id', 'created_at', 'id'], 'the per-user index pages by (created_at, id)');

    const skeletonOf = async (username: string) => (await store.getUserByUsername(username))?.skeleton;
    assert.equal(await skeletonOf('alice'), usernameSkeleton('alice'));
    assert.equal(await skeletonOf('zoë'), usernameSkeleton('zoë'), 'the earlier by created_at keeps it');
    assert.equal(await skeletonOf('zoe\u0308'), '#legacy:u-1');
    assert.equal(await skeletonOf('rene\u0301e'), usernameSkeleton('renée'), 'a tie goes to the smaller id');
    assert.equal(await skeletonOf('renée'), '#legacy:u-c');
    assert.equal(await store.countUsers(), 5, 'no user is lost');

    await assert.rejects(
      store.createUser(userFixture(clock, { username: 'zoe-new', skeleton: usernameSkeleton('zoë') })),
      (error) =>
        error instanceof KeycardError && error.code === 'username_taken' && /looks like/.test(error.message),
      'the skeleton is unique from now on',
    );
    await assert.rejects(
      store.createUser(userFixture(clock, { username: 'alice' })),
      (error) =>
        error instanceof KeycardError && error.code === 'username_taken' && /is taken/.test(error.message),
    );
  } finally {
    check.close();
    await store.close();
    file.cleanup();
  }
});
