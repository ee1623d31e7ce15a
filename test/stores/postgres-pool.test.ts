/**
 * The PostgreSQL store's queries and pool (shared server, a schema of this file's own): a session read is
 * one query, the pool never opens more than poolMax connections, and a full pool or a slow statement is
 * store_unavailable rather than a hang.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { KeycardError } from '../../src/core/errors.js';
import { generateToken, hashToken } from '../../src/core/tokens.js';
import { openStoreURL, PostgresStore } from '../../src/stores/postgres/index.js';
import { sessionFixture } from '../conformance/store.js';
import { ManualClock } from '../helpers/clock.js';
import { postgresSkipReason, postgresURL, schemaScope, until } from '../helpers/postgres-schemas.js';
import { POSTGRES_URL, uniqueName } from '../helpers/services.js';

const unavailable = (error: unknown) => error instanceof KeycardError && error.code === 'store_unavailable';
const skip = await postgresSkipReason();

describe('postgres store: queries and the pool', { skip }, () => {
  const { admin, fresh } = schemaScope();

  const schema = fresh();

  test('a session read is exactly one query; a patch and a touch are one each', async () => {
    const clock = new ManualClock();
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
    let queries = 0;
    pool.on('connect', (client) => {
      const target = client as unknown as { query: (...args: unknown[]) => unknown };
      const query = target.query.bind(client);
      target.query = (...args: unknown[]) => {
        queries++;
        return query(...args);
      };
    });
    const store = await PostgresStore.open({ pool, schema, clock, pruneIntervalMs: 0 });
    try {
      const record = sessionFixture(clock, { data: { a: 1 } });
      await store.createSession(record);
      const counted = async (operation: () => Promise<unknown>): Promise<number> => {
        queries = 0;
        await operation();
        return queries;
      };
      assert.equal(await counted(() => store.getSession(record.id)), 1);
      assert.equal(await counted(() => store.getSession(hashToken(generateToken()))), 1);
      assert.equal(
        await counted(() =>
          store.patchSessionData(
            record.id,
            { set: { b: 2 }, unset: [] },
            { maxBytes: 1000, touch: { lastActiveAt: clock.now() + 1, expiresAt: record.expiresAt + 1 } },
          ),
        ),
        1,
      );
      assert.equal(
        await counted(() => store.touchSession(record.id, clock.now() + 2, record.expiresAt + 2)),
        1,
      );
    } finally {
      await store.close();
      await pool.end();
    }
  });

  test('the pool never opens more than poolMax connections; the rest wait their turn', async () => {
    const clock = new ManualClock();
    const applicationName = uniqueName('kc_pool');
    const store = await openStoreURL(
      postgresURL({
        schema,
        poolMax: '2',
        // Queued requests wait for as long as the test needs, however loaded the machine.
        connectionTimeoutMs: '60000',
        statementTimeoutMs: '30000',
        application_name: applicationName,
      }),
      { clock },
    );
    const locker = await admin.connect();
    try {
      const record = sessionFixture(clock);
      await store.createSession(record);
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM "${schema}".sessions WHERE id = $1 FOR UPDATE`, [record.id]);
      const touches = Array.from({ length: 6 }, (_, i) =>
        store.touchSession(record.id, clock.now() + i + 1, record.expiresAt + i + 1),
      );
      const backends = async () =>
        (
          await admin.query(
            `SELECT count(*)::int AS total, count(*) FILTER (WHERE wait_event_type = 'Lock')::int AS waiting
             FROM pg_stat_activity WHERE application_name = $1`,
            [applicationName],
          )
        ).rows[0] as { total: number; waiting: number };
      await until(async () => (await backends()).waiting === 2, 'two touches to wait on the row lock');
      assert.deepEqual(await backends(), { total: 2, waiting: 2 }, 'the other four wait in the pool');
      await locker.query('COMMIT');
      await Promise.all(touches);
      assert.equal((await store.getSession(record.id))?.expiresAt, record.expiresAt + 6);
      assert.ok((await backends()).total <= 2);
    } finally {
      locker.release();
      await store.close();
    }
  });

  test('no free connection within connectionTimeoutMs, or a statement over statementTimeoutMs, is store_unavailable', async () => {
    const clock = new ManualClock();
    const url = postgresURL({ schema, poolMax: '1', connectionTimeoutMs: '200', statementTimeoutMs: '300' });
    // Retried: on a loaded machine opening the one connection may take longer than 200 ms.
    let opened: PostgresStore | undefined;
    await until(async () => {
      opened = await openStoreURL(url, { clock });
      return true;
    }, 'the store to open');
    const store = opened as PostgresStore;
    const locker = await admin.connect();
    try {
      const record = sessionFixture(clock);
      await store.createSession(record);
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM "${schema}".sessions WHERE id = $1 FOR UPDATE`, [record.id]);
      const blocked = store.touchSession(record.id, clock.now() + 1, record.expiresAt + 1);
      await assert.rejects(store.getSession(record.id), (error) => {
        assert.ok(unavailable(error));
        assert.match(String((error as Error).cause), /timeout exceeded when trying to connect/);
        return true;
      });
      await assert.rejects(blocked, (error) => {
        assert.ok(unavailable(error));
        assert.equal(((error as Error).cause as { code?: string }).code, '57014', 'statement_timeout');
        return true;
      });
      await locker.query('ROLLBACK');
      // The connection that hit the timeout was discarded; the pool opens another by itself.
      await until(
        async () => (await store.getSession(record.id))?.id === record.id,
        'the pool to serve again',
      );
    } finally {
      locker.release();
      await store.close();
    }
  });
});
