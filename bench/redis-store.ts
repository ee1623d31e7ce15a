/**
 * The Redis store's two per-request paths, in process, against the bare ioredis command each one could at
 * best be (issue 15): the session read (`getLogin`, one HGETALL, against a GET of the user's JSON) and
 * the login write (`createLogin` with a user: the record and the user's two index entries, against a
 * SET). The store is opened by URL, as `keycard serve` opens it (its own client, with its command
 * timeout); the floor's client is a plain `new Redis(url)`. With BENCH_BEFORE set, that checkout's store
 * (its dist/) runs beside this one's, the same calls on the same records.
 *
 * What is measured, per round and candidate: this process's CPU time (user + system, `process.cpuUsage`)
 * per operation with 10 operations in flight — the client-side cost, the figure least disturbed by other
 * processes on a shared machine — the operations per second of that same run, and the p50 latency of
 * operations sent one at a time (round trips). Rounds alternate over the candidates (BENCH_RUNS, at least
 * 5). Run: npm run bench -- redis
 */
import { Redis } from 'ioredis';
import type { LoginRecord, Store } from 'keycard';
import { openStoreURL, RedisStore } from 'keycard/stores/redis';
import { generateToken, hashToken } from '../src/core/random-tokens.js';
import { benchConfig } from './lib/config.js';
import { olderStore } from './lib/older-store.js';
import type { Section } from './lib/report.js';
import { deleteRedisPrefix, redisStoreURL, servicesAvailable, uniqueName } from './lib/services.js';
import { count, ms, ratio, ratioSpread, type Spread, spread } from './lib/stats.js';

const STORED = 1000;
const READS = 20_000;
const WRITES = 4000;
const SEQUENTIAL = 1000;
const IN_FLIGHT = 10;
const USER = { id: 'u_bench_0001', username: 'alice', role: 'user' };

interface Candidate {
  name: string;
  setup(): Promise<void>;
  read(i: number): Promise<unknown>;
  write(): Promise<unknown>;
  close(): Promise<void>;
}

interface Figures {
  readCPU: number[];
  readRate: number[];
  readP50: number[];
  writeCPU: number[];
  writeRate: number[];
  writeP50: number[];
}

function sessionRecord(): LoginRecord {
  const now = Date.now();
  return {
    id: hashToken(generateToken()),
    user: USER,
    createdAt: now,
    lastActiveAt: now,
    expiresAt: now + 3_600_000,
    absoluteExpiresAt: now + 86_400_000,
    data: {},
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
    ip: '127.0.0.1',
    refresh: null,
  };
}

function storeCandidate(name: string, open: () => Promise<Store>): Candidate {
  let store: Store;
  const ids: string[] = [];
  return {
    name,
    async setup() {
      store = await open();
      for (let i = 0; i < STORED; i++) {
        const record = sessionRecord();
        await store.createLogin(record);
        ids.push(record.id);
      }
    },
    async read(i) {
      if (!(await store.getLogin(ids[i % STORED] as string)))
        throw new Error(`${name}: a session is missing`);
    },
    write: () => store.createLogin(sessionRecord()),
    close: () => store.close(),
  };
}

function floorCandidate(prefix: string): Candidate {
  const redis = new Redis(benchConfig.redisURL, { lazyConnect: true });
  const json = JSON.stringify(USER);
  const tokens: string[] = [];
  return {
    name: 'ioredis GET / SET (floor)',
    async setup() {
      await redis.connect();
      for (let i = 0; i < STORED; i++) {
        tokens.push(generateToken());
        await redis.set(`${prefix}:${tokens[i]}`, json, 'PX', 86_400_000);
      }
    },
    async read(i) {
      if (!(await redis.get(`${prefix}:${tokens[i % STORED]}`))) throw new Error('floor: a key is missing');
    },
    write: () => redis.set(`${prefix}:${generateToken()}`, json, 'PX', 86_400_000),
    async close() {
      redis.disconnect();
    },
  };
}

/** `total` operations, `IN_FLIGHT` at a time: CPU µs per operation and operations per second. */
async function throughput(total: number, operation: (i: number) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < total) await operation(next++);
  };
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / total, rate: total / seconds };
}

/** p50 of `n` operations one at a time, ms. */
async function sequentialP50(n: number, operation: (i: number) => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await operation(i);
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}

