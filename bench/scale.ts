/**
 * Scale with work: session-validation latency (p50/p99 of `keycard.logins.validate`) with 10 000,
 * 100 000 and 1 000 000 stored sessions on each store — it must stay flat — and the memory store's bytes per
 * session. The largest size is BENCH_SCALE_MAX. The work happens in bench/scale-worker.ts, in processes of
 * their own: one for the memory store (whose million sessions live on the heap, where their garbage
 * collection would slow every other store's calls too) and one for SQLite, Redis and PostgreSQL, whose
 * rounds alternate. Run: npm run bench -- scale
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchConfig } from './lib/config.js';
import type { Section } from './lib/report.js';
import { servicesAvailable } from './lib/services.js';
import { count, ratio, spread, us } from './lib/stats.js';

const WORKER = fileURLToPath(new URL('scale-worker.ts', import.meta.url));

interface WorkerResult {
  memory?: { sessions: number; bytesPerSession: number };
  sizes: number[];
  latency: Record<string, { size: number; p50: number[]; p99: number[]; fillSeconds: number }[]>;
}

export async function runScaleBench(): Promise<Section[]> {
  const sizes = [10_000, 100_000, 1_000_000].filter((size) => size <= benchConfig.scaleMax);
  if (!sizes.includes(benchConfig.scaleMax)) sizes.push(benchConfig.scaleMax);
  const services = await servicesAvailable();
  const stores = ['memory', 'SQLite'];
  const skipped: string[] = [];
  if (services.redis) skipped.push(`Redis: ${services.redis}`);
  else stores.push('Redis');
  if (services.postgres) skipped.push(`PostgreSQL: ${services.postgres}`);
  else stores.push('PostgreSQL');
  const rounds = Math.max(5, benchConfig.runs);
  const runWorker = (group: string[]) =>
    new Promise<WorkerResult>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--expose-gc',
          '--max-old-space-size=8192',
          WORKER,
          JSON.stringify({ sizes, rounds, stores: group }),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let text = '';
      child.stdout.on('data', (chunk) => {
        text += chunk;
      });
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0
          ? resolve(JSON.parse(text.trim().split('\n').pop() as string) as WorkerResult)
          : reject(new Error(`scale worker exited with ${code}`)),
      );
    });
  const inMemory = await runWorker(['memory']);
  const others = await runWorker(stores.filter((store) => store !== 'memory'));
  const result: WorkerResult = {
    memory: inMemory.memory,
    sizes: inMemory.sizes,
    latency: { ...inMemory.latency, ...others.latency },
  };
  const memory = result.memory as { sessions: number; bytesPerSession: number };
  const first = result.sizes[0] as number;
  const last = result.sizes.at(-1) as number;
  const rows: string[][] = [];
  const data: unknown[] = [];
  for (const store of stores) {
    const entries = result.latency[store] ?? [];
    const cells = entries.map((entry) => {
      const p50 = spread(entry.p50).median;
      const p99 = spread(entry.p99).median;
      return `${us(p50)} / ${us(p99)}`;
    });
    // Within each round (every size measured in it, one after another), then the median over the rounds.
    const p99s = (size: number) => entries.find((entry) => entry.size === size)?.p99 ?? [];
    const growth = spread(p99s(last).map((p99, round) => p99 / (p99s(first)[round] ?? Number.NaN))).median;
    rows.push([store, ...cells, ratio(growth), growth <= 1.5 ? 'met' : `missed (${ratio(growth)})`]);
    data.push({ store, entries, p99Growth: growth });
  }
  const fill = stores
    .map((store) => {
      const seconds = (result.latency[store] ?? []).reduce((sum, entry) => sum + entry.fillSeconds, 0);
      return `${store} ${seconds.toFixed(0)} s`;
    })
    .join(', ');
  return [
    {
      title: 'Session validation latency vs stored sessions',
      notes: [
        `p50 / p99 of one \`keycard.logins.validate(token)\`, in µs, one call at a time; ${rounds} rounds, each timing every store in turn, its sizes taking turns call by call (each size has stores of its own, all filled first; the memory store runs in a process of its own), each of 5000 validations of random tokens from a sample of 1000 sessions created through keycard; medians over the rounds. The other sessions are filler written in bulk into each store's own layout (filling took: ${fill}). Largest size: ${count(last)} (BENCH_SCALE_MAX). Target (issues 7 and 15): p99 at the largest size within 1.5× of p99 at ${count(first)} — the ratio taken within each round, median over the rounds.`,
        ...skipped.map((line) => `Skipped — ${line}.`),
      ],
      headers: [
        'store',
        ...result.sizes.map((size) => `${count(size)} sessions`),
        `p99 ${count(last)} ÷ ${count(first)}`,
        'target',
      ],
      rows,
      data,
      charts: [
        {
          file: 'scale-p99.svg',
          spec: {
            kind: 'lines',
            title: 'Session validation p99 against stored sessions',
            xLabel: 'stored sessions (log scale)',
            yLabel: 'p99 µs',
            xLog: true,
            series: stores.map((store) => ({
              name: store,
              points: (result.latency[store] ?? []).map((entry): [number, number] => [
                entry.size,
                spread(entry.p99).median,
              ]),
            })),
          },
        },
      ],
    },
    {
      title: 'Memory store: bytes per session',
      notes: [
        `Heap used (after a full GC) before and after ${count(memory.sessions)} logins (\`keycard.logins.create\` with a user, a 100-byte user agent and an IP) into a fresh MemoryStore, divided by their number.`,
      ],
      headers: ['store', 'sessions', 'bytes per session', 'per 1 M sessions'],
      rows: [
        [
          'memory',
          count(memory.sessions),
          count(memory.bytesPerSession),
          `${((memory.bytesPerSession * 1e6) / 2 ** 20).toFixed(0)} MiB`,
        ],
      ],
      data: memory,
    },
  ];
}
