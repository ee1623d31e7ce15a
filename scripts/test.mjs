#!/usr/bin/env node
// Runs the test suite with Node's own runner on the TypeScript sources (via tsx, with the `source`
// export condition so `keycard/...` imports resolve to src/), then prints one summary line CI can read:
// "N passed, N failed, N skipped".
//
// Usage: node scripts/test.mjs [path-filter ...]
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function collect(dir) {
  const files = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') continue;
    if (statSync(path).isDirectory()) files.push(...collect(path));
    else if (name.endsWith('.test.ts')) files.push(relative(root, path));
  }
  return files;
}

const filters = process.argv.slice(2);
const files = collect(join(root, 'test'))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

// The packed-package tests (test/package/) share one `npm pack` of the checkout and one `npm install` of
// it into a new app (test/helpers/packed.ts), which take minutes: made here, before the runner starts,
// so that no test file's time limit pays for them. The README test's apps (keycard plus what each README
// install block adds) are installed here too when it runs.
if (files.some((file) => readFileSync(join(root, file), 'utf8').includes('helpers/packed'))) {
  const readme = files.includes('test/package/readme.test.ts');
  console.log(
    `preparing the packed package: npm pack and npm install into a new app${readme ? ' (and the README’s apps)' : ''} (cached)`,
  );
  const prepare = [
    "const { packedApp } = await import('./test/helpers/packed.ts');",
    '(await packedApp()).remove();',
    readme
      ? "const { readmeDependencyLists } = await import('./test/package/runnable.ts'); for (const list of readmeDependencyLists('.')) (await packedApp(list)).remove();"
      : '',
  ].join(' ');
  const prepared = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '--eval', prepare],
    { cwd: root, stdio: 'inherit' },
  );
  if (prepared.status !== 0) {
    console.error('preparing the packed package failed');
    process.exit(1);
  }
}

const concurrency = Math.max(2, availableParallelism());
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--conditions=source',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=300000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/summary-reporter.mjs',
    '--test-reporter-destination=stdout',
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, KEYCARD_TEST: '1' } },
);
process.exit(result.status ?? 1);
