#!/usr/bin/env node
// Mutation testing of the security-critical core (docs/testing.md): runs Stryker once per file of
// scripts/mutate-map.mjs — or only the files given — each against only the tests that cover it, one
// mutant at a time unless KEYCARD_MUTATE_CONCURRENCY says otherwise. Reports: reports/mutation/*.json
// and *.html (git-ignored). Prints a per-file score table at the end.
//
// Usage: npm run mutate [-- src/core/jwt/base64url.ts ...]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MUTATE_MAP } from './mutate-map.mjs';

const root = new URL('..', import.meta.url).pathname;
const asked = process.argv.slice(2).map((file) => file.replace(/^\.\//, ''));
const unknown = asked.filter((file) => !(file in MUTATE_MAP));
if (unknown.length > 0) {
  console.error(`not in scripts/mutate-map.mjs: ${unknown.join(', ')}`);
  console.error(`known files:\n  ${Object.keys(MUTATE_MAP).join('\n  ')}`);
  process.exit(2);
}
const files = asked.length > 0 ? asked : Object.keys(MUTATE_MAP);
const stryker = join(root, 'node_modules/@stryker-mutator/core/bin/stryker.js');

const rows = [];
let failed = false;
for (const file of files) {
  console.log(`\n=== ${file}: ${MUTATE_MAP[file].join(' ')}`);
  const run = spawnSync(process.execPath, [stryker, 'run', 'stryker.config.mjs'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, KEYCARD_MUTATE_FILE: file },
  });
  if (run.status !== 0) failed = true;
  rows.push(score(file));
}

console.log('\n| file | mutants | killed | timeout | survived | no coverage | errors | score |');
console.log('|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
process.exit(failed ? 1 : 0);

/** One table row from the file's JSON report (mutation-testing-report-schema). */
function score(file) {
  const name = file
    .replace(/^src\//, '')
    .replace(/\.ts$/, '')
    .replaceAll('/', '-');
  const path = join(root, 'reports/mutation', `${name}.json`);
  if (!existsSync(path)) return `| ${file} | no report | | | | | | |`;
  const report = JSON.parse(readFileSync(path, 'utf8'));
  const count = {};
  for (const result of Object.values(report.files))
    for (const mutant of result.mutants) count[mutant.status] = (count[mutant.status] ?? 0) + 1;
  const n = (status) => count[status] ?? 0;
  const detected = n('Killed') + n('Timeout');
  const valid = detected + n('Survived') + n('NoCoverage');
  const total = valid + n('CompileError') + n('RuntimeError') + n('Ignored');
  const pct = valid === 0 ? 'n/a' : `${((100 * detected) / valid).toFixed(1)} %`;
  return `| ${file} | ${total} | ${n('Killed')} | ${n('Timeout')} | ${n('Survived')} | ${n('NoCoverage')} | ${n('CompileError') + n('RuntimeError')} | ${pct} |`;
}
