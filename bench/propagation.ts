/**
 * Revocation propagation across instances (issue 5): three `keycard serve --preset spa` processes share
 * one store. Each trial logs in on A, revokes that login on C (DELETE /auth/sessions/:id), and measures
 * the time from C's response to the first refusal on A and on B, each polled in a tight loop.
 * Reports p50/p99/max over the trials, per store. Run: npm run bench -- propagation
 */
import { createKeycard, type Store } from 'keycard';
import { openStore } from 'keycard/stores';
import { Client } from '../test/helpers/http.js';
import { startCluster } from '../test/helpers/instances.js';
import type { Section } from './lib/report.js';

export interface PropagationResult {
  store: string;
  trials: number;
  /** Milliseconds from the revoking response to the first refusal on another instance. */
  p50: number;
  p99: number;
  max: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function measure(name: string, url: string, trials: number): Promise<PropagationResult> {
  const store: Store = await openStore(url);
  const keycard = createKeycard({
    store,
    passwords: { argon2: { memoryKiB: 1024, iterations: 1, parallelism: 1 } },
  });
  await keycard.users.create({ username: 'alice', password: 'alice-password' });
  const cluster = await startCluster(3, url, ['--preset', 'spa']);
  const [a, b, c] = cluster.instances.map((instance) => instance.url) as [string, string, string];
  const delays: number[] = [];
  try {
    for (let trial = 0; trial < trials; trial++) {
      const alice = new Client(a);
      await alice.post('/auth/login', { json: { username: 'alice', password: 'alice-password' } });
      const copy = (base: string) => {
        const client = new Client(base);
        for (const [cookie, value] of alice.cookies) client.cookies.set(cookie, value);
        return client;
      };
      const onA = copy(a);
      const onB = copy(b);
      const onC = copy(c);
      const sid = (await onA.get('/auth/me')).json.session.id as string;
      for (const client of [onA, onB])
        if ((await client.get('/auth/verify')).status !== 200) throw new Error('not signed in');
      const revoked = await onC.delete(`/auth/sessions/${sid}`);
      const t0 = performance.now();
      if (revoked.status !== 200) throw new Error(`revoke failed: ${revoked.status}`);
      await Promise.all(
        [onA, onB].map(async (client) => {
          for (let spin = 0; spin < 100_000; spin++) {
            if ((await client.get('/auth/verify')).status === 401) {
              delays.push(performance.now() - t0);
              return;
            }
          }
          throw new Error('never refused');
        }),
      );
    }
  } finally {
    await cluster.stop();
    await store.close();
  }
  const sorted = [...delays].sort((x, y) => x - y);
  return {
    store: name,
    trials: delays.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
  };
}

export async function runPropagationBench(
  trials = Number(process.env.BENCH_TRIALS ?? 100),
): Promise<PropagationResult[]> {
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(`${tmpdir()}/keycard-propagation-`);
  const targets: [string, string][] = [
    ['sqlite (poll 25 ms)', `sqlite:${dir}/keycard.db?revocationPollIntervalMs=25`],
    ['sqlite (poll 200 ms, default)', `sqlite:${dir}/keycard2.db`],
    ['redis', `redis://127.0.0.1:6379/?prefix=kcprop_${suffix}`],
    ['postgres', `postgres://postgres@127.0.0.1:5432/test?schema=kcprop_${suffix}`],
  ];
  const results: PropagationResult[] = [];
  for (const [name, url] of targets) results.push(await measure(name, url, trials));
  return results;
}

/** As a report section for `npm run bench -- propagation`. */
export async function runPropagationSection(): Promise<Section[]> {
  const results = await runPropagationBench();
  return [
    {
      title: 'Revocation propagation across three instances (hybrid)',
      notes: [
        'Each trial signs in on A, revokes the login on C, and times the first refusal on A and on B (each polled in a tight loop, so a figure includes one HTTP round trip).',
      ],
      headers: ['store (feed)', 'samples', 'p50 ms', 'p99 ms', 'max ms'],
      rows: results.map((r) => [
        r.store,
        String(r.trials),
        r.p50.toFixed(1),
        r.p99.toFixed(1),
        r.max.toFixed(1),
      ]),
      data: results,
    },
  ];
}

export function formatPropagation(results: PropagationResult[]): string {
  const lines = ['| store | trials | p50 ms | p99 ms | max ms |', '|---|---:|---:|---:|---:|'];
  for (const r of results)
    lines.push(
      `| ${r.store} | ${r.trials} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} |`,
    );
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(formatPropagation(await runPropagationBench()));
}
