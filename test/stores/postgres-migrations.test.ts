/**
 * Migrations of the PostgreSQL store (shared server, schemas of this file's own): each version applied once
 * and recorded, instances starting together queueing on the advisory lock, an older schema brought up to
 * date, a newer one refused, and `migrate: false` for roles that may not run DDL.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeycardError } from '../../src/core/errors.js';
import { LATEST_VERSION, openStoreURL, PostgresStore } from '../../src/stores/postgres/index.js';
import { postgresSkipReason, postgresURL, schemaScope, until } from '../helpers/postgres-schemas.js';
import { POSTGRES_URL } from '../helpers/services.js';

const skip = await postgresSkipReason();

describe('postgres store: migrations', { skip }, () => {
  const { admin, fresh, versions } = schemaScope();

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
    await (await PostgresStore.open({ connectionString: POSTGRES_URL, schema, pruneIntervalMs: 0 })).close();
    // Back to version 1, as a keycard that predates migration 2 left it.
    await admin.query(
      `DROP TABLE "${schema}".refresh_tokens, "${schema}".counters, "${schema}".maintenance,
         "${schema}".revocations, "${schema}".clients;
       DELETE FROM "${schema}".schema_migrations WHERE version > 1`,
    );
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
