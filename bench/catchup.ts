/**
 * Revocation-feed catch-up at start-up: how long a starting instance takes to load 100 000 live revoked
 * logins into memory and trust its list (RevocationMonitor `synced`), per store that has a feed (SQLite,
 * Redis, PostgreSQL). Until then the instance is not wrong, only slower: each check asks the store.
 *
 * The revocations are written once through the store's own `addRevocation` (what logouts and blocks
 * call), 64 at a time. Each round then opens the store afresh by URL, as `keycard serve` does, and times
 * `monitor.start()` to the `synced` state; rounds alternate over the stores. Run: npm run bench -- catchup
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FeedState, RevocationMonitor, type Store, systemClock } from 'keycard';
import { openStore } from 'keycard/stores';
import { benchConfig } from './lib/config.js';
import type { Section } from './lib/report.js';
import {
  deleteRedisPrefix,
  dropPostgresSchema,
  postgresStoreURL,
  redisStoreURL,
  servicesAvailable,
  uniqueName,
} from './lib/services.js';
import { count, ms, ratio, spread } from './lib/stats.js';

const REVOKED = 100_000;
const ACCESS_TOKEN_MS = 15 * 60_000;
const log = (line: string) => process.stderr.write(`  ${line}\n`);

interface Target {
  name: string;
  url: string;
  fillSeconds: number;
  samples: number[];
}

async function fill(url: string): Promise<number> {
  const store = await openStore(url);
  const started = performance.now();
  try {
    const now = Date.now();
    let next = 0;
    const worker = async () => {
      while (next < REVOKED) {
        next++;
        await store.addRevocation({
          kind: 'login',
          id: randomBytes(16).toString('base64url'),
          at: now,
          expiresAt: now + ACCESS_TOKEN_MS,
        });
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
  } finally {
    await store.close();
  }
  return (performance.now() - started) / 1000;
}

/** Opens the store, starts a monitor, and resolves with the ms from start() to `synced`. */
async function catchUp(url: string): Promise<number> {
  const store: Store = await openStore(url);
  let synced!: () => void;
  const isSynced = new Promise<void>((resolve) => {
    synced = resolve;
  });
  const monitor = new RevocationMonitor(store, {
    clock: systemClock,
    onStateChange: (state: FeedState) => state === 'synced' && synced(),
  });
  try {
    const started = performance.now();
    await monitor.start();
    await isSynced;
    const elapsed = performance.now() - started;
    if (monitor.list.size < REVOKED) {
      throw new Error(`${url}: synced with ${monitor.list.size} revocations, expected ${REVOKED}`);
    }
    return elapsed;
  } finally {
    await monitor.close();
    await store.close();
  }
}

export async function runCatchupBench(): Promise<Section[]> {
  const services = await servicesAvailable();
  const dir = mkdtempSync(join(tmpdir(), 'keycard-bench-catchup-'));
  const prefix = uniqueName('kcbench_catchup');
  const schema = uniqueName('kcbench_catchup');
  const targets: Target[] = [
    { name: 'SQLite', url: `sqlite:${join(dir, 'catchup.db')}`, fillSeconds: 0, samples: [] },
  ];
  const skipped: string[] = [];
  if (services.redis) skipped.push(`Redis: ${services.redis}`);
  else targets.push({ name: 'Redis', url: redisStoreURL(prefix), fillSeconds: 0, samples: [] });
  if (services.postgres) skipped.push(`PostgreSQL: ${services.postgres}`);
  else targets.push({ name: 'PostgreSQL', url: postgresStoreURL(schema), fillSeconds: 0, samples: [] });
  const rounds = Math.max(5, benchConfig.runs);
  try {
    for (const target of targets) {
      target.fillSeconds = await fill(target.url);
      log(`${target.name}: ${count(REVOKED)} revocations written in ${target.fillSeconds.toFixed(1)} s`);
    }
    for (const target of targets) await catchUp(target.url); // warm-up: JIT, connections, page cache
    for (let round = 0; round < rounds; round++) {
      for (const target of targets) target.samples.push(await catchUp(target.url));
    }
  } finally {
    if (!services.redis) await deleteRedisPrefix(prefix).catch(() => 0);
    if (!services.postgres) await dropPostgresSchema(schema).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    {
      title: 'Revocation-feed catch-up at start-up',
      notes: [
        `Time from \`RevocationMonitor.start()\` on a freshly opened store to its \`synced\` state, with ${count(REVOKED)} live revoked logins in the store: subscribe to the feed, load every live record, fill the in-memory list. ${rounds} rounds alternating over the stores after one warm-up; median (min–max) in ms. Until synced, an instance answers each check from the store (one round trip), so a slow catch-up costs latency, never a missed revocation.`,
        ...skipped.map((line) => `Skipped — ${line}.`),
      ],
      headers: [
        'store',
        'catch-up ms',
        'min–max',
        'revocations per ms',
        'time ÷ SQLite',
        'writing them took',
      ],
      rows: targets.map((target) => {
        const value = spread(target.samples);
        const reference = spread((targets[0] as Target).samples).median;
        return [
          target.name,
          ms(value.median),
          `${ms(value.min)}–${ms(value.max)}`,
          count(REVOKED / value.median),
          ratio(value.median / reference),
          `${target.fillSeconds.toFixed(1)} s`,
        ];
      }),
      data: targets.map(({ name, samples, fillSeconds }) => ({
        store: name,
        revoked: REVOKED,
        samples,
        fillSeconds,
      })),
    },
  ];
}
