/**
 * Migrations of the PostgreSQL store (shared server, schemas of this file's own): each version applied once
 * and recorded, instances starting together queueing on the advisory lock, an older schema brought up to
 * date — its data too (skeletons back-filled, refresh tokens dropped) — a newer one refused, and
 * `migrate: false` for roles that may not run DDL.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeycardError } from '../../src/core/errors.js';
import { usernameSkeleton } from '../../src/core/users/skeleton.js';
import { LATEST_VERSION, openStoreURL, PostgresStore } from '../../src/stores/postgres/index.js';
import { migratePostgres } from '../../src/stores/postgres/migrate.js';
import { tokenLoginFixture, userFixture } from '../conformance/store.js';
import { ManualClock } from '../helpers/clock.js';
import { postgresSkipReason, postgresURL, schemaScope, until } from '../helpers/postgres-schemas.js';
import { POSTGRES_URL } from '../helpers/services.js';

const skip = await postgresSkipReason();

describe('postgres store: migrations', { skip }, () => {
  const { admin, fresh, versions } = schemaScope();
  /** A schema as a keycard at `version` left it: the real runner, stopped there. */
  const schemaAt = (schema: string, version: number) =>
    migratePostgres(admin, schema, { apply: true, target: version });

  test('applies every migration once and records it; opening again applies nothing', async () => {
    const schema = fresh();
    const store = new PostgresStore({ connectionString: POSTGRES_URL, schema, pruneIntervalMs: 0 });
    try {
      const first = await store.migrate();
      assert.deepEqual(
        first.applied.map((migration) => migration.version),
        Array.from({ length: LATEST_VERSION }, (_, i) => i + 1),
      );
      assert.equal(first.from, 0);
      assert.equal(first.to, LATEST_VERSION);
      const second = await store.migrate();
      assert.deepEqual(second, { schema, from: LATEST_VERSION, to: LATEST_VERSION, applied: [] });
      assert.deepEqual(
        await versions(schema),
        first.applied.map((migration) => migration.version),
      );
    } finally {
      await store.close();
    }
  });

  test('instances starting at once queue on the advisory lock and migrate exactly once', async () => {
    // guards: several instances of a deployment starting together against an empty database
    const schema = fresh();
    const holder = await admin.connect();
    const stores = [1, 2, 3].map(
      () => new PostgresStore({ connectionString: POSTGRES_URL, schema, pruneIntervalMs: 0 }),
    );
    try {
      await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`keycard:migrate:${schema}`]);
      const reports = stores.map((store) => store.migrate());
      await until(async () => {
        // An advisory lock on a bigint key shows in pg_locks as its high and low halves.
        const waiting = await admin.query(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
             AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
          [`keycard:migrate:${schema}`],
        );
        return waiting.rows[0].n === 3;
      }, 'three instances to wait on the migration lock');
      assert.equal(
        (await admin.query('SELECT to_regnamespace($1) AS found', [schema])).rows[0].found,
        null,
        'no instance touched the schema while another held the lock',
      );
      await holder.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`keycard:migrate:${schema}`]);
      const applied = (await Promise.all(reports)).map((report) => report.applied.length);
      assert.deepEqual(
        applied.sort(),
        [0, 0, LATEST_VERSION],
        'one instance applied everything, the others nothing',
      );
      assert.equal((await versions(schema)).length, LATEST_VERSION);
    } finally {
      holder.release();
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  test('instances racing without any outside help all succeed', async () => {
    const schema = fresh();
    const opened = await Promise.all(
      Array.from({ length: 4 }, () =>
        PostgresStore.open({ connectionString: POSTGRES_URL, schema, pruneIntervalMs: 0 }),
      ),
    );
    await Promise.all(opened.map((store) => store.close()));
    assert.equal((await versions(schema)).length, LATEST_VERSION);
  });

  test('brings a schema at an older version up to date', async () => {
    const schema = fresh();
    // As a keycard that predates migration 2 left it.
    assert.equal((await schemaAt(schema, 1)).to, 1);
    assert.deepEqual(await versions(schema), [1]);
    const store = new PostgresStore({ connectionString: POSTGRES_URL, schema, pruneIntervalMs: 0 });
    try {
      const report = await store.migrate();
      assert.equal(report.from, 1);
      assert.deepEqual(
        report.applied.map((migration) => migration.version),
        Array.from({ length: LATEST_VERSION - 1 }, (_, i) => i + 2),
      );
      assert.equal((await store.incrementCounter('k', 1000, 0)).count, 1, 'the new tables are there');
      await store.addRevocation({ kind: 'user', id: 'u', at: 0, expiresAt: 1000 });
      assert.equal(await store.isRevoked({ loginId: 'l', userId: 'u', issuedAt: 0 }, 0), true);
      assert.equal(await store.deleteClient('c'), false, 'and the clients table');
    } finally {
      await store.close();
    }
  });

  // guards: upgrading a live database — users registered before skeletons existed, logins holding refresh
  // tokens — must leave every user able to sign in and the unique skeleton index in place
  test('a schema at version 4 with users and refresh tokens migrates: skeletons filled, refresh table gone', async () => {
    const schema = fresh();
    await schemaAt(schema, 4);
    const s = `"${schema}"`;
    const insertUser = (id: string, username: string, createdAt: number) =>
      admin.query(
        `INSERT INTO ${s}.users (id, username, password_hash, role, created_at, updated_at)
         VALUES ($1, $2, 'hash', 'user', $3, $3)`,
        [id, username, createdAt],
      );
    await insertUser('u-alice', 'alice', 500);
    // Three spellings of one name, with one skeleton (canonically equivalent: NFD, the placeholder's
    // skeleton, makes them equal). The earliest keeps it; ties on created_at go to the smaller id.
    await insertUser('u-0', '\u212bngstrom', 2000); // ANGSTROM SIGN: later, though its id is smallest
    await insertUser('u-1', 'A\u030angstrom', 1000); // the first, with the smaller id of the tie
    await insertUser('u-2', '\u00c5ngstrom', 1000);
    // More users than one batch of the back-fill.
    await admin.query(
      `INSERT INTO ${s}.users (id, username, password_hash, role, created_at, updated_at)
       SELECT 'bulk-' || n, 'bulk' || n, NULL, 'user', n, n FROM generate_series(1, 2500) AS n`,
    );
    await admin.query(
      `INSERT INTO ${s}.sessions (id, user_id, username, role, created_at, last_active_at, expires_at,
         absolute_expires_at, data, data_sizes, user_agent, ip)
       VALUES ('login-1', 'u-alice', 'alice', 'user', 1, 1, 9e12, 9e12, '{"a":1}', '{"a":6}', NULL, NULL)`,
    );
    await admin.query(
      `INSERT INTO ${s}.refresh_tokens (id, login_id, created_at, expires_at, spent_at, successor_id)
       VALUES ('token-1', 'login-1', 1, 9e12, 2, 'token-2'), ('token-2', 'login-1', 2, 9e12, NULL, NULL)`,
    );

    const store = await PostgresStore.open({ connectionString: POSTGRES_URL, schema, pruneIntervalMs: 0 });
    try {
      assert.deepEqual(
        await versions(schema),
        Array.from({ length: LATEST_VERSION }, (_, i) => i + 1),
      );
      const skeleton = async (id: string) => (await store.getUserById(id))?.skeleton;
      assert.equal(await skeleton('u-alice'), usernameSkeleton('alice'));
      assert.equal(await skeleton('u-1'), usernameSkeleton('A\u030angstrom'));
      assert.equal(await skeleton('u-0'), '#legacy:u-0');
      assert.equal(await skeleton('u-2'), '#legacy:u-2');
      const bulk = await admin.query(`SELECT username, skeleton FROM ${s}.users WHERE id LIKE 'bulk-%'`);
      assert.equal(bulk.rows.length, 2500);
      assert.ok(bulk.rows.every((row) => row.skeleton === usernameSkeleton(row.username)));
      // Each legacy user can still sign in by name; the look-alike of the first is refused from now on.
      assert.equal((await store.getUserByUsername('\u00c5ngstrom'))?.id, 'u-2');
      const clock = new ManualClock();
      await assert.rejects(
        store.createUser(
          userFixture(clock, { username: 'a\u030angstrom', skeleton: usernameSkeleton('A\u030angstrom') }),
        ),
        (error) =>
          error instanceof KeycardError &&
          error.code === 'username_taken' &&
          /looks like an existing username/.test(error.message),
      );

      assert.equal(
        (await admin.query('SELECT to_regclass($1) AS found', [`${s}.refresh_tokens`])).rows[0].found,
        null,
        'the refresh token table is gone',
      );
      const login = await store.getLogin('login-1');
      assert.deepEqual(login?.data, { a: 1 }, 'logins are kept');
      assert.equal(login?.refresh, null, 'without refresh state: its old refresh tokens no longer work');
      const index = await admin.query(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'sessions_by_user'",
        [schema],
      );
      assert.match(index.rows[0]?.indexdef ?? '', /\(user_id, created_at DESC, id DESC\)/);
      const token = tokenLoginFixture(clock, { user: { id: 'u-alice', username: 'alice', role: 'user' } });
      await store.createLogin(token);
      assert.deepEqual(await store.getLogin(token.id), token, 'new logins keep their refresh state');

      assert.deepEqual((await store.migrate()).applied, [], 'and migrating again does nothing');
    } finally {
      await store.close();
    }
  });

  test('a failure after the back-fill rolls everything back, the back-fill included', async () => {
    const schema = fresh();
    await schemaAt(schema, 4);
    await admin.query(
      `INSERT INTO "${schema}".users (id, username, password_hash, role, created_at, updated_at)
       VALUES ('u-1', 'alice', NULL, 'user', 1, 1)`,
    );
    // Version 6 cannot create its constraint's index when the name is taken: it fails after version 5's
    // SQL and back-fill ran, in the same transaction.
    await admin.query(`CREATE INDEX users_skeleton_unique ON "${schema}".counters (key)`);
    await assert.rejects(
      PostgresStore.open({ connectionString: POSTGRES_URL, schema, pruneIntervalMs: 0 }),
      (error) => error instanceof KeycardError,
    );
    assert.deepEqual(await versions(schema), [1, 2, 3, 4], 'nothing recorded');
    const column = await admin.query(
      `SELECT 1 FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'users' AND column_name = 'skeleton'`,
      [schema],
    );
    assert.equal(column.rowCount, 0, 'no skeleton column, so nothing back-filled either');
    assert.notEqual(
      (await admin.query('SELECT to_regclass($1) AS found', [`"${schema}".refresh_tokens`])).rows[0].found,
      null,
      'and nothing dropped',
    );
  });

  test('refuses a schema written by a newer keycard and changes nothing', async () => {
    const schema = fresh();
    await (await PostgresStore.open({ connectionString: POSTGRES_URL, schema, pruneIntervalMs: 0 })).close();
    await admin.query(
      `INSERT INTO "${schema}".schema_migrations (version, description) VALUES ($1, 'future')`,
      [LATEST_VERSION + 1],
    );
    await assert.rejects(
      PostgresStore.open({ connectionString: POSTGRES_URL, schema, pruneIntervalMs: 0 }),
      (error) =>
        error instanceof KeycardError &&
        error.code === 'invalid_configuration' &&
        /newer than this keycard/.test(error.message),
    );
    assert.equal((await versions(schema)).at(-1), LATEST_VERSION + 1);
  });

  test('with migrate: false an unmigrated schema is an error and nothing is created', async () => {
    const schema = fresh();
    await assert.rejects(
      PostgresStore.open({ connectionString: POSTGRES_URL, schema, migrate: false, pruneIntervalMs: 0 }),
      (error) => error instanceof KeycardError && /run keycard migrate/.test(error.message),
    );
    assert.equal((await admin.query('SELECT to_regnamespace($1) AS found', [schema])).rows[0].found, null);
    await (await PostgresStore.open({ connectionString: POSTGRES_URL, schema, pruneIntervalMs: 0 })).close();
    const store = await openStoreURL(postgresURL({ schema, migrate: 'false', pruneIntervalMs: '0' }));
    await store.ping();
    await store.close();
  });
});
