/**
 * The SQLite store on Bun (`bun:sqlite`) and Deno (`node:sqlite`): each runtime's own test runner runs the
 * store conformance suite (test/runtimes/sqlite-store.runtime.ts, the suite Node runs on better-sqlite3),
 * and here every case must pass. The number of cases is taken from Node's run of the same file, so a
 * runtime that silently ran fewer of them (a describe it ignored, a file it half loaded) fails too.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { runCommand } from '../helpers/command.js';
import { childEnvironment, ROOT, RUNTIMES, runtimeBinary, runtimeSkipReason } from '../helpers/runtimes.js';

const SUITE = 'test/runtimes/sqlite-store.runtime.ts';
const TIMEOUT_MS = 90_000;

/** The test runner's command line on each runtime. */
const COMMANDS = {
  bun: ['test', `./${SUITE}`],
  // Sloppy imports: the sources import `./x.js` for `./x.ts`, as TypeScript's NodeNext resolution wants.
  deno: ['test', '--allow-all', '--unstable-sloppy-imports', '--no-check', SUITE],
};

/** Counts in a runner's summary, with the output kept for the failure message. */
function number(pattern: RegExp, output: string, what: string): number {
  const match = pattern.exec(output);
  assert.ok(match?.[1] !== undefined, `no ${what} in the output:\n${output.slice(-4000)}`);
  return Number(match[1]);
}

describe('the SQLite store conformance suite on Bun and Deno', () => {
  /** Node's count of the suite's cases (tests) and groups (suites), from its TAP summary. */
  let node: { tests: number; suites: number };

  before(async () => {
    const result = await runCommand(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', '--test', '--test-reporter=tap', SUITE],
      { cwd: ROOT, env: childEnvironment(), timeoutMs: TIMEOUT_MS },
    );
    assert.equal(result.code, 0, `Node's run of ${SUITE} failed:\n${result.stdout.slice(-4000)}`);
    node = {
      tests: number(/^# tests (\d+)$/m, result.stdout, 'test count'),
      suites: number(/^# suites (\d+)$/m, result.stdout, 'suite count'),
    };
    assert.ok(node.tests > 40, `the suite has its cases (${node.tests})`);
  });

  for (const runtime of RUNTIMES) {
    const skip = runtimeSkipReason(runtime);
    test(`every case passes on ${runtime}, on its built-in SQLite`, { skip }, async () => {
      const result = await runCommand(runtimeBinary(runtime), COMMANDS[runtime], {
        cwd: ROOT,
        env: childEnvironment(),
        timeoutMs: TIMEOUT_MS,
      });
      // Bun's runner reports on stderr, Deno's on stdout.
      const output = `${result.stdout}\n${result.stderr}`;
      assert.equal(result.code, 0, `${runtime} test ${SUITE} failed:\n${output.slice(-6000)}`);
      if (runtime === 'bun') {
        assert.equal(number(/^\s*(\d+) fail$/m, output, 'fail count'), 0, output.slice(-4000));
        assert.equal(number(/^\s*(\d+) pass$/m, output, 'pass count'), node.tests, 'every case ran');
      } else {
        // Deno counts each describe and each case inside one as a "step" of its top-level test.
        const summary = /^ok \| (\d+) passed \((\d+) steps\) \| 0 failed/m.exec(output);
        assert.ok(summary, `no passing summary in the output:\n${output.slice(-4000)}`);
        const ran = Number(summary[1]) + Number(summary[2]);
        assert.equal(ran, node.tests + node.suites, 'every case ran');
      }
      const driver = runtime === 'bun' ? 'bun:sqlite' : 'node:sqlite';
      assert.ok(
        output.includes(`the SQLite store runs on ${driver} under ${runtime}`),
        'the driver case ran',
      );
    });
  }
});
