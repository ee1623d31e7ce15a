/**
 * Issue 3's store measurements, in-process against the real servers: for each keycard store, the latency
 * (p50/p99) of a session validation (`keycard.logins.validate`) and of a login write
 * (`keycard.logins.create`), and the store operations one validated request costs — counted as store
 * calls (reads, writes) and as what goes over the wire (Redis commands, SQL statements). The peers do the
 * same job in the same run: connect-redis (`get`, `set`) against the Redis store and connect-pg-simple
 * against the PostgreSQL store, counted the same way. Operations run one at a time (latency, not
 * throughput); rounds alternate over all stores. Run: npm run bench -- stores
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import connectPgSimple from 'connect-pg-simple';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import session from 'express-session';
import type { Redis } from 'ioredis';
import { createKeycard, type Keycard, type RequestInfo, type Store } from 'keycard';
import { MemoryStore } from 'keycard/stores/memory';
import { PostgresStore } from 'keycard/stores/postgres';
import { RedisStore } from 'keycard/stores/redis';
import { SQLiteStore } from 'keycard/stores/sqlite';
import pg from 'pg';
import { createClient } from 'redis';
import { generateToken } from '../src/core/random-tokens.js';
import { benchConfig } from './lib/config.js';
import { countedIORedis, countingStore, countNodeRedis, countPostgresQueries, wire } from './lib/counting.js';
import { olderStore } from './lib/older-store.js';
import type { Section } from './lib/report.js';
import { deleteRedisPrefix, dropPostgresSchema, servicesAvailable, uniqueName } from './lib/services.js';
import { ms, percentile, ratio, ratioSpread, type Spread, spread } from './lib/stats.js';

const SESSIONS = 1000;
const FETCHES = 2000;
const WRITES = 500;
const REQUESTS = 500;
const USER = { id: 'u_bench_0001', username: 'alice', role: 'user' };

interface Candidate {
  name: string;
  /** The keycard store this peer is compared with. */
  peerOf?: string;
  setup(): Promise<void>;
  /** Fetch the i-th stored session by its token or id. */
  fetch(i: number): Promise<unknown>;
  /** Write a new session (a login). */
  write(i: number): Promise<unknown>;
  /** keycard only: one whole validated request (authenticate + commit); store calls are counted. */
  request?(i: number): Promise<void>;
  counts?: { reads(): number; writes(): number; reset(): void };
  close(): Promise<void>;
}

interface Measured {
  fetch: { p50: number[]; p99: number[] };
  write: { p50: number[]; p99: number[] };
  wirePerFetch: number;
  wirePerWrite: number;
  perRequest?: { reads: number; writes: number; wire: number };
}

async function timeEach(n: number, operation: (i: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await operation(i);
    samples.push(performance.now() - start);
  }
  return samples;
}

function keycardCandidate(
  name: string,
  open: () => Promise<Store>,
  extraClose: () => Promise<void> = async () => {},
): Candidate {
  let keycard: Keycard;
  let counted: ReturnType<typeof countingStore>;
  const tokens: string[] = [];
  const requestFor = (token: string): RequestInfo => {
    const headers: Record<string, string> = { cookie: `keycard_session=${token}`, host: 'localhost' };
    return { method: 'GET', header: (header) => headers[header], secure: false, ip: '127.0.0.1' };
  };
  return {
    name,
    async setup() {
      counted = countingStore(await open());
      keycard = createKeycard({ store: counted.store, preset: 'web-app' });
      for (let i = 0; i < SESSIONS; i++) tokens.push((await keycard.logins.create({ user: USER })).token);
    },
    async fetch(i) {
      const result = await keycard.logins.validate(tokens[i % SESSIONS] as string);
      if (!result.ok) throw new Error(`${name}: a stored session did not validate`);
    },
    write: () => keycard.logins.create({ user: USER, userAgent: 'bench', ip: '127.0.0.1' }),
    async request(i) {
      const context = await keycard.authenticate(requestFor(tokens[i % SESSIONS] as string), () => {});
      if (!context.user) throw new Error(`${name}: the request was not authenticated`);
      await context.commit();
    },
    counts: {
      reads: () => counted.reads(),
      writes: () => counted.writes(),
      reset: () => counted.reset(),
    },
    async close() {
      await keycard.store.close();
      await extraClose();
    },
  };
}

