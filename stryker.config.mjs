// Stryker (mutation testing) for the security-critical core; run it through `npm run mutate`
// (scripts/mutate.mjs), which mutates one file at a time with only the tests that cover it
// (scripts/mutate-map.mjs) and sets KEYCARD_MUTATE_FILE. See docs/testing.md.
import { MUTATE_MAP } from './scripts/mutate-map.mjs';

const file = process.env.KEYCARD_MUTATE_FILE;
if (!file || !(file in MUTATE_MAP)) {
  throw new Error('run Stryker through `npm run mutate [-- files]` (scripts/mutate.mjs)');
}
const name = file
  .replace(/^src\//, '')
  .replace(/\.ts$/, '')
  .replaceAll('/', '-');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'command',
  commandRunner: { command: `node scripts/test.mjs ${MUTATE_MAP[file].join(' ')}` },
  mutate: [file],
  concurrency: Number(process.env.KEYCARD_MUTATE_CONCURRENCY ?? 1),
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  clearTextReporter: { allowColor: false, logTests: false },
  // What the tests need is src/, test/, scripts/ and the package files; leave the rest out of the sandbox.
  ignorePatterns: [
    '/dist',
    '/bench',
    '/docs',
    '/examples',
    '/.tmp',
    '/coverage',
    '/reports',
    '*.db',
    '*.db-*',
  ],
  tempDirName: '.stryker-tmp',
  // An infinite loop (a mutated loop bound) costs this much over the measured test time; the tests of one
  // file take seconds, so 10 s leaves room for a loaded machine without waiting long on a hang.
  timeoutMS: 10000,
  thresholds: { high: 90, low: 80, break: null },
};
