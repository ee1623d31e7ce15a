/**
 * Key generation never deadlocks. On Node 20, exporting as JWK a key object that shares its key with
 * the generation job can hang the process for good (the export holds the key's mutex while allocating;
 * a GC finalizes the job, whose destructor takes the same mutex) — within a few hundred keys in a tight
 * loop, and at any single `keycard keys generate` with bad luck. generateJWTKey imports keys from DER
 * instead. The loop runs in a child process with a watchdog, so a deadlock fails this test instead of
 * stalling the suite.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const LOOP = fileURLToPath(new URL('fixtures/keygen-loop.ts', import.meta.url));
const WATCHDOG_MS = 120_000;

test('generating and exporting 8000 EdDSA and 8000 ES256 keys (and 5 RS256) finishes', async () => {
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=1', '--import', 'tsx', '--conditions=source', LOOP, '8000'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  let timedOut = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, WATCHDOG_MS);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(watchdog);
  assert.equal(timedOut, false, `the key loop hung (killed after ${WATCHDOG_MS / 1000} s): a deadlock`);
  assert.equal(code, 0, output);
  assert.match(output, /^done$/m);
});
