/**
 * The scale benchmark's worker, run by scale.ts in a process of its own (with --expose-gc and a large heap,
 * so a million in-memory sessions neither crowd the driver nor skew its measurements). Prints one JSON line.
 *
 * For each store a sample of 1000 sessions is created through `keycard.logins.create`; the rest, up to
 * each size, are filler rows written in bulk straight into the store's own layout (SQL INSERT … SELECT,
 * pipelined HSET + PEXPIRE, the memory store's createLogin). Each size has stores of its own (a memory store,
 * an SQLite file, a Redis prefix, a PostgreSQL schema), all filled first; then each round times every
 * store in turn, its sizes taking turns call by call: sequential `keycard.logins.validate` calls on random
 * sample tokens. After a fill, the
 * stores are brought to a steady state (SQLite WAL checkpoint; PostgreSQL VACUUM ANALYZE and CHECKPOINT) so
 * that background work after the bulk insert does not land in the measurement.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { createKeycard, type Keycard, type LoginRecord, type Store } from 'keycard';
import { MemoryStore } from 'keycard/stores/memory';
import { PostgresStore } from 'keycard/stores/postgres';
import { RedisStore } from 'keycard/stores/redis';
import { SQLiteStore } from 'keycard/stores/sqlite';
import pg from 'pg';
import { redisKeys } from '../src/stores/redis/keys.js';
import { sessionFields } from '../src/stores/redis/records.js';
import { benchConfig } from './lib/config.js';
import { deleteRedisPrefix, dropPostgresSchema, uniqueName } from './lib/services.js';
import { percentile } from './lib/stats.js';

interface Options {
  sizes: number[];
  rounds: number;
  stores: string[];
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const SAMPLE = 1000;
const VALIDATIONS = 5000;
const USERS = 10_000;
const DAY = 86_400_000;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const log = (line: string) => process.stderr.write(`  ${line}\n`);

interface ScaleStore {
  name: string;
  keycard: Keycard;
  tokens: string[];
  /** Adds filler sessions with indexes [from, to). */
  fill(from: number, to: number): Promise<void>;
  close(): Promise<void>;
}

const fillerId = (i: number) => `f${String(i).padStart(42, '0')}`;
function fillerRecord(i: number, now: number): LoginRecord {
  return {
    id: fillerId(i),
    user: { id: `u${i % USERS}`, username: `user${i % USERS}`, role: 'user' },
    createdAt: now,
    lastActiveAt: now,
    expiresAt: now + DAY,
    absoluteExpiresAt: now + 7 * DAY,
    refresh: null,
    data: {},
    userAgent: null,
    ip: null,
  };
}

async function withSample(
  name: string,
  store: Store,
  fill: ScaleStore['fill'],
  close: () => Promise<void>,
): Promise<ScaleStore> {
  const keycard = createKeycard({ store, preset: 'web-app' });
  const tokens: string[] = [];
  for (let i = 0; i < SAMPLE; i++) {
    tokens.push(
      (
        await keycard.logins.create({
          user: { id: `u${i % USERS}`, username: `user${i % USERS}`, role: 'user' },
        })
      ).token,
    );
  }
  return { name, keycard, tokens, fill, close };
}

