/**
 * Revocation propagation across instances (issues 5 and 15): three `keycard serve --preset spa` processes
 * share one store. Each trial logs in on A, then ends that login on C (DELETE /auth/sessions/:id) or has an
 * admin block the user on C, and measures the time from C's response to the first refusal on A and on B,
 * each polled in a tight loop. Reports p50/p99/max over the trials per store and kind of revocation, with
 * the share refused by the first poll and that poll's own round trip — and the feed alone, without HTTP.
 * Run: npm run bench -- propagation (BENCH_TRIALS=200 for 200 trials of each kind, i.e. 400 samples;
 * BENCH_VARIANTS=postgres for one store).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createKeycard, type Store } from 'keycard';
import { openStore } from 'keycard/stores';
import { Client } from '../test/helpers/http.js';
import { startCluster } from '../test/helpers/instances.js';
import { cumulative } from './lib/charts.js';
import { benchConfig } from './lib/config.js';
import type { Section } from './lib/report.js';
import { deleteRedisPrefix, dropPostgresSchema } from './lib/services.js';

export interface PropagationResult {
  store: string;
  /** `logout`: the login ended on C (DELETE /auth/sessions/:id); `block`: the user blocked on C by an admin. */
  revoke: 'logout' | 'block';
  trials: number;
  /** Milliseconds from the revoking response to the first refusal on another instance. */
  p50: number;
  p99: number;
  max: number;
  /** Share of the samples refused by the very first poll: the feed had delivered before it arrived. */
  firstPoll: number;
  /** The same poll's round trip while still accepted (just before the revoke), p50 and p99 in ms. */
  pollP50: number;
  pollP99: number;
  /** Every sample, in ms, sorted: the distribution the chart draws. */
  delays: number[];
}

