/**
 * Draws the charts of a finished run again, from its figures: every chart recorded in a results file
 * (bench/results/latest.json by default), written to a directory (bench/results/ by default). How
 * docs/images/bench/ is refreshed from the run docs/benchmarks.md reports:
 *
 *   node --import tsx bench/charts.ts bench/results/latest.json docs/images/bench/
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Chart, renderChart } from './lib/charts.js';
import type { Section } from './lib/report.js';

const [input = 'bench/results/latest.json', output = 'bench/results/'] = process.argv.slice(2);
const run = JSON.parse(readFileSync(input, 'utf8')) as { results: Record<string, { sections: Section[] }> };
const charts: Chart[] = Object.values(run.results).flatMap(({ sections }) =>
  sections.flatMap((section) => section.charts ?? []),
);
if (charts.length === 0) {
  console.error(`${input} holds no charts: run npm run bench -- http scale propagation first`);
  process.exit(1);
}
mkdirSync(output, { recursive: true });
for (const chart of charts) {
  // JSON has no NaN: a figure not measured comes back as null, which the chart says as "not measured".
  writeFileSync(join(output, chart.file), renderChart(chart.spec));
  console.log(join(output, chart.file));
}
