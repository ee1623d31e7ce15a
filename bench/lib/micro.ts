/**
 * In-process micro-benchmarks: each candidate runs for a fixed time per round; rounds alternate between
 * candidates (A B C A B C …) so that a noisy neighbour or a CPU frequency change hits all of them alike.
 * Reports operations per second as min / median / max over the rounds, and the median's ratio to a
 * reference candidate.
 */
import type { Section } from './report.js';
import { count, ratio } from './stats.js';

export interface Candidate {
  name: string;
  /** One operation; may return a promise (awaited). */
  run: () => unknown;
}

export interface MicroResult {
  name: string;
  rounds: number;
  opsPerSecond: { min: number; median: number; max: number };
  /** median / reference median */
  ratio: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function round(candidate: Candidate, durationMs: number): Promise<number> {
  const first = candidate.run();
  const isAsync = first instanceof Promise;
  if (isAsync) await first;
  let operations = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(durationMs) * 1_000_000n;
  let now = start;
  // Batches of 64 between clock reads keep the timing overhead out of the measurement.
  while (now < deadline) {
    if (isAsync) for (let i = 0; i < 64; i++) await candidate.run();
    else for (let i = 0; i < 64; i++) candidate.run();
    operations += 64;
    now = process.hrtime.bigint();
  }
  return operations / (Number(now - start) / 1e9);
}

export async function compare(
  candidates: Candidate[],
  options: { reference: string; rounds?: number; durationMs?: number },
): Promise<MicroResult[]> {
  const rounds = options.rounds ?? 7;
  const durationMs = options.durationMs ?? 300;
  const samples = new Map<string, number[]>(candidates.map((candidate) => [candidate.name, []]));
  for (const candidate of candidates) await round(candidate, 50); // warm-up (JIT)
  for (let r = 0; r < rounds; r++) {
    for (const candidate of candidates) samples.get(candidate.name)?.push(await round(candidate, durationMs));
  }
  const referenceMedian = median(samples.get(options.reference) ?? [1]);
  return candidates.map((candidate) => {
    const values = samples.get(candidate.name) ?? [];
    const med = median(values);
    return {
      name: candidate.name,
      rounds,
      opsPerSecond: { min: Math.min(...values), median: med, max: Math.max(...values) },
      ratio: med / referenceMedian,
    };
  });
}

/** A micro-benchmark's results as a report section. */
export function microSection(
  title: string,
  results: MicroResult[],
  reference: string,
  notes: string[] = [],
): Section {
  const rounds = results[0]?.rounds ?? 0;
  return {
    title,
    notes: [
      `In-process, ${rounds} alternating rounds per candidate; ops/s median (min–max) over the rounds; ratio of medians to ${reference}.`,
      ...notes,
    ],
    headers: ['candidate', 'ops/s', 'min–max', `vs ${reference}`],
    rows: results.map((result) => {
      const { min, median: med, max } = result.opsPerSecond;
      const name = result.name.startsWith('keycard') ? `**${result.name}**` : result.name;
      return [name, count(med), `${count(min)}–${count(max)}`, ratio(result.ratio)];
    }),
    data: results,
  };
}

export function formatTable(title: string, results: MicroResult[], reference: string): string {
  const lines = [
    `### ${title}`,
    '',
    `| candidate | ops/s median | min | max | vs ${reference} |`,
    '|---|---:|---:|---:|---:|',
  ];
  for (const result of results) {
    const { min, median: med, max } = result.opsPerSecond;
    lines.push(
      `| ${result.name} | ${Math.round(med).toLocaleString('en')} | ${Math.round(min).toLocaleString('en')} | ${Math.round(max).toLocaleString('en')} | ${result.ratio.toFixed(2)}× |`,
    );
  }
  return lines.join('\n');
}
