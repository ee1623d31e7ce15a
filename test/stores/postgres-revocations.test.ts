/**
 * The PostgreSQL store's revocations: the table and its migration, the per-request fallback (one indexed
 * query), and the LISTEN/NOTIFY feed — which must say `down` the moment it may miss something and `up`
 * once it listens again, so that a gap can never let a revoked token through. The feed is cut on the shared
 * server by terminating its backend (found by its application_name, the schema's channel), and on a private
 * server by stopping PostgreSQL and by freezing the backend (SIGSTOP) so that only the keepalive notices.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { KeycardError } from '../../src/core/errors.js';
import { generateId } from '../../src/core/random-tokens.js';
import type { RevocationListener, RevocationRecord } from '../../src/core/store.js';
import { parsePayload } from '../../src/stores/postgres/feed.js';
import { LATEST_VERSION, PostgresStore } from '../../src/stores/postgres/index.js';
import { buildQueries, revocationChannel } from '../../src/stores/postgres/queries.js';
import { ManualClock } from '../helpers/clock.js';
import { postgresSkipReason, schemaScope, until } from '../helpers/postgres-schemas.js';
import {
  createPrivatePostgres,
  type PrivatePostgres,
  privatePostgresSkipReason,
} from '../helpers/postgres-server.js';
import { POSTGRES_URL } from '../helpers/services.js';

const HOUR = 3_600_000;
const unavailable = (error: unknown) => error instanceof KeycardError && error.code === 'store_unavailable';
const skip = await postgresSkipReason();

/** A listener that records what it is told, in order. */
function recorder(onStatus: (state: 'up' | 'down') => void = () => {}) {
  const states: ('up' | 'down')[] = [];
  const received: RevocationRecord[] = [];
  const listener: RevocationListener = {
    revoked: (record) => received.push(record),
    status: (state) => {
      states.push(state);
      onStatus(state);
    },
  };
  const has = (id: string) => received.some((record) => record.id === id);
  return { states, received, listener, has };
}

const settled = (what: string, check: () => boolean) => until(async () => check(), what);

describe('postgres store: revocation channel names', () => {
  test('fit NOTIFY’s 63-byte identifiers, and long schema names with a common prefix stay apart', () => {
    assert.equal(revocationChannel('keycard'), 'keycard_revocations_keycard');
    const a = revocationChannel(`${'a'.repeat(50)}_one`);
    const b = revocationChannel(`${'a'.repeat(50)}_two`);
    assert.ok(a.length <= 63 && b.length <= 63, `${a} / ${b}`);
    assert.notEqual(a, b);
    assert.equal(revocationChannel('z'.repeat(63)).length, 63);
  });
});

describe('postgres store: revocation payloads', () => {
  const record = { kind: 'login', id: 'abc', at: 1, expiresAt: 2 } as const;
  test('one record, one number, or an array of them, as the store writes them', () => {
    assert.deepEqual(parsePayload(JSON.stringify(record)), [record]);
    assert.deepEqual(parsePayload('{"seq":42}'), [{ seq: 42 }]);
    assert.deepEqual(parsePayload(JSON.stringify([record, { seq: 7 }, { ...record, kind: 'user' }])), [
      record,
      { seq: 7 },
      { ...record, kind: 'user' },
    ]);
  });
  // guards: one bad element of a chunk must not be skipped silently — the listener resynchronises instead
  test('anything else, or an array with anything else in it, is not a payload keycard wrote', () => {
    for (const payload of [
      '',
      'null',
      '"abc"',
      '42',
      '{"kind":"session","id":"a","at":1,"expiresAt":2}',
      '{"seq":1.5}',
      JSON.stringify([record, { kind: 'session', id: 'a', at: 1, expiresAt: 2 }]),
      JSON.stringify([record, null]),
      JSON.stringify([[record]]),
      JSON.stringify([{ ...record, at: '1' }]),
    ]) {
      assert.equal(parsePayload(payload), undefined, payload);
    }
  });
});

