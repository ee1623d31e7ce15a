/** keycard serve, as a real process: it listens, answers, tells a newcomer what to do, and stops cleanly. */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from '../helpers/http.js';
import { spawnCLI, tempDir } from './helpers.js';

interface LogEntry {
  level: number;
  msg: string;
}

/** Collects the server's JSON log lines and waits for one that matches. */
function watchLog(child: ChildProcess) {
  const entries: LogEntry[] = [];
  let stdout = '';
  let stderr = '';
  let waiters: { test(entry: LogEntry): boolean; resolve(entry: LogEntry): void }[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    let newline = stdout.indexOf('\n');
    while (newline !== -1) {
      const line = stdout.slice(0, newline);
      stdout = stdout.slice(newline + 1);
      newline = stdout.indexOf('\n');
      const entry = JSON.parse(line) as LogEntry;
      entries.push(entry);
      waiters = waiters.filter((waiter) => {
        if (!waiter.test(entry)) return true;
        waiter.resolve(entry);
        return false;
      });
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return {
    entries,
    exited,
    stderr: () => stderr,
    /** The first log entry whose message matches; fails if the process exits first. */
    waitFor(pattern: RegExp): Promise<LogEntry> {
      const found = entries.find((entry) => pattern.test(entry.msg));
      if (found) return Promise.resolve(found);
      return Promise.race([
        new Promise<LogEntry>((resolve) =>
          waiters.push({ test: (entry) => pattern.test(entry.msg), resolve }),
        ),
        exited.then(({ code }) => {
          throw new Error(`keycard serve exited (${code}) before logging ${pattern}; stderr: ${stderr}`);
        }),
      ]);
    },
  };
}

test('serve starts on a free port, answers /healthz, says how to add the first user, and stops on SIGTERM', async (t) => {
  const dir = tempDir(t);
  const keys = join(dir, 'keys.json');
  const child = spawnCLI(
    [
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--store',
      `sqlite:${join(dir, 'k.db')}`,
      '--keys',
      keys,
      '--log-level',
      'info',
    ],
    { cwd: dir },
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const log = watchLog(child);

  const listening = await log.waitFor(/^Server listening at /);
  const url = /^Server listening at (http:\/\/127\.0\.0\.1:\d+)$/.exec(listening.msg)?.[1];
  assert.ok(url, listening.msg);
  assert.notEqual(new URL(url).port, '0');

  const health = await request(url, 'GET', '/healthz');
  assert.equal(health.status, 200);
  assert.deepEqual(health.json, { status: 'ok' });

  const hint = await log.waitFor(/no users yet/);
  assert.match(hint.msg, /keycard user add \S+ --role admin --password-stdin/);
  assert.ok(hint.msg.includes(`--store 'sqlite:${join(dir, 'k.db')}'`), hint.msg);
  // Development keys were generated into the given file, private to the user.
  assert.ok(
    log.entries.some(
      (entry) =>
        /^generated development keys \(secret, signing key\) in /.test(entry.msg) && entry.msg.includes(keys),
    ),
  );
  assert.equal(statSync(keys).mode & 0o777, 0o600);

  child.kill('SIGTERM');
  const { code, signal } = await log.exited;
  assert.equal(signal, null);
  assert.equal(code, 0);
  assert.ok(log.entries.some((entry) => /SIGTERM: closing/.test(entry.msg)));
  assert.equal(log.stderr(), '');
});
