/**
 * The PostgreSQL store on the shared server at POSTGRES_URL, in a schema of this file's own: the
 * conformance suite, the exact size rule and round trip of session data, and store URLs. Migrations,
 * pruning and the pool have their own files; stopping a server is only ever done to a private one
 * (postgres-faults.test.ts).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import { KeycardError } from '../../src/core/errors.js';
import { applyPatch } from '../../src/core/session/data.js';
import type { ClientRecord, SessionData } from '../../src/core/store.js';
import {
  LATEST_VERSION,
  openStoreURL,
  PostgresStore,
  type PostgresStoreOptions,
  postgresOptionsFromURL,
} from '../../src/stores/postgres/index.js';
import { openStore } from '../../src/stores/url.js';
import {
  describeStoreConformance,
  refreshFixture,
  sessionFixture,
  tokenLoginFixture,
} from '../conformance/store.js';
import { ManualClock } from '../helpers/clock.js';
import { postgresSkipReason, postgresURL, schemaScope } from '../helpers/postgres-schemas.js';
import { POSTGRES_URL } from '../helpers/services.js';

const unavailable = (error: unknown) => error instanceof KeycardError && error.code === 'store_unavailable';
const skip = await postgresSkipReason();

describe('postgres store URLs', () => {
  test('keycard options are taken out of the URL; everything else reaches pg byte for byte', () => {
    const options = postgresOptionsFromURL(
      'postgresql://app:p%40ss@db.internal:5433/auth?sslmode=require&schema=kc_auth&poolMax=20&application_name=a%20b&migrate=false&statementTimeoutMs=0',
    );
    assert.deepEqual(options, {
      connectionString:
        'postgresql://app:p%40ss@db.internal:5433/auth?sslmode=require&application_name=a%20b',
      schema: 'kc_auth',
      poolMax: 20,
      migrate: false,
      statementTimeoutMs: 0,
    });
    assert.deepEqual(postgresOptionsFromURL('postgres://localhost/db'), {
      connectionString: 'postgres://localhost/db',
    });
    assert.equal(
      postgresOptionsFromURL('postgres://localhost/db?pruneIntervalMs=0').connectionString,
      'postgres://localhost/db',
    );
    assert.deepEqual(postgresOptionsFromURL('postgres://localhost/db?revocationKeepaliveMs=0'), {
      connectionString: 'postgres://localhost/db',
      revocationKeepaliveMs: 0,
    });
  });

  test('bad option values fail with one line that never shows the password', () => {
    const cases: [string, RegExp][] = [
      ['postgres://u:secret@h/db?poolMax=ten', /poolMax must be a whole number/],
      ['postgres://u:secret@h/db?migrate=yes', /migrate must be true or false/],
      ['postgres://u:secret@h/db?idleTimeoutMs=-1', /idleTimeoutMs must be a whole number/],
      ['postgres://u:secret@h/db?schema=%zz', /malformed %-escape/],
    ];
    for (const [url, message] of cases) {
      assert.throws(
        () => postgresOptionsFromURL(url),
        (error) =>
          error instanceof KeycardError &&
          error.code === 'invalid_configuration' &&
          message.test(error.message) &&
          !error.message.includes('secret'),
        url,
      );
    }
  });

  test('the store refuses a bad schema name and contradictory options before any I/O', () => {
    const refuses = (options: PostgresStoreOptions, message: RegExp) =>
      assert.throws(
        () => new PostgresStore(options),
        (error) => error instanceof KeycardError && message.test(error.message),
      );
    refuses({ connectionString: 'postgres://h/db', schema: 'Keycard' }, /schema name must be/);
    refuses(
      { connectionString: 'postgres://h/db', schema: 'a"; DROP TABLE users; --' },
      /schema name must be/,
    );
    refuses({}, /needs either a pool or a connectionString/);
    const pool = new pg.Pool();
    refuses({ pool, connectionString: 'postgres://h/db' }, /needs either a pool or a connectionString/);
    refuses({ pool, poolMax: 3 }, /set them on your own pool/);
    refuses({ connectionString: 'postgres://h/db', poolMax: 0 }, /poolMax must be a whole number from 1/);
    refuses(
      { connectionString: 'postgres://h/db', pruneIntervalMs: 2 ** 31 },
      /pruneIntervalMs must be a whole/,
    );
    refuses(
      { connectionString: 'postgres://h/db', revocationKeepaliveMs: 0.5 },
      /revocationKeepaliveMs must be a whole/,
    );
  });
});

if (skip) {
  test('postgres store conformance', { skip }, () => {});
} else {
  const { admin, fresh, versions } = schemaScope();
  const conformanceSchema = fresh();
  describeStoreConformance('postgres', async (clock) => {
    const store = await PostgresStore.open({
      connectionString: POSTGRES_URL,
      schema: conformanceSchema,
      clock,
      pruneIntervalMs: 0,
    });
    return {
      store,
      // Another instance: its own pool, and its own listener connection, on the same schema.
      openAnother: () =>
        PostgresStore.open({
          connectionString: POSTGRES_URL,
          schema: conformanceSchema,
          clock,
          pruneIntervalMs: 0,
        }),
      async reset() {
        const s = `"${conformanceSchema}"`;
        await admin.query(
          `TRUNCATE ${s}.sessions, ${s}.users, ${s}.counters, ${s}.revocations, ${s}.clients, ${s}.audit,
            ${s}.account_tokens, ${s}.factors`,
        );
      },
      // Rows of every table in the schema, whatever it holds: a table a migration forgot to drop counts too.
      async recordCount() {
        const tables = await admin.query('SELECT tablename FROM pg_tables WHERE schemaname = $1', [
          conformanceSchema,
        ]);
        const counts = tables.rows.map(
          (row) => `(SELECT count(*) FROM "${conformanceSchema}"."${row.tablename}")`,
        );
        const total = await admin.query(`SELECT ${counts.join(' + ')} AS n`);
        return Number(total.rows[0].n);
      },
      close: () => store.close(),
    };
  });

  describe('postgres store: session data', () => {
    const schema = fresh();
    const clock = new ManualClock();
    let store: PostgresStore;
    const open = async () => {
      store ??= await PostgresStore.open({
        connectionString: POSTGRES_URL,
        schema,
        clock,
        pruneIntervalMs: 0,
      });
      return store;
    };
    after(async () => {
      await store?.close();
    });

    /** A patch whose merged data is exactly `bytes(merged)` long fits a limit of that, and not one less. */
    async function assertExactLimit(data: SessionData, set: SessionData, unset: string[]): Promise<void> {
      const store = await open();
      const merged = JSON.parse(JSON.stringify(applyPatch(data, { set, unset })));
      const bytes = Buffer.byteLength(JSON.stringify(merged));
      const record = sessionFixture(clock, { data });
      await store.createLogin(record);
      assert.equal(
        await store.patchLoginData(record.id, { set, unset }, { maxBytes: bytes - 1 }),
        'too_large',
      );
      assert.deepEqual((await store.getLogin(record.id))?.data, JSON.parse(JSON.stringify(data)));
      assert.equal(await store.patchLoginData(record.id, { set, unset }, { maxBytes: bytes }), 'ok');
      assert.deepEqual((await store.getLogin(record.id))?.data, merged);
    }

    test('the size limit counts the bytes of compact JSON exactly, as the session manager does', async () => {
      // jsonb's own text form writes ', ' and ': ' and would refuse these early.
      await assertExactLimit({ list: Array.from({ length: 200 }, (_, i) => i) }, { more: [1, 2, 3] }, []);
      await assertExactLimit({ a: { b: { c: [true, null, 'é😀'] } } }, { big: 1e21, small: 1e-7 }, ['a']);
      await assertExactLimit(JSON.parse('{"__proto__": {"x": 1}, "constructor": 2}'), { z: 'q"\\\n' }, []);
      await assertExactLimit({}, { only: 1 }, []);
      await assertExactLimit({ gone: 1 }, {}, ['gone']);
    });

    test('the size rule and the round trip hold for arbitrary JSON', async () => {
      const storable = (value: unknown) => !/\\u0000/.test(JSON.stringify(value));
      const data = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
      await fc.assert(
        fc.asyncProperty(
          data,
          data,
          fc.array(fc.nat({ max: 8 }), { maxLength: 3 }),
          async (before, set, drop) => {
            fc.pre(storable(before) && storable(set));
            const keys = Object.keys(before);
            const unset = drop
              .map((i) => keys[i])
              .filter((key): key is string => key !== undefined && !(key in set));
            await assertExactLimit(before, set, [...new Set(unset)]);
          },
        ),
        { numRuns: 60 },
      );
    });

    test('data jsonb cannot hold is refused as invalid_request, and nothing is written', async () => {
      // PostgreSQL's jsonb has no U+0000 and no unpaired surrogates; the memory and SQLite stores keep both.
      const store = await open();
      const refused = (error: unknown) => error instanceof KeycardError && error.code === 'invalid_request';
      const nul = sessionFixture(clock, { data: { q: 'a\u0000b' } });
      await assert.rejects(store.createLogin(nul), refused);
      assert.equal(await store.getLogin(nul.id), null);
      const record = sessionFixture(clock, { data: { q: 'fine' } });
      await store.createLogin(record);
      await assert.rejects(
        store.patchLoginData(record.id, { set: { q: '\ud800' }, unset: [] }, { maxBytes: 1000 }),
        refused,
      );
      assert.deepEqual((await store.getLogin(record.id))?.data, { q: 'fine' });
    });

    test('a patch without a touch leaves activity and expiry as they were', async () => {
      const store = await open();
      const record = sessionFixture(clock);
      await store.createLogin(record);
      assert.equal(
        await store.patchLoginData(record.id, { set: { a: 1 }, unset: [] }, { maxBytes: 100 }),
        'ok',
      );
      const loaded = await store.getLogin(record.id);
      assert.equal(loaded?.lastActiveAt, record.lastActiveAt);
      assert.equal(loaded?.expiresAt, record.expiresAt);
    });

    test('a value JSON cannot hold is dropped, as JSON.stringify of the merged data would drop it', async () => {
      const store = await open();
      const record = sessionFixture(clock, { data: { keep: 1, drop: 2 } });
      await store.createLogin(record);
      const set = { drop: undefined, fn: () => 1 } as unknown as SessionData;
      assert.equal(await store.patchLoginData(record.id, { set, unset: [] }, { maxBytes: 1000 }), 'ok');
      assert.deepEqual((await store.getLogin(record.id))?.data, { keep: 1 });
    });
  });

  describe('postgres store: refresh state', () => {
    const schema = fresh();
    const clock = new ManualClock();
    let store: PostgresStore;
    const open = async () => {
      store ??= await PostgresStore.open({
        connectionString: POSTGRES_URL,
        schema,
        clock,
        pruneIntervalMs: 0,
      });
      return store;
    };
    after(async () => {
      await store?.close();
    });
    const stored = async (id: string): Promise<unknown> =>
      (await admin.query(`SELECT refresh FROM "${schema}".sessions WHERE id = $1`, [id])).rows[0]?.refresh;

    test('the refresh column holds the contract’s fields and nothing else; a session login holds NULL', async () => {
      const store = await open();
      const state = refreshFixture(clock, { generation: 3 });
      const record = tokenLoginFixture(clock, {
        refresh: { ...state, accessToken: 'must-not-be-stored' } as typeof state,
      });
      await store.createLogin(record);
      assert.deepEqual(await stored(record.id), state);
      assert.deepEqual((await store.getLogin(record.id))?.refresh, state);
      const next = { ...state, generation: 4, extra: 1 } as typeof state;
      const advanced = await store.advanceRefresh(record.id, 3, next, {
        lastActiveAt: clock.now(),
        expiresAt: record.expiresAt,
      });
      assert.deepEqual(advanced?.refresh, { ...state, generation: 4 });
      assert.deepEqual(await stored(record.id), { ...state, generation: 4 });
      const session = sessionFixture(clock);
      await store.createLogin(session);
      assert.equal(await stored(session.id), null);
    });

    // guards: half a refresh state written by a bug, which would break every later refresh of the login
    test('a refresh state missing a field is refused by the schema, and nothing is written', async () => {
      const store = await open();
      const { nonce: _, ...partial } = refreshFixture(clock);
      const record = tokenLoginFixture(clock, { refresh: partial as ReturnType<typeof refreshFixture> });
      await assert.rejects(
        store.createLogin(record),
        (error) => (error as { code?: string }).code === '23514',
      );
      assert.equal(await store.getLogin(record.id), null);
      const login = tokenLoginFixture(clock);
      await store.createLogin(login);
      await assert.rejects(
        store.advanceRefresh(login.id, 0, partial as ReturnType<typeof refreshFixture>, {
          lastActiveAt: clock.now(),
          expiresAt: login.expiresAt,
        }),
        (error) => (error as { code?: string }).code === '23514',
      );
      assert.deepEqual(await store.getLogin(login.id), login);
    });
  });

  describe('postgres store: clients', () => {
    const schema = fresh();
    const clock = new ManualClock();
    let store: PostgresStore;
    const open = async () => {
      store ??= await PostgresStore.open({
        connectionString: POSTGRES_URL,
        schema,
        clock,
        pruneIntervalMs: 0,
      });
      return store;
    };
    after(async () => {
      await store?.close();
    });
    const client = (id: string, overrides: Partial<ClientRecord> = {}): ClientRecord => ({
      id,
      name: 'orders-service',
      scopes: ['orders:read'],
      secretHash: 'hash',
      previousSecretHash: null,
      previousSecretExpiresAt: null,
      generation: 1,
      disabled: false,
      createdAt: clock.now(),
      updatedAt: clock.now(),
      ...overrides,
    });

    // guards: undefined ("leave it") and null ("clear it") reaching the UPDATE as the same NULL
    test('an update that does not name the previous secret keeps it; null clears it', async () => {
      const store = await open();
      const record = client('kc_overlap', {
        previousSecretHash: 'old-hash',
        previousSecretExpiresAt: clock.now() + 60_000,
      });
      await store.createClient(record);
      const disabled = await store.updateClient(record.id, { disabled: true, updatedAt: clock.now() + 1 });
      assert.deepEqual(disabled, { ...record, disabled: true, updatedAt: clock.now() + 1 });
      const cleared = await store.updateClient(record.id, {
        previousSecretHash: null,
        updatedAt: clock.now() + 2,
      });
      assert.equal(cleared?.previousSecretHash, null);
      assert.equal(cleared?.previousSecretExpiresAt, record.previousSecretExpiresAt, 'only what was named');
    });

    test('scopes round-trip through text[] whatever they hold, in order', async () => {
      const store = await open();
      const scopes = ['b', 'a', 'NULL', '', 'with space', 'q"uote', 'back\\slash', '{braces,comma}', 'é😀'];
      await store.createClient(client('kc_scopes', { scopes }));
      assert.deepEqual((await store.getClient('kc_scopes'))?.scopes, scopes);
      assert.deepEqual((await store.updateClient('kc_scopes', { scopes: [], updatedAt: 0 }))?.scopes, []);
      assert.deepEqual((await store.getClient('kc_scopes'))?.scopes, []);
    });

    test('a taken id is invalid_request; limits of 0 and Infinity list nothing and everything', async () => {
      const store = await open();
      await admin.query(`TRUNCATE "${schema}".clients`);
      await store.createClient(client('kc_taken'));
      await store.createClient(client('kc_other'));
      await assert.rejects(
        store.createClient(client('kc_taken', { name: 'second' })),
        (error) => error instanceof KeycardError && error.code === 'invalid_request',
      );
      assert.equal((await store.getClient('kc_taken'))?.name, 'orders-service');
      assert.deepEqual(await store.listClients({ limit: 0 }), []);
      assert.deepEqual(
        (await store.listClients({ limit: Number.POSITIVE_INFINITY })).map((c) => c.id),
        ['kc_other', 'kc_taken'],
      );
    });
  });

  describe('postgres store: opened by URL', () => {
    test('postgres:// and postgresql:// open this store, in the schema the URL names', async () => {
      const schema = fresh();
      for (const url of [
        postgresURL({ schema, pruneIntervalMs: '0' }),
        postgresURL({ schema, pruneIntervalMs: '0' }).replace(/^postgres:/, 'postgresql:'),
      ]) {
        const store = await openStore(url);
        try {
          assert.equal(store.kind, 'postgres');
          assert.equal((store as PostgresStore).schema, schema);
          await store.ping();
        } finally {
          await store.close();
        }
      }
      assert.equal((await versions(schema)).length, LATEST_VERSION);
    });

    test('a server that cannot be reached fails the open with store_unavailable', async () => {
      // Port 1 on loopback: nothing listens there, so the connection is refused at once.
      await assert.rejects(
        openStoreURL('postgres://postgres@127.0.0.1:1/test?connectionTimeoutMs=2000'),
        unavailable,
      );
    });
  });
}
