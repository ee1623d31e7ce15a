/**
 * Bulk revocations (issue 15): blocking a user who has 1,000 token logins (jwt or hybrid strategy) writes
 * 1,001 revocations — one per login and the user-wide cut-off — before the logins are deleted. Per store,
 * each round creates a fresh user with 1,000 token logins on instance A, subscribes instance B (a second
 * store opened on the same URL, as another `keycard serve` would) and times, from the call:
 * - `keycard.users.block()` on A until it resolves (every revocation stored, the logins deleted);
 * - until B's feed has delivered all 1,001;
 * - the store alone: 1,001 fresh records in one batch, one after another (as the block wrote them before
 *   issue 15: a round trip, and on PostgreSQL a row, a NOTIFY and a commit, each), and 64 in flight.
 * Rounds alternate over the stores after one warm-up. Run: npm run bench -- revocations
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeycard, type LoginRecord, type RevocationRecord, type Store } from 'keycard';
import { openStore } from 'keycard/stores';
import { addRevocations } from '../src/core/revocation/add.js';
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
import { count, ms, spread } from './lib/stats.js';

const LOGINS = 1000;
const REVOCATION_TTL_MS = 16 * 60_000;
const log = (line: string) => process.stderr.write(`  ${line}\n`);

interface Target {
  name: string;
  url: string;
  /** Per round, ms: until block() resolved; until B had every record; the store alone (see above). */
  block: number[];
  delivered: number[];
  batch: number[];
  oneByOne: number[];
  parallel: number[];
}

const id = () => randomBytes(16).toString('base64url');

/** A login as the jwt and hybrid strategies store it: with refresh state, so ending it writes a revocation. */
function tokenLogin(user: { id: string; username: string; role: string }, now: number): LoginRecord {
  return {
    id: id(),
    user,
    createdAt: now,
    lastActiveAt: now,
    expiresAt: now + 3_600_000,
    absoluteExpiresAt: now + 8 * 3_600_000,
    data: {},
    userAgent: null,
    ip: null,
    refresh: {
      generation: 0,
      nonce: id(),
      rotatedAt: now,
      windowStartedAt: now,
      rotationsInWindow: 0,
      revocationTTLMs: REVOCATION_TTL_MS,
    },
  };
}

async function round(target: Target, record: boolean): Promise<void> {
  const a: Store = await openStore(target.url);
  const b: Store = await openStore(target.url);
  const keycard = createKeycard({
    store: a,
    passwords: { argon2: { memoryKiB: 1024, iterations: 1, parallelism: 1 } },
  });
  try {
    const user = await keycard.users.create({
      username: `u${randomBytes(6).toString('hex')}`,
      password: id(),
    });
    const now = Date.now();
    const logins = Array.from({ length: LOGINS }, () => tokenLogin(user, now));
    for (let i = 0; i < logins.length; i += 50) {
      await Promise.all(logins.slice(i, i + 50).map((login) => a.createLogin(login)));
    }
    const expected = new Set([...logins.map((login) => login.id), user.id]);
    let received = 0;
    let allReceived!: () => void;
    const delivered = new Promise<void>((resolve) => {
      allReceived = resolve;
    });
    let up!: () => void;
    const isUp = new Promise<void>((resolve) => {
      up = resolve;
    });
    const subscription = await b.subscribeRevocations({
      revoked: (revocation) => {
        if (expected.delete(revocation.id) && ++received === LOGINS + 1) allReceived();
      },
      status: (state) => state === 'up' && up(),
    });
    try {
      await isUp;
      const started = performance.now();
      await keycard.users.block(user.id);
      const blocked = performance.now();
      await delivered;
      const done = performance.now();
      if ((await a.countUserLogins(user.id)) !== 0) throw new Error(`${target.name}: logins left`);

      // The store alone, on records like the block's (fresh ids): all at once through the core's
      // addRevocations (the store's batch where it has one); one round trip after another, as the block
      // wrote them before issue 15; and 64 in flight, as issue 15 measured "today".
      const fresh = (): RevocationRecord[] => {
        const at = Date.now();
        return [
          ...logins.map(() => ({ kind: 'login' as const, id: id(), at, expiresAt: at + REVOCATION_TTL_MS })),
          { kind: 'user', id: id(), at, expiresAt: at + REVOCATION_TTL_MS },
        ];
      };
      const timed = async (write: (records: RevocationRecord[]) => Promise<void>) => {
        const records = fresh();
        const start = performance.now();
        await write(records);
        return performance.now() - start;
      };
      const batch = await timed((records) => addRevocations(a, records));
      const single = await timed(async (records) => {
        for (const revocation of records) await a.addRevocation(revocation);
      });
      const parallel = await timed(async (records) => {
        let next = 0;
        const worker = async () => {
          while (next < records.length) await a.addRevocation(records[next++] as RevocationRecord);
        };
        await Promise.all(Array.from({ length: 64 }, worker));
      });
      if (record) {
        target.block.push(blocked - started);
        target.delivered.push(done - started);
        target.batch.push(batch);
        target.oneByOne.push(single);
        target.parallel.push(parallel);
      }
    } finally {
      await subscription.close();
    }
  } finally {
    await keycard.close();
    await a.close();
    await b.close();
  }
}