describe('postgres store: revocations (shared server)', { skip }, () => {
  const { admin, fresh, versions } = schemaScope();
  const clock = new ManualClock(Date.now());
  const open = (schema: string, options: { pool?: pg.Pool } = {}) =>
    PostgresStore.open({
      ...(options.pool ? { pool: options.pool } : { connectionString: POSTGRES_URL }),
      schema,
      clock,
      pruneIntervalMs: 0,
    });
  const login = (id = generateId()): RevocationRecord => ({
    kind: 'login',
    id,
    at: clock.now(),
    expiresAt: clock.now() + HOUR,
  });
  const user = (id = generateId()): RevocationRecord => ({
    kind: 'user',
    id,
    at: clock.now(),
    expiresAt: clock.now() + HOUR,
  });
  /** The backends of a schema's feed: each subscription names its connection after the channel. */
  const listeners = async (schema: string): Promise<number[]> =>
    (
      await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
        revocationChannel(schema),
      ])
    ).rows.map((row) => row.pid as number);

  test('migration 3 creates the table and its indexes once; opening again applies nothing', async () => {
    const schema = fresh();
    const [first, second] = await Promise.all([open(schema), open(schema)]);
    try {
      assert.ok(LATEST_VERSION >= 3);
      assert.deepEqual(
        (await versions(schema)).filter((version) => version === 3),
        [3],
      );
      assert.deepEqual((await first.migrate()).applied, []);
      const indexes = await admin.query(
        `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'revocations' ORDER BY 1`,
        [schema],
      );
      assert.deepEqual(
        indexes.rows.map((row) => row.indexname),
        ['revocations_by_expiry', 'revocations_by_subject', 'revocations_pkey'],
      );
      await second.addRevocation(login());
    } finally {
      await first.close();
      await second.close();
    }
  });

  test('isRevoked, addRevocation and listRevocations are one query each', async () => {
    const schema = fresh();
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
    const store = await open(schema, { pool });
    try {
      const counted = async (operation: () => Promise<unknown>): Promise<number> => {
        queries = 0;
        await operation();
        return queries;
      };
      const revoked = user();
      assert.equal(await counted(() => store.addRevocation(revoked)), 1);
      const query = { loginId: generateId(), userId: revoked.id, issuedAt: revoked.at - 1 };
      let answer: boolean | undefined;
      assert.equal(
        await counted(async () => {
          answer = await store.isRevoked(query, clock.now());
        }),
        1,
      );
      assert.equal(answer, true);
      assert.equal(await counted(() => store.isRevoked({ ...query, userId: generateId() }, clock.now())), 1);
      assert.equal(await counted(() => store.listRevocations(clock.now())), 1);
      // guards: a block with 1,000 logins was 1,001 statements, each a commit serialised with every NOTIFY
      const many = (n: number) => Array.from({ length: n }, () => login());
      assert.equal(await counted(() => store.addRevocations(many(1001))), 1, 'a block: one statement');
      assert.equal(await counted(() => store.addRevocations(many(12_000))), 3, '5,000 per statement');
      assert.equal(await counted(() => store.addRevocations([])), 0, 'nothing for nothing');
    } finally {
      await store.close();
      await pool.end();
    }
  });

  test('isRevoked reads revocations_by_subject, not the whole table', async () => {
    const schema = fresh();
    const store = await open(schema);
    try {
      const s = `"${schema}"`;
      await admin.query(
        `INSERT INTO ${s}.revocations (kind, id, at, expires_at)
         SELECT CASE WHEN i % 2 = 0 THEN 'login' ELSE 'user' END, 'id-' || i, $1::bigint, $1::bigint + 3600000
         FROM generate_series(1, 20000) AS i`,
        [clock.now()],
      );
      await admin.query(`ANALYZE ${s}.revocations`);
      const plan = await admin.query(`EXPLAIN ${buildQueries(schema).sql.isRevoked}`, [
        'id-2',
        'id-3',
        clock.now(),
        clock.now(),
      ]);
      const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
      assert.match(text, /revocations_by_subject/);
      assert.doesNotMatch(text, /Seq Scan/);
      assert.equal(
        await store.isRevoked({ loginId: 'id-2', userId: 'nobody', issuedAt: 0 }, clock.now()),
        true,
      );
    } finally {
      await store.close();
    }
  });

  test('a revocation too long for a NOTIFY payload is announced by number, and delivered whole', async () => {
    const schema = fresh();
    const store = await open(schema);
    const { states, listener, received } = recorder();
    const subscription = await store.subscribeRevocations(listener);
    try {
      const long = login('x'.repeat(9000));
      await store.addRevocation(long);
      await settled('the long revocation', () => received.length === 1);
      assert.deepEqual(received, [long]);
      assert.deepEqual(states, ['up']);
    } finally {
      await subscription.close();
      await store.close();
    }
  });

  test('cut feed: down at once, up again by itself, and the revocation made in the gap is in the reload', async () => {
    // guards: a revocation made while an instance's feed was down must never be lost to it
    const schema = fresh();
    const [a, b] = [await open(schema), await open(schema)];
    await b.ping(); // a warm connection, so that the revocation in the gap commits at once
    const events: string[] = [];
    let gap: RevocationRecord | undefined;
    let added: Promise<void> | undefined;
    let reloaded: Promise<RevocationRecord[]> | undefined;
    const { states, listener, has } = recorder((state) => {
      events.push(state);
      if (state === 'down' && !gap) {
        // Meanwhile, on another instance.
        gap = user();
        added = b.addRevocation(gap).then(() => {
          events.push('added');
        });
      }
      // What a listener does on up: reload the full list.
      if (state === 'up' && gap) reloaded = a.listRevocations(clock.now());
    });
    const subscription = await a.subscribeRevocations(listener);
    try {
      assert.deepEqual(states, ['up'], 'up is reported before subscribe resolves');
      const [pid] = await listeners(schema);
      assert.ok(pid, 'the listener connection is named after the channel');
      const killed = await admin.query('SELECT pg_terminate_backend($1) AS done', [pid]);
      assert.equal(killed.rows[0].done, true);

      await settled('down, then up again', () => states.length === 3);
      assert.deepEqual(states, ['up', 'down', 'up']);
      await added;
      assert.deepEqual(
        events,
        ['up', 'down', 'added', 'up'],
        'the revocation committed while the feed was down',
      );
      const gapRecord = gap as RevocationRecord;
      assert.equal(has(gapRecord.id), false, 'NOTIFY sent while nobody listened is lost…');
      assert.ok(
        (await reloaded)?.some((record) => record.id === gapRecord.id && record.kind === 'user'),
        '…so the reload after up has it',
      );
      const after = login();
      await b.addRevocation(after);
      await settled('a revocation after up, through the new LISTEN', () => has(after.id));
      const now = await listeners(schema);
      assert.equal(now.length, 1);
      assert.notEqual(now[0], pid, 'a new connection');
    } finally {
      await subscription.close();
      await a.close();
      await b.close();
    }
  });

  test('a batch announced in several notifications arrives whole, each under the payload limit', async () => {
    const schema = fresh();
    const store = await open(schema);
    const { states, listener, received } = recorder();
    const subscription = await store.subscribeRevocations(listener);
    const listening = new pg.Client({ connectionString: POSTGRES_URL });
    const payloads: string[] = [];
    try {
      await listening.connect();
      listening.on('notification', (message) => payloads.push(message.payload ?? ''));
      await listening.query(`LISTEN ${revocationChannel(schema)}`);
      await settled('up', () => states.includes('up'));
      const records = Array.from({ length: 1000 }, () => login());
      records.push({ ...login(), id: 'x'.repeat(2000) }, user());
      await store.addRevocations(records);
      await settled('every record', () => received.length === records.length);
      assert.deepEqual(received.map((r) => r.id).sort(), records.map((r) => r.id).sort());
      const announced = () => payloads.reduce((sum, payload) => sum + JSON.parse(payload).length, 0);
      await settled('the raw notifications', () => announced() === records.length);
      for (const payload of payloads) assert.ok(Buffer.byteLength(payload) < 8000, `${payload.length} bytes`);
      assert.ok(payloads.length < 30, `${payloads.length} notifications for ${records.length} records`);
      assert.ok(
        payloads.some((payload) => /"seq" ?:/.test(payload)),
        'the long one is announced by number',
      );
      assert.deepEqual(states, ['up'], 'no resynchronisation');
    } finally {
      await listening.end();
      await subscription.close();
      await store.close();
    }
  });

  test('a payload keycard did not write on the channel makes the listener resynchronise', async () => {
    const schema = fresh();
    const store = await open(schema);
    const { states, listener, received } = recorder();
    const subscription = await store.subscribeRevocations(listener);
    try {
      await admin.query('SELECT pg_notify($1, $2)', [revocationChannel(schema), '{"kind":"session"}']);
      await settled('down, then up again', () => states.length === 3);
      assert.deepEqual(states, ['up', 'down', 'up']);
      assert.deepEqual(received, []);
    } finally {
      await subscription.close();
      await store.close();
    }
  });

  test('a listener that throws is made to reload, and the process does not crash', async () => {
    const schema = fresh();
    const store = await open(schema);
    const states: string[] = [];
    let calls = 0;
    const subscription = await store.subscribeRevocations({
      revoked: () => {
        calls++;
        throw new Error('listener bug');
      },
      status: (state) => states.push(state),
    });
    try {
      await store.addRevocation(login());
      await settled('down, then up again', () => states.length === 3);
      assert.deepEqual(states, ['up', 'down', 'up']);
      assert.equal(calls, 1);
    } finally {
      await subscription.close();
      await store.close();
    }
  });

  test('a subscription’s connection ends with close(), and the store’s close ends the rest', async () => {
    const schema = fresh();
    const store = await open(schema);
    const first = await store.subscribeRevocations(recorder().listener);
    await store.subscribeRevocations(recorder().listener);
    assert.equal((await listeners(schema)).length, 2);
    await first.close();
    await until(async () => (await listeners(schema)).length === 1, 'one listener left');
    await store.close();
    await until(async () => (await listeners(schema)).length === 0, 'no listener left');
    await assert.rejects(store.subscribeRevocations(recorder().listener), unavailable);
  });
});