/** Bytes of heap one memory-store session takes: a fresh store, 100 000 sessions as logins create them. */
async function memoryBytesPerSession(): Promise<{ sessions: number; bytesPerSession: number }> {
  const n = 100_000;
  gc();
  const before = process.memoryUsage().heapUsed;
  const store = new MemoryStore({ maxSessions: n + 1 });
  const keycard = createKeycard({ store, preset: 'web-app' });
  const agent =
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
  for (let i = 0; i < n; i++) {
    await keycard.logins.create({
      user: { id: `u${i % USERS}`, username: `user${i % USERS}`, role: 'user' },
      userAgent: agent,
      ip: '203.0.113.7',
    });
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  await store.close();
  return { sessions: n, bytesPerSession: (after - before) / n };
}

const dir = mkdtempSync(join(tmpdir(), 'keycard-bench-scale-'));
const prefix = uniqueName('kcbench_scale');
const schema = uniqueName('kcbench_scale');
const stores: ScaleStore[] = [];
const result: {
  memory?: { sessions: number; bytesPerSession: number };
  sizes: number[];
  latency: Record<string, { size: number; p50: number[]; p99: number[]; fillSeconds: number }[]>;
} = { sizes: options.sizes, latency: {} };

/** One store of the given kind holding `size` sessions, in a namespace of its own (`tag`). */
async function openStore(kind: string, size: number, tag: string): Promise<ScaleStore> {
  if (kind === 'memory') {
    const store = new MemoryStore({ maxSessions: size + SAMPLE + 1, sweepIntervalMs: 3_600_000 });
    return withSample(
      'memory',
      store,
      async (from, to) => {
        const now = Date.now();
        for (let i = from; i < to; i++) await store.createLogin(fillerRecord(i, now));
      },
      () => store.close(),
    );
  }
  if (kind === 'SQLite') {
    const path = join(dir, `scale-${tag}.db`);
    const store = new SQLiteStore({ path, pruneIntervalMs: 0 });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const insert = db.prepare(`INSERT INTO sessions (id, user_id, username, role, created_at, last_active_at,
        expires_at, absolute_expires_at, data, user_agent, ip)
      WITH RECURSIVE g(i) AS (SELECT @from UNION ALL SELECT i + 1 FROM g WHERE i + 1 < @to)
      SELECT 'f' || printf('%042d', i), 'u' || (i % ${USERS}), 'user' || (i % ${USERS}), 'user',
        @now, @now, @now + ${DAY}, @now + ${7 * DAY}, '{}', NULL, NULL FROM g`);
    return withSample(
      'SQLite',
      store,
      async (from, to) => {
        for (let start = from; start < to; start += 100_000) {
          insert.run({ from: start, to: Math.min(to, start + 100_000), now: Date.now() });
        }
        // Fold the write-ahead log into the database, so no checkpoint runs during the measurement.
        db.pragma('wal_checkpoint(TRUNCATE)');
      },
      async () => {
        db.close();
        await store.close();
      },
    );
  }
  if (kind === 'Redis') {
    const client = new Redis(benchConfig.redisURL);
    client.on('error', () => {});
    const store = new RedisStore({ client, prefix: `${prefix}_${tag}` });
    const keys = redisKeys(`${prefix}_${tag}`);
    return withSample(
      'Redis',
      store,
      async (from, to) => {
        for (let start = from; start < to; start += 5000) {
          const now = Date.now();
          const pipeline = client.pipeline();
          for (let i = start; i < Math.min(to, start + 5000); i++) {
            const record = fillerRecord(i, now);
            pipeline.hset(keys.session(record.id), ...sessionFields(record));
            pipeline.pexpire(keys.session(record.id), DAY);
          }
          await pipeline.exec();
        }
      },
      async () => {
        await store.close();
        client.disconnect();
      },
    );
  }
  const pool = new pg.Pool({ connectionString: benchConfig.postgresURL, max: 4 });
  const own = `${schema}_${tag}`;
  const store = await PostgresStore.open({ pool, schema: own, pruneIntervalMs: 0 });
  return withSample(
    'PostgreSQL',
    store,
    async (from, to) => {
      for (let start = from; start < to; start += 100_000) {
        const now = Date.now();
        await pool.query(
          `INSERT INTO "${own}".sessions (id, user_id, username, role, created_at, last_active_at, expires_at,
             absolute_expires_at, data, data_sizes, user_agent, ip)
           SELECT 'f' || lpad(g::text, 42, '0'), 'u' || (g % ${USERS}), 'user' || (g % ${USERS}), 'user',
             $1::bigint, $1::bigint, $1::bigint + ${DAY}, $1::bigint + ${7 * DAY}, '{}'::jsonb, '{}'::jsonb, NULL, NULL
           FROM generate_series($2::bigint, $3::bigint - 1) AS g`,
          [now, start, Math.min(to, start + 100_000)],
        );
      }
      // Do now what autovacuum and the checkpointer would do after a bulk insert — during the measurement.
      await pool.query(`VACUUM ANALYZE "${own}".sessions`);
      await pool.query('CHECKPOINT').catch(() => {});
    },
    async () => {
      await store.close();
      await pool.end();
    },
  );
}

const STORE_ORDER = ['memory', 'SQLite', 'Redis', 'PostgreSQL'];

try {
  if (options.stores.includes('memory')) {
    result.memory = await memoryBytesPerSession();
    log(`memory store: ${result.memory.bytesPerSession.toFixed(0)} bytes per session`);
  }
  // Every size has stores of its own, all filled before any measurement; then each round times every size
  // of every store in turn, so that a machine growing busier (or quieter) during the run touches every size
  // alike, and the p99 ratio between sizes is taken within one round.
  const entries: { store: ScaleStore; size: number }[] = [];
  for (const size of options.sizes) {
    for (const kind of STORE_ORDER.filter((name) => options.stores.includes(name))) {
      const store = await openStore(kind, size, String(size));
      stores.push(store);
      const start = performance.now();
      await store.fill(SAMPLE, size);
      const seconds = (performance.now() - start) / 1000;
      log(`${store.name}: ${size.toLocaleString('en')} sessions (filled in ${seconds.toFixed(1)} s)`);
      result.latency[store.name] = [
        ...(result.latency[store.name] ?? []),
        { size, p50: [], p99: [], fillSeconds: seconds },
      ];
      entries.push({ store, size });
    }
  }
  gc();
  for (const { store } of entries) {
    for (let i = 0; i < 200; i++) await store.keycard.logins.validate(store.tokens[i % SAMPLE] as string);
  }
  // Within a store, the sizes take turns call by call (the first of each turn rotating), so whatever else
  // the machine does in a round — another process, a collection — falls on every size alike.
  const kinds = [...new Set(entries.map((entry) => entry.store.name))];
  for (let round = 0; round < options.rounds; round++) {
    for (const kind of kinds) {
      const sized = entries.filter((entry) => entry.store.name === kind);
      const samples = sized.map(() => [] as number[]);
      for (let i = 0; i < VALIDATIONS; i++) {
        for (let turn = 0; turn < sized.length; turn++) {
          const which = (i + turn) % sized.length;
          const { store, size } = sized[which] as { store: ScaleStore; size: number };
          const token = store.tokens[Math.floor(Math.random() * SAMPLE)] as string;
          const began = performance.now();
          const validation = await store.keycard.logins.validate(token);
          samples[which]?.push(performance.now() - began);
          if (!validation.ok) throw new Error(`${store.name}: a sample session did not validate at ${size}`);
        }
      }
      sized.forEach(({ size }, which) => {
        const entry = result.latency[kind]?.find((item) => item.size === size) as {
          p50: number[];
          p99: number[];
        };
        entry.p50.push(percentile(samples[which] as number[], 50));
        entry.p99.push(percentile(samples[which] as number[], 99));
      });
    }
    log(`round ${round + 1}/${options.rounds} done`);
  }
} finally {
  for (const store of stores) await store.close().catch(() => {});
  if (options.stores.includes('Redis')) {
    log('removing the Redis filler');
    for (const size of options.sizes) await deleteRedisPrefix(`${prefix}_${size}`).catch(() => 0);
  }
  if (options.stores.includes('PostgreSQL')) {
    for (const size of options.sizes) await dropPostgresSchema(`${schema}_${size}`).catch(() => {});
  }
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
