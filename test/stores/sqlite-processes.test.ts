/**
 * Several processes on one SQLite file — the server and the CLI, or several servers on one machine. Each
 * store instance has its own connection, as another process would; the refresh race runs in real child
 * processes, since one process's synchronous driver never interleaves two statements.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KeycardError } from '../../src/core/errors.js';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import { sessionFixture, tokenLoginFixture, userFixture } from '../conformance/store.js';
import { ManualClock } from '../helpers/clock.js';
import { tempSQLiteFile } from '../helpers/sqlite-file.js';

const ROTATOR = fileURLToPath(new URL('fixtures/sqlite-rotator.ts', import.meta.url));
const WATCHDOG_MS = 60_000;

test('two connections to one file (server and CLI) see each other’s writes and keep usernames unique', async () => {
  const file = tempSQLiteFile();
  const clock = new ManualClock();
  const a = new SQLiteStore({ path: file.path, clock });
  const b = new SQLiteStore({ path: file.path, clock });
  try {
    const record = sessionFixture(clock);
    await a.createLogin(record);
    assert.equal((await b.getLogin(record.id))?.id, record.id);
    await b.deleteLogin(record.id);
    assert.equal(await a.getLogin(record.id), null);
    assert.equal(
      await a.patchLoginData(record.id, { set: { x: 1 }, unset: [] }, { maxBytes: 100 }),
      'missing',
    );
    const taken = (conflict: RegExp) => (error: unknown) =>
      error instanceof KeycardError && error.code === 'username_taken' && conflict.test(error.message);
    await a.createUser(userFixture(clock, { username: 'dana', skeleton: 'skeleton-of-dana' }));
    await assert.rejects(b.createUser(userFixture(clock, { username: 'dana' })), taken(/is taken/));
    await assert.rejects(
      b.createUser(userFixture(clock, { username: 'dаna', skeleton: 'skeleton-of-dana' })),
      taken(/looks like/),
    );
    assert.equal(await a.countUsers(), 1);
  } finally {
    await a.close();
    await b.close();
    file.cleanup();
  }
});

interface Rotator {
  ready: Promise<void>;
  result: Promise<{ won: number[]; lost: number }>;
  go(): void;
}

function startRotator(path: string, loginId: string, target: number): Rotator {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', ROTATOR, path, loginId, String(target)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  let errors = '';
  let signalReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    signalReady = resolve;
  });
  child.stdout.on('data', (chunk) => {
    output += chunk;
    if (output.startsWith('ready\n')) signalReady();
  });
  child.stderr.on('data', (chunk) => {
    errors += chunk;
  });
  const watchdog = setTimeout(() => child.kill('SIGKILL'), WATCHDOG_MS);
  const result = new Promise<{ won: number[]; lost: number }>((resolve, reject) => {
    child.on('close', (code) => {
      clearTimeout(watchdog);
      const last = output.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`a rotator exited with ${code}:\n${output}${errors}`));
        return;
      }
      resolve(JSON.parse(last));
    });
  });
  // A rotator that dies before it is ready must not leave the test waiting for it.
  result.catch(() => signalReady());
  return { ready, result, go: () => child.stdin.write('go\n') };
}

// guards: two refreshes of one login from two processes on one file must not both rotate (issue 12)
test('advanceRefresh is one compare-and-set across processes: every generation is won exactly once', async () => {
  const file = tempSQLiteFile();
  const clock = new ManualClock(Date.now());
  const store = new SQLiteStore({ path: file.path, clock, pruneIntervalMs: 0, fileCheckIntervalMs: 0 });
  const target = 2000;
  try {
    const login = tokenLoginFixture(clock);
    await store.createLogin(login);
    const rotators = Array.from({ length: 3 }, () => startRotator(file.path, login.id, target));
    await Promise.all(rotators.map((rotator) => rotator.ready));
    for (const rotator of rotators) rotator.go();
    const results = await Promise.all(rotators.map((rotator) => rotator.result));

    const won = results.flatMap((result) => result.won).sort((a, b) => a - b);
    const lost = results.reduce((sum, result) => sum + result.lost, 0);
    assert.deepEqual(
      won,
      Array.from({ length: target }, (_, i) => i + 1),
      'each generation was won by exactly one process',
    );
    assert.ok(lost > 0, 'the processes did race (some compare-and-sets lost)');
    const final = await store.getLogin(login.id);
    assert.equal(final?.refresh?.generation, target);
    // Every winner counted on the state it read: a lost update would leave fewer rotations than generations.
    assert.equal(final?.refresh?.rotationsInWindow, target);
    assert.equal(final?.refresh?.nonce, login.refresh?.nonce);
  } finally {
    await store.close();
    file.cleanup();
  }
});