describe('postgres store: revocation feed when PostgreSQL fails (private server)', {
  skip: privatePostgresSkipReason(),
}, () => {
  const clock = new ManualClock(Date.now());
  let server: PrivatePostgres;
  let admin: pg.Pool;
  const stray: unknown[] = [];
  const record = (error: unknown) => stray.push(error);
  const revocation = (): RevocationRecord => ({
    kind: 'login',
    id: generateId(),
    at: clock.now(),
    expiresAt: clock.now() + HOUR,
  });

  before(async () => {
    process.on('unhandledRejection', record);
    process.on('uncaughtException', record);
    server = await createPrivatePostgres();
    await server.start();
    admin = new pg.Pool({ connectionString: server.url, max: 1 });
    admin.on('error', () => {});
  });
  after(async () => {
    await admin?.end();
    await server?.destroy();
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
  });

  test('PostgreSQL stopped: down at once, store_unavailable; started: up again by itself', {
    timeout: 60_000,
  }, async () => {
    const store = await PostgresStore.open({ connectionString: server.url, clock, pruneIntervalMs: 0 });
    const early = recorder();
    const late = recorder();
    const subscription = await store.subscribeRevocations(early.listener);
    let lateSubscription: { close(): Promise<void> } | undefined;
    try {
      const before = revocation();
      await store.addRevocation(before);
      await settled('the revocation before the outage', () => early.has(before.id));

      await server.stop();
      await settled('down', () => early.states.length === 2);
      assert.deepEqual(early.states, ['up', 'down']);
      const query = { loginId: before.id, userId: 'u', issuedAt: 0 };
      await assert.rejects(store.isRevoked(query, clock.now()), unavailable, 'isRevoked fails closed');
      await assert.rejects(store.addRevocation(revocation()), unavailable, 'addRevocation');
      await assert.rejects(store.listRevocations(clock.now()), unavailable, 'listRevocations');
      // Subscribing while PostgreSQL is down is no error: the listener hears down, then up when it is back.
      lateSubscription = await store.subscribeRevocations(late.listener);
      assert.deepEqual(late.states, ['down']);

      await server.start();
      await settled('both up again', () => early.states.length === 3 && late.states.length === 2);
      assert.deepEqual(early.states, ['up', 'down', 'up']);
      assert.deepEqual(late.states, ['down', 'up']);
      assert.equal(
        await store.isRevoked(query, clock.now()),
        true,
        'committed before the outage, still there',
      );
      const afterwards = revocation();
      await store.addRevocation(afterwards);
      await settled('delivery after the outage', () => early.has(afterwards.id) && late.has(afterwards.id));
      assert.deepEqual(stray, [], 'no unhandled rejection or uncaught exception');
    } finally {
      await lateSubscription?.close();
      await subscription.close();
      await store.close();
    }
  });

  test('a connection that silently stops answering is found by the keepalive: down, then up', {
    timeout: 60_000,
  }, async () => {
    const store = await PostgresStore.open({
      connectionString: server.url,
      clock,
      pruneIntervalMs: 0,
      revocationKeepaliveMs: 200,
    });
    const { states, listener, has } = recorder();
    const subscription = await store.subscribeRevocations(listener);
    const pids = async () =>
      (
        await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
          revocationChannel('keycard'),
        ])
      ).rows.map((row) => row.pid as number);
    const [frozen] = await pids();
    assert.ok(frozen);
    try {
      // The backend process stops: its socket stays open, nothing arrives and nothing fails — as with a
      // host that vanished from the network.
      process.kill(frozen, 'SIGSTOP');
      await settled('down, then up on a new connection', () => states.length === 3);
      assert.deepEqual(states, ['up', 'down', 'up']);
      const next = revocation();
      await store.addRevocation(next);
      await settled('delivery on the new connection', () => has(next.id));
      assert.deepEqual(stray, []);
    } finally {
      process.kill(frozen, 'SIGCONT');
      await subscription.close();
      await store.close();
    }
  });
});