export async function runRevocationsBench(): Promise<Section[]> {
  const services = await servicesAvailable();
  const dir = mkdtempSync(join(tmpdir(), 'keycard-bench-revocations-'));
  const prefix = uniqueName('kcbench_revoke');
  const schema = uniqueName('kcbench_revoke');
  const empty = { block: [], delivered: [], batch: [], oneByOne: [], parallel: [] };
  const targets: Target[] = [];
  const skipped: string[] = [];
  if (services.postgres) skipped.push(`PostgreSQL: ${services.postgres}`);
  else targets.push({ name: 'PostgreSQL', url: postgresStoreURL(schema), ...structuredClone(empty) });
  if (services.redis) skipped.push(`Redis: ${services.redis}`);
  else targets.push({ name: 'Redis', url: redisStoreURL(prefix), ...structuredClone(empty) });
  targets.push({ name: 'SQLite', url: `sqlite:${join(dir, 'revocations.db')}`, ...structuredClone(empty) });
  const selected = targets.filter(
    (target) =>
      benchConfig.variants.length === 0 ||
      benchConfig.variants.some((part) => target.name.toLowerCase().includes(part)),
  );
  const rounds = Math.max(3, benchConfig.runs);
  try {
    for (const target of selected) await round(target, false); // warm-up: JIT, connections, plans
    for (let i = 0; i < rounds; i++) {
      for (const target of selected) {
        await round(target, true);
        log(
          `${target.name} round ${i + 1} (ms): block ${ms(target.block.at(-1) as number)}, delivered ${ms(target.delivered.at(-1) as number)}, batch ${ms(target.batch.at(-1) as number)}, one by one ${ms(target.oneByOne.at(-1) as number)}, 64 in flight ${ms(target.parallel.at(-1) as number)}`,
        );
      }
    }
  } finally {
    if (!services.redis) await deleteRedisPrefix(prefix).catch(() => 0);
    if (!services.postgres) await dropPostgresSchema(schema).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  const records = LOGINS + 1;
  const rate = (samples: number[]) => {
    const value = spread(samples.map((elapsed) => records / (elapsed / 1000)));
    return [count(value.median), `${count(value.min)}–${count(value.max)}`];
  };
  const headers = (what: string) => [`${what} /s`, 'min–max'];
  return [
    {
      title: 'Bulk revocations: blocking a user with 1,000 token logins',
      notes: [
        `Revocations per second over ${count(records)} records (one per login and the user-wide cut-off), median and min–max over ${rounds} rounds alternating over the stores after one warm-up. "block": \`keycard.users.block()\` until it resolves — the user updated, the logins listed, every revocation stored, then the logins deleted; "delivered": until a second instance's feed has delivered all of them (same start).`,
        ...skipped.map((line) => `Skipped — ${line}.`),
      ],
      headers: ['store', ...headers('block'), ...headers('delivered'), 'block ms'],
      rows: selected.map((target) => [
        target.name,
        ...rate(target.block),
        ...rate(target.delivered),
        ms(spread(target.block).median),
      ]),
      data: selected,
    },
    {
      title: 'Bulk revocations: the store alone',
      notes: [
        `The same number of fresh records, written to the store: "batch" through the core's \`addRevocations\` (the store's \`addRevocations\` where it has one, else one \`addRevocation\` after another); "one by one": one \`addRevocation\` after another, as a block wrote them before issue 15; "64 in flight": \`addRevocation\` with 64 outstanding (the catch-up benchmark's fill). Median and min–max over the same rounds.`,
      ],
      headers: ['store', ...headers('batch'), ...headers('one by one'), ...headers('64 in flight')],
      rows: selected.map((target) => [
        target.name,
        ...rate(target.batch),
        ...rate(target.oneByOne),
        ...rate(target.parallel),
      ]),
    },
  ];
}
