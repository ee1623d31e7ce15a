/**
 * npm run bench [-- <name> ...]: runs the benchmarks (all, or the named ones), prints Markdown tables,
 * and writes bench/results/latest.json and bench/results/latest.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { type BenchSection, formatSections, runJWTBench } from './jwt.js';

interface Bench {
  description: string;
  run(): Promise<BenchSection[]>;
}

const BENCHES: Record<string, Bench> = {
  jwt: {
    description: 'JWT sign and verify vs jose, fast-jwt, jsonwebtoken and the node:crypto floor',
    run: () => runJWTBench(),
  },
};

const requested = process.argv.slice(2);
for (const name of requested) {
  if (!Object.hasOwn(BENCHES, name)) {
    console.error(`unknown benchmark '${name}'; known: ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
}
const names = requested.length > 0 ? requested : Object.keys(BENCHES);
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const results: Record<string, BenchSection[]> = {};
const markdown: string[] = [
  `# keycard benchmarks`,
  '',
  `Machine: ${machine}. Date: ${new Date().toISOString()}.`,
  '',
];
for (const name of names) {
  const bench = BENCHES[name] as Bench;
  console.error(`running ${name}: ${bench.description}`);
  results[name] = await bench.run();
  const table = formatSections(results[name] as BenchSection[]);
  markdown.push(`## ${name}`, '', table, '');
  console.log(`## ${name}\n\n${table}\n`);
}
mkdirSync(new URL('results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('results/latest.json', import.meta.url),
  `${JSON.stringify({ machine, date: new Date().toISOString(), results }, null, 2)}\n`,
);
writeFileSync(new URL('results/latest.md', import.meta.url), `${markdown.join('\n')}\n`);
