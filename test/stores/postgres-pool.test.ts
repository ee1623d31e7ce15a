/**
 * The PostgreSQL store's queries and pool (shared server, a schema of this file's own): a session read is
 * one query, so are a rotation, a release and a page of logins (one range scan of the per-user index), the
 * pool never opens more than poolMax connections, and a full pool or a slow statement is store_unavailable
 * rather than a hang.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { KeycardError } from '../../src/core/errors.js';
import { generateToken, hashToken } from '../../src/core/random-tokens.js';
import { openStoreURL, PostgresStore } from '../../src/stores/postgres/index.js';
import { buildQueries } from '../../src/stores/postgres/queries.js';
import { sessionFixture, tokenLoginFixture } from '../conformance/store.js';
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
      await store.createLogin(record);
      const counted = async (operation: () => Promise<unknown>): Promise<number> => {
        queries = 0;
        await operation();
        return queries;
      };
      assert.equal(await counted(() => store.getLogin(record.id)), 1);
      assert.equal(await counted(() => store.getLogin(hashToken(generateToken()))), 1);
      assert.equal(
        await counted(() =>
          store.patchLoginData(
            record.id,
            { set: { b: 2 }, unset: [] },
            { maxBytes: 1000, touch: { lastActiveAt: clock.now() + 1, expiresAt: record.expiresAt + 1 } },
          ),
        ),
        1,
      );
      assert.equal(
        await counted(() => store.touchLogin(record.id, clock.now() + 2, record.expiresAt + 2)),
        1,
      );
      // The rotation's compare-and-set: one UPDATE … RETURNING, whether it wins or not.
      const login = tokenLoginFixture(clock);
      await store.createLogin(login);
      const state = login.refresh as NonNullable<typeof login.refresh>;
      const touch = { lastActiveAt: clock.now() + 3, expiresAt: login.expiresAt + 3 };
      const next = { ...state, generation: 1 };
      assert.equal(await counted(() => store.advanceRefresh(login.id, 0, next, touch)), 1);
      assert.equal(await counted(() => store.advanceRefresh(login.id, 0, next, touch)), 1);
      const window = await store.incrementCounter('ip:one', 60_000, clock.now());
      assert.equal(await counted(() => store.releaseCounter('ip:one', window.resetAt, clock.now())), 1);
      const after = { createdAt: login.createdAt, id: login.id };
      assert.equal(await counted(() => store.listUserLogins('user-1', { limit: 2, after })), 1);
      assert.equal(await counted(() => store.countUserLogins('user-1')), 1);
      assert.equal(await counted(() => store.countLogins(clock.now())), 1);
    } finally {
      await store.close();
      await pool.end();
    }
  });

  // guards: "my sessions" and the admin listings reading every login of a user for each page (issue 12, point 7)
  test('a page of a user’s logins is one range scan of sessions_by_user, as long as the page', async () => {
    const pageSchema = fresh();
    const store = await PostgresStore.open({
      connectionString: POSTGRES_URL,
      schema: pageSchema,
      pruneIntervalMs: 0,
    });
    const client = await admin.connect();
    try {
      // 20,000 logins of 200 users, three per millisecond: the page's cursor needs its id tie-break.
      await client.query(
        `INSERT INTO "${pageSchema}".sessions (id, user_id, username, role, created_at, last_active_at,
           expires_at, absolute_expires_at, data, data_sizes)
         SELECT md5(n::text), 'user-' || (n % 200), 'name', 'user', n / 3, 0, 9e12, 9e12, '{}', '{}'
         FROM generate_series(1, 20000) AS n`,
      );
      await client.query(`ANALYZE "${pageSchema}".sessions`);
      const cursor = (await store.listUserLogins('user-7', { limit: 40 })).at(-1) as NonNullable<
        Awaited<ReturnType<typeof store.getLogin>>
      >;
      const { sql } = buildQueries(pageSchema);
      // Both plans PostgreSQL may use for the prepared statement: custom (parameters known) and generic.
      for (const mode of ['force_custom_plan', 'force_generic_plan']) {
        await client.query(`SET plan_cache_mode = ${mode}`);
        await client.query('DEALLOCATE ALL');
        await client.query(`PREPARE page (text, bigint, text, bigint) AS ${sql.listUserSessionsAfter}`);
        const explained = await client.query(
          `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE page ('user-7', ${cursor.createdAt}, '${cursor.id}', 5)`,
        );
        const [limit] = explained.rows[0]['QUERY PLAN'].map((root: { Plan: unknown }) => root.Plan);
        assert.equal(limit['Node Type'], 'Limit', mode);
        const [scan] = limit.Plans;
        assert.match(scan['Node Type'], /^Index (Only )?Scan$/, mode);
        assert.equal(scan['Index Name'], 'sessions_by_user', mode);
        assert.match(
          scan['Index Cond'],
          /ROW\(created_at, id\) < ROW/,
          `${mode}: the cursor starts the scan`,
        );
        assert.equal(scan['Actual Rows'], 5, `${mode}: no entry read beyond the page`);
        assert.equal(scan['Rows Removed by Filter'] ?? 0, 0, `${mode}: nothing filtered out`);
      }
      const page = await store.listUserLogins('user-7', { limit: 5, after: cursor });
      assert.equal(page.length, 5);
      assert.ok(page.every((login) => login.createdAt <= cursor.createdAt && login.id !== cursor.id));
    } finally {
      await client.query('RESET plan_cache_mode; DEALLOCATE ALL');
      client.release();
      await store.close();
    }
  });

  test('countLogins is a range of sessions_by_expiry, not a read of every row, when most have expired', async () => {
    const countSchema = fresh();
    const store = await PostgresStore.open({
      connectionString: POSTGRES_URL,
      schema: countSchema,
      pruneIntervalMs: 0,
    });
    const now = Date.now();
    try {
      // 20,000 logins, one in fifty live, one in ten anonymous: what a table looks like before a prune.
      await admin.query(
        `INSERT INTO "${countSchema}".sessions (id, user_id, username, role, created_at, last_active_at,
           expires_at, absolute_expires_at, data, data_sizes)
         SELECT md5(n::text), CASE WHEN n % 10 = 0 THEN NULL ELSE 'user-' || (n % 200) END, 'name', 'user', 0, 0,
           CASE WHEN n % 50 = 1 THEN $1::bigint + 3600000 ELSE $1::bigint - 1000 END, $1::bigint + 7200000, '{}', '{}'
         FROM generate_series(1, 20000) AS n`,
        [now],
      );
      await admin.query(`ANALYZE "${countSchema}".sessions`);
      const plan = await admin.query(`EXPLAIN ${buildQueries(countSchema).sql.countLogins}`, [now]);
      const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
      assert.match(text, /sessions_by_expiry/);
      assert.doesNotMatch(text, /Seq Scan/);
      // n % 50 = 1 is never a multiple of 10: all 400 live ones are signed in.
      assert.equal(await store.countLogins(now), 400);
    } finally {
      await store.close();
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
      await store.createLogin(record);
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM "${schema}".sessions WHERE id = $1 FOR UPDATE`, [record.id]);
      const touches = Array.from({ length: 6 }, (_, i) =>
        store.touchLogin(record.id, clock.now() + i + 1, record.expiresAt + i + 1),
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
      assert.equal((await store.getLogin(record.id))?.expiresAt, record.expiresAt + 6);
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
      await store.createLogin(record);
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM "${schema}".sessions WHERE id = $1 FOR UPDATE`, [record.id]);
      const blocked = store.touchLogin(record.id, clock.now() + 1, record.expiresAt + 1);
      await assert.rejects(store.getLogin(record.id), (error) => {
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
      await until(async () => (await store.getLogin(record.id))?.id === record.id, 'the pool to serve again');
    } finally {
      locker.release();
      await store.close();
    }
  });
});