export interface FeedResult {
  store: string;
  samples: number;
  /** Milliseconds from `addRevocation` resolving on one store instance to delivery on another (≥ 0). */
  p50: number;
  p99: number;
  max: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const sortedCopy = (values: number[]) => [...values].sort((x, y) => x - y);

async function measure(
  name: string,
  url: string,
  trials: number,
  revoke: 'logout' | 'block',
): Promise<PropagationResult> {
  const store: Store = await openStore(url);
  const keycard = createKeycard({
    store,
    passwords: { argon2: { memoryKiB: 1024, iterations: 1, parallelism: 1 } },
  });
  // A fresh user per trial when blocking (a block ends the user for good); one admin blocks them on C.
  const users: string[] = [];
  for (let i = 0; i < (revoke === 'block' ? trials : 1); i++) {
    users.push((await keycard.users.create({ username: `user${i}`, password: 'user-password' })).id);
  }
  await keycard.users.create({ username: 'root', password: 'root-password', role: 'admin' });
  const cluster = await startCluster(3, url, ['--preset', 'spa']);
  const [a, b, c] = cluster.instances.map((instance) => instance.url) as [string, string, string];
  const admin = new Client(c);
  if (revoke === 'block') {
    const signedIn = await admin.post('/auth/login', {
      json: { username: 'root', password: 'root-password' },
    });
    if (signedIn.status !== 200) throw new Error(`admin login failed: ${signedIn.status}`);
  }
  const delays: number[] = [];
  const polls: number[] = [];
  let firstPoll = 0;
  try {
    for (let trial = 0; trial < trials; trial++) {
      const index = revoke === 'block' ? trial : 0;
      const user = new Client(a);
      const username = `user${index}`;
      await user.post('/auth/login', { json: { username, password: 'user-password' } });
      const copy = (base: string) => {
        const client = new Client(base);
        for (const [cookie, value] of user.cookies) client.cookies.set(cookie, value);
        return client;
      };
      const onA = copy(a);
      const onB = copy(b);
      const onC = copy(c);
      const sid = (await onA.get('/auth/me')).json.session.id as string;
      for (const client of [onA, onB]) {
        const start = performance.now();
        if ((await client.get('/auth/verify')).status !== 200) throw new Error('not signed in');
        polls.push(performance.now() - start);
      }
      const revoked =
        revoke === 'block'
          ? await admin.post(`/auth/admin/users/${users[index]}/block`)
          : await onC.delete(`/auth/sessions/${sid}`);
      const t0 = performance.now();
      if (revoked.status !== 200) throw new Error(`revoke failed: ${revoked.status}`);
      await Promise.all(
        [onA, onB].map(async (client) => {
          for (let spin = 0; spin < 100_000; spin++) {
            if ((await client.get('/auth/verify')).status === 401) {
              delays.push(performance.now() - t0);
              if (spin === 0) firstPoll++;
              return;
            }
          }
          throw new Error('never refused');
        }),
      );
    }
  } finally {
    await cluster.stop();
    await keycard.close();
    await store.close();
  }
  const sorted = sortedCopy(delays);
  const sortedPolls = sortedCopy(polls);
  return {
    store: name,
    revoke,
    trials: delays.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
    firstPoll: firstPoll / delays.length,
    pollP50: percentile(sortedPolls, 50),
    pollP99: percentile(sortedPolls, 99),
    delays: sorted,
  };
}

/**
 * The feed alone, in one process and without HTTP: two store instances on the same URL, one subscribed;
 * each sample is one `addRevocation` on the other, timed from its resolving to the delivery (0 when the
 * delivery came first — NOTIFY goes out at commit, before the client reads the statement's answer).
 */
async function measureFeed(name: string, url: string, samples: number): Promise<FeedResult> {
  const writer: Store = await openStore(url);
  const reader: Store = await openStore(url);
  let waiting: { id: string; done: (at: number) => void } | undefined;
  let up!: () => void;
  const isUp = new Promise<void>((resolve) => {
    up = resolve;
  });
  const subscription = await reader.subscribeRevocations({
    revoked: (record) => {
      if (record.id === waiting?.id) waiting.done(performance.now());
    },
    status: (state) => state === 'up' && up(),
  });
  const delays: number[] = [];
  // The SQLite feed polls on an unref'd timer (it must not keep an app alive); while this waits for a
  // delivery nothing else would hold the process open, and Node would exit mid-await (code 13).
  const alive = setInterval(() => {}, 1000);
  try {
    await isUp;
    for (let i = 0; i < samples + 20; i++) {
      const id = `feed-${i}-${Math.random().toString(36).slice(2)}`;
      const delivered = new Promise<number>((resolve) => {
        waiting = { id, done: resolve };
      });
      const now = Date.now();
      await writer.addRevocation({ kind: 'login', id, at: now, expiresAt: now + 60_000 });
      const resolved = performance.now();
      const at = await delivered;
      if (i >= 20) delays.push(Math.max(0, at - resolved)); // the first 20 warm up
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    clearInterval(alive);
    await subscription.close();
    await writer.close();
    await reader.close();
  }
  const sorted = sortedCopy(delays);
  return {
    store: name,
    samples: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
  };
}

export async function runPropagationBench(
  trials = Number(process.env.BENCH_TRIALS ?? 100),
  kinds: ('logout' | 'block')[] = ['logout', 'block'],
  feedSamples = 1000,
): Promise<{ results: PropagationResult[]; feeds: FeedResult[] }> {
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const dir = mkdtempSync(`${tmpdir()}/keycard-propagation-`);
  // A fresh file, key prefix or schema per measurement (`tag`), so that none reads another's revocations.
  const targets: [string, (tag: string) => string][] = [
    ['sqlite (poll 25 ms)', (tag) => `sqlite:${dir}/${tag}.db?revocationPollIntervalMs=25`],
    ['sqlite (poll 200 ms, default)', (tag) => `sqlite:${dir}/${tag}-default.db`],
    ['redis', (tag) => `redis://127.0.0.1:6379/?prefix=kcprop_${suffix}_${tag}`],
    ['postgres', (tag) => `postgres://postgres@127.0.0.1:5432/test?schema=kcprop_${suffix}_${tag}`],
  ];
  // BENCH_VARIANTS=postgres (|-separated substrings) measures only the matching stores.
  const selected = targets.filter(
    ([name]) =>
      benchConfig.variants.length === 0 ||
      benchConfig.variants.some((part) => name.toLowerCase().includes(part)),
  );
  const results: PropagationResult[] = [];
  const feeds: FeedResult[] = [];
  const tags = [...kinds, 'feed'];
  try {
    for (const [name, url] of selected) {
      for (const revoke of kinds) results.push(await measure(name, url(revoke), trials, revoke));
      if (!name.startsWith('sqlite (poll 200')) feeds.push(await measureFeed(name, url('feed'), feedSamples));
    }
  } finally {
    // The shared servers keep nothing of the run.
    for (const tag of tags) {
      await dropPostgresSchema(`kcprop_${suffix}_${tag}`).catch(() => {});
      await deleteRedisPrefix(`kcprop_${suffix}_${tag}`).catch(() => 0);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return { results, feeds };
}

/** As a report section for `npm run bench -- propagation`. */
export async function runPropagationSection(): Promise<Section[]> {
  const { results, feeds } = await runPropagationBench();
  return [
    {
      title: 'Revocation propagation across three instances (hybrid)',
      notes: [
        'Each trial signs in on A, then ends the login on C (logout: DELETE /auth/sessions/:id) or has an admin block the user on C (block: POST /auth/admin/users/:id/block, a fresh user per trial), and times from C’s response to the first refusal on A and on B (each polled in a tight loop, so a figure includes one HTTP round trip). "first poll": the share refused by the very first poll — the feed had delivered before it arrived; "poll": that request’s own round trip, timed just before the revoke.',
      ],
      headers: [
        'store (feed)',
        'revoke',
        'samples',
        'p50 ms',
        'p99 ms',
        'max ms',
        'first poll',
        'poll p50',
        'poll p99',
      ],
      rows: results.map((r) => [
        r.store,
        r.revoke,
        String(r.trials),
        r.p50.toFixed(1),
        r.p99.toFixed(1),
        r.max.toFixed(1),
        `${(r.firstPoll * 100).toFixed(1)} %`,
        r.pollP50.toFixed(1),
        r.pollP99.toFixed(1),
      ]),
      data: results,
      charts: [
        {
          file: 'propagation.svg',
          spec: {
            kind: 'lines',
            title: 'Revocation propagation: share of refusals within a delay',
            xLabel: 'ms from the revoking answer to the refusal on another instance (log scale)',
            yLabel: '% of samples',
            xLog: true,
            series: results.map((r) => ({ name: `${r.store}, ${r.revoke}`, points: cumulative(r.delays) })),
          },
        },
      ],
    },
    {
      title: 'The revocation feed alone (two store instances in one process, no HTTP)',
      notes: [
        'Each sample: `addRevocation` on one instance, timed from its resolving to the delivery on the other’s subscription (0 when the delivery came first), one at a time, after 20 unmeasured.',
      ],
      headers: ['store (feed)', 'samples', 'p50 ms', 'p99 ms', 'max ms'],
      rows: feeds.map((r) => [
        r.store,
        String(r.samples),
        r.p50.toFixed(2),
        r.p99.toFixed(2),
        r.max.toFixed(2),
      ]),
      data: feeds,
    },
  ];
}