/** What express-session stores for a signed-in user: its cookie and the user. */
function expressSessionData(): session.SessionData {
  return {
    cookie: {
      originalMaxAge: 86_400_000,
      expires: new Date(Date.now() + 86_400_000),
      httpOnly: true,
      path: '/',
      sameSite: 'lax',
    } as session.Cookie,
    user: USER,
  } as unknown as session.SessionData;
}

export async function runStoresBench(): Promise<Section[]> {
  const services = await servicesAvailable();
  const prefix = uniqueName('kcbench_stores');
  const schema = uniqueName('kcbench_stores');
  const peerSchema = uniqueName('kcbench_cps');
  const dir = mkdtempSync(join(tmpdir(), 'keycard-bench-stores-'));
  const skipped: string[] = [];
  const candidates: Candidate[] = [
    keycardCandidate('keycard memory', async () => new MemoryStore({ maxSessions: 1_000_000 })),
    keycardCandidate('keycard SQLite', async () => new SQLiteStore({ path: join(dir, 'stores.db') })),
  ];
  let ioredis: Redis | null = null;
  if (services.redis) skipped.push(`Redis: ${services.redis}`);
  else {
    ioredis = countedIORedis(benchConfig.redisURL);
    const client = ioredis;
    candidates.push(
      keycardCandidate('keycard Redis', async () => new RedisStore({ client, prefix: `${prefix}:kc` })),
    );
    const before = benchConfig.before;
    if (before) {
      // The other checkout's Redis store (its build), under the same keycard, on the same client.
      candidates.push(
        keycardCandidate('keycard Redis (before)', async () => {
          const module = (await import(`${before}/dist/stores/redis/index.js`)) as {
            RedisStore: typeof RedisStore;
          };
          return olderStore(new module.RedisStore({ client, prefix: `${prefix}:kcb` }));
        }),
      );
    }
    const nodeRedis = createClient({ url: benchConfig.redisURL });
    nodeRedis.on('error', () => {});
    countNodeRedis(nodeRedis);
    const peer = new ConnectRedisStore({ client: nodeRedis, prefix: `${prefix}:cr:` });
    const ids: string[] = [];
    candidates.push({
      name: 'connect-redis (node-redis)',
      peerOf: 'keycard Redis',
      async setup() {
        await nodeRedis.connect();
        for (let i = 0; i < SESSIONS; i++) {
          ids.push(generateToken());
          await peer.set(ids[i] as string, expressSessionData());
        }
      },
      async fetch(i) {
        if (!(await peer.get(ids[i % SESSIONS] as string)))
          throw new Error('connect-redis: a stored session was not found');
      },
      write: () => peer.set(generateToken(), expressSessionData()),
      async close() {
        await nodeRedis.quit();
      },
    });
  }
  let restorePg: (() => void) | null = null;
  const pools: pg.Pool[] = [];
  if (services.postgres) skipped.push(`PostgreSQL: ${services.postgres}`);
  else {
    restorePg = countPostgresQueries();
    const pool = new pg.Pool({ connectionString: benchConfig.postgresURL, max: 10 });
    pools.push(pool);
    candidates.push(
      keycardCandidate('keycard PostgreSQL', () => PostgresStore.open({ pool, schema, pruneIntervalMs: 0 })),
    );
    const peerPool = new pg.Pool({ connectionString: benchConfig.postgresURL, max: 10 });
    pools.push(peerPool);
    const PGStore = connectPgSimple(session);
    let peer: InstanceType<typeof PGStore>;
    const ids: string[] = [];
    candidates.push({
      name: 'connect-pg-simple',
      peerOf: 'keycard PostgreSQL',
      async setup() {
        await peerPool.query(`CREATE SCHEMA IF NOT EXISTS "${peerSchema}"`);
        peer = new PGStore({
          pool: peerPool,
          schemaName: peerSchema,
          createTableIfMissing: true,
          pruneSessionInterval: false,
        });
        const set = promisify(peer.set.bind(peer));
        for (let i = 0; i < SESSIONS; i++) {
          ids.push(generateToken());
          await set(ids[i] as string, expressSessionData());
        }
      },
      async fetch(i) {
        const found = await promisify(peer.get.bind(peer))(ids[i % SESSIONS] as string);
        if (!found) throw new Error('connect-pg-simple: a stored session was not found');
      },
      write: () => promisify(peer.set.bind(peer))(generateToken(), expressSessionData()),
      async close() {
        peer.close();
      },
    });
  }

  const rounds = Math.max(3, benchConfig.runs);
  const results = new Map<string, Measured>();
  try {
    for (const candidate of candidates) {
      console.error(`  setting up ${candidate.name} (${SESSIONS} sessions)`);
      await candidate.setup();
      // Warm-up: JIT, connections, prepared statements.
      await timeEach(200, (i) => candidate.fetch(i));
      await timeEach(50, (i) => candidate.write(i));
      const measured: Measured = {
        fetch: { p50: [], p99: [] },
        write: { p50: [], p99: [] },
        wirePerFetch: 0,
        wirePerWrite: 0,
      };
      // Counting (untimed): per fetch, per write, and per whole request.
      wire.reset();
      await timeEach(REQUESTS, (i) => candidate.fetch(i));
      measured.wirePerFetch = wire.operations / REQUESTS;
      wire.reset();
      await timeEach(100, (i) => candidate.write(i));
      measured.wirePerWrite = wire.operations / 100;
      if (candidate.request && candidate.counts) {
        candidate.counts.reset();
        wire.reset();
        await timeEach(REQUESTS, (i) => (candidate.request as (i: number) => Promise<void>)(i));
        measured.perRequest = {
          reads: candidate.counts.reads() / REQUESTS,
          writes: candidate.counts.writes() / REQUESTS,
          wire: wire.operations / REQUESTS,
        };
      }
      results.set(candidate.name, measured);
    }
    for (let round = 1; round <= rounds; round++) {
      for (const candidate of candidates) {
        const measured = results.get(candidate.name) as Measured;
        const fetches = await timeEach(FETCHES, (i) => candidate.fetch(i));
        const writes = await timeEach(WRITES, (i) => candidate.write(i));
        measured.fetch.p50.push(percentile(fetches, 50));
        measured.fetch.p99.push(percentile(fetches, 99));
        measured.write.p50.push(percentile(writes, 50));
        measured.write.p99.push(percentile(writes, 99));
      }
      console.error(`  round ${round}/${rounds} done`);
    }
  } finally {
    for (const candidate of candidates) await candidate.close().catch(() => {});
    ioredis?.disconnect();
    for (const pool of pools) await pool.end().catch(() => {});
    restorePg?.();
    if (!services.redis) await deleteRedisPrefix(prefix).catch(() => 0);
    if (!services.postgres) {
      await dropPostgresSchema(schema).catch(() => {});
      await dropPostgresSchema(peerSchema).catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
  }

  const summary = candidates.map((candidate) => {
    const measured = results.get(candidate.name) as Measured;
    return {
      name: candidate.name,
      peerOf: candidate.peerOf,
      fetchP50: spread(measured.fetch.p50),
      fetchP99: spread(measured.fetch.p99),
      writeP50: spread(measured.write.p50),
      writeP99: spread(measured.write.p99),
      wirePerFetch: measured.wirePerFetch,
      wirePerWrite: measured.wirePerWrite,
      perRequest: measured.perRequest ?? null,
    };
  });
  const isNetwork = (name: string) => /Redis|PostgreSQL|redis|pg/.test(name);
  const latencyRows = summary.map((row) => [
    row.name.startsWith('keycard') ? `**${row.name}**` : row.name,
    ms(row.fetchP50.median),
    ms(row.fetchP99.median),
    ms(row.writeP50.median),
    ms(row.writeP99.median),
    isNetwork(row.name) ? row.wirePerFetch.toFixed(2) : '–',
    isNetwork(row.name) ? row.wirePerWrite.toFixed(2) : '–',
  ]);
  const requestRows = summary
    .filter((row) => row.perRequest)
    .map((row) => {
      const perRequest = row.perRequest as { reads: number; writes: number; wire: number };
      const met = perRequest.reads === 1 && perRequest.writes === 0;
      return [
        `**${row.name}**`,
        perRequest.reads.toFixed(2),
        perRequest.writes.toFixed(2),
        isNetwork(row.name) ? perRequest.wire.toFixed(2) : '–',
        met ? 'met' : 'missed',
      ];
    });
  const pairRows: string[][] = [];
  const pairData: unknown[] = [];
  for (const peer of summary.filter((row) => row.peerOf)) {
    const ours = summary.find((row) => row.name === peer.peerOf);
    if (!ours) continue;
    const oursMeasured = results.get(ours.name) as Measured;
    const peerMeasured = results.get(peer.name) as Measured;
    // Per-round ratios of the peer's latency to ours: above 1 means keycard is faster.
    const fetch: Spread = ratioSpread(peerMeasured.fetch.p50, oursMeasured.fetch.p50);
    const fetch99: Spread = ratioSpread(peerMeasured.fetch.p99, oursMeasured.fetch.p99);
    const write: Spread = ratioSpread(peerMeasured.write.p50, oursMeasured.write.p50);
    pairRows.push([
      `${ours.name} vs ${peer.name}`,
      ratio(fetch.median),
      ratio(fetch99.median),
      ratio(write.median),
      `${ours.wirePerFetch.toFixed(0)} vs ${peer.wirePerFetch.toFixed(0)}`,
      `${ours.wirePerWrite.toFixed(0)} vs ${peer.wirePerWrite.toFixed(0)}`,
    ]);
    pairData.push({
      keycard: ours.name,
      peer: peer.name,
      fetchP50: fetch,
      fetchP99: fetch99,
      writeP50: write,
    });
  }
  const note = `${SESSIONS} stored sessions per store; ${rounds} rounds alternating over the stores, each of ${FETCHES} fetches and ${WRITES} writes one at a time; latency in ms, the median over the rounds of each round's p50 and p99.`;
  return [
    {
      title: 'Store latency: validation and login write',
      notes: [
        note,
        'keycard: fetch = `sessions.validate(token)` (shape check, SHA-256, one read, expiry checks), write = `sessions.create` (a login); peers: `get(id)` and `set(id, session)` as express-session calls them. Wire ops: Redis commands or SQL statements per operation.',
        ...skipped.map((line) => `Skipped — ${line}.`),
      ],
      headers: [
        'store',
        'fetch p50',
        'fetch p99',
        'write p50',
        'write p99',
        'wire ops/fetch',
        'wire ops/write',
      ],
      rows: latencyRows,
      data: summary,
    },
    {
      title: 'Store operations per validated request (no touch due)',
      notes: [
        `${REQUESTS} whole requests per store through \`keycard.authenticate\` + \`commit()\` (what an adapter runs), with the session cookie of a stored session; store calls counted by a proxy over the real store, wire operations by the client. Target (issue 3): exactly one read and zero writes.`,
      ],
      headers: ['store', 'reads/request', 'writes/request', 'wire ops/request', 'target'],
      rows: requestRows,
    },
    {
      title: 'keycard vs the peer store doing the same job',
      notes: [
        "Peer latency ÷ keycard latency, per round, median over the rounds (above 1×: keycard is faster). keycard's fetch also checks the token's shape, hashes it and checks both expiries; express-session additionally calls `touch` (one more write) on every request with these stores — see the HTTP benchmark's store ops.",
      ],
      headers: ['pair', 'fetch p50', 'fetch p99', 'write p50', 'wire ops/fetch', 'wire ops/write'],
      rows: pairRows,
      data: pairData,
    },
  ];
}