export async function runRedisStoreBench(): Promise<Section[]> {
  const services = await servicesAvailable();
  if (services.redis) {
    return [
      { title: 'Redis store paths', notes: [`Skipped — Redis: ${services.redis}.`], headers: [], rows: [] },
    ];
  }
  const prefix = uniqueName('kcbench_redis');
  const candidates: Candidate[] = [
    floorCandidate(`${prefix}:floor`),
    storeCandidate('keycard RedisStore', () => openStoreURL(redisStoreURL(`${prefix}-after`))),
  ];
  // The same store on a client of your own that has ioredis's commandTimeout (a timer per command): what
  // the store's own client saves by its one watchdog per connection (connection.ts).
  const timed = new Redis(benchConfig.redisURL, {
    lazyConnect: true,
    commandTimeout: 5000,
    maxRetriesPerRequest: 0,
  });
  candidates.push(
    storeCandidate('keycard RedisStore, own client with commandTimeout', async () => {
      await timed.connect();
      return new RedisStore({ client: timed, prefix: `${prefix}-timed` });
    }),
  );
  const before = benchConfig.before;
  if (before) {
    candidates.push(
      storeCandidate('keycard RedisStore (before)', async () => {
        const module = (await import(`${before}/dist/stores/redis/index.js`)) as {
          openStoreURL: typeof openStoreURL;
        };
        return olderStore(await module.openStoreURL(redisStoreURL(`${prefix}-before`)));
      }),
    );
  }
  const rounds = Math.max(benchConfig.runs, 5);
  const figures = new Map<string, Figures>(
    candidates.map((candidate) => [
      candidate.name,
      { readCPU: [], readRate: [], readP50: [], writeCPU: [], writeRate: [], writeP50: [] },
    ]),
  );
  try {
    for (const candidate of candidates) await candidate.setup();
    // Warm-up: JIT, script loading, connections.
    for (const candidate of candidates) {
      await throughput(READS / 4, (i) => candidate.read(i));
      await throughput(WRITES / 4, () => candidate.write());
    }
    for (let round = 1; round <= rounds; round++) {
      for (const candidate of candidates) {
        const figure = figures.get(candidate.name) as Figures;
        const read = await throughput(READS, (i) => candidate.read(i));
        const write = await throughput(WRITES, () => candidate.write());
        figure.readCPU.push(read.cpu);
        figure.readRate.push(read.rate);
        figure.writeCPU.push(write.cpu);
        figure.writeRate.push(write.rate);
        figure.readP50.push(await sequentialP50(SEQUENTIAL, (i) => candidate.read(i)));
        figure.writeP50.push(await sequentialP50(SEQUENTIAL / 2, () => candidate.write()));
        console.error(
          `  round ${round}/${rounds} ${candidate.name}: read ${read.cpu.toFixed(1)} µs CPU, ${count(read.rate)}/s; write ${write.cpu.toFixed(1)} µs CPU, ${count(write.rate)}/s`,
        );
      }
    }
  } finally {
    for (const candidate of candidates) await candidate.close().catch(() => {});
    timed.disconnect();
    for (const suffix of [':floor', '-after', '-timed', '-before'])
      await deleteRedisPrefix(`${prefix}${suffix}`).catch(() => 0);
  }

  const floor = figures.get(candidates[0]?.name as string) as Figures;
  const cell = (values: number[], digits = 1) => {
    const s = spread(values);
    return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
  };
  const vsFloor = (ours: number[], theirs: number[]): Spread => ratioSpread(ours, theirs);
  const rows: string[][] = [];
  const data: unknown[] = [];
  for (const candidate of candidates) {
    const f = figures.get(candidate.name) as Figures;
    const readRatio = vsFloor(f.readRate, floor.readRate);
    const writeRatio = vsFloor(f.writeRate, floor.writeRate);
    rows.push([
      candidate.name.startsWith('keycard') ? `**${candidate.name}**` : candidate.name,
      cell(f.readCPU),
      count(spread(f.readRate).median),
      ratio(readRatio.median),
      ms(spread(f.readP50).median),
      cell(f.writeCPU),
      count(spread(f.writeRate).median),
      ratio(writeRatio.median),
      ms(spread(f.writeP50).median),
    ]);
    data.push({ name: candidate.name, ...f, readRatio, writeRatio });
  }
  return [
    {
      title: 'Redis store: session read and login write, client CPU per operation',
      notes: [
        `${STORED} stored sessions per candidate; per round ${READS} reads and ${WRITES} writes with ${IN_FLIGHT} in flight (CPU µs/op of this process, user + system: median (min–max) over ${rounds} rounds; ops/s of the same runs; "vs floor": median of the per-round ratios of ops/s), then ${SEQUENTIAL} reads and ${SEQUENTIAL / 2} writes one at a time (p50 ms). Read: \`getLogin(id)\` / GET; write: \`createLogin\` of a login with a user / SET PX.`,
      ],
      headers: [
        'candidate',
        'read CPU µs/op',
        'reads/s',
        'vs floor',
        'read p50 ms',
        'write CPU µs/op',
        'writes/s',
        'vs floor',
        'write p50 ms',
      ],
      rows,
      data,
    },
  ];
}
