/** keycard serve, as a real process: it listens, answers, tells a newcomer what to do, and stops cleanly. */
import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { ALGORITHMS, PRESET_NAMES, STRATEGY_NAMES, TRANSPORT_NAMES } from '../../src/index.js';
import { SERVER_SETTINGS } from '../../src/server/index.js';
import { request } from '../helpers/http.js';
import { watchLog } from '../helpers/server-log.js';
import {
  assertOneLineFailure,
  assertSuccess,
  type RunOptions,
  runCLI,
  spawnCLI,
  tempDir,
} from './helpers.js';

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
  assert.ok(log.entries.some((entry) => /SIGTERM: shutting down/.test(entry.msg)));
  assert.equal(log.stderr(), '');
});

/** Starts `keycard serve` on a free port of a new directory; killed after the test. */
function serve(t: TestContext, args: string[], options: RunOptions = {}) {
  const dir = options.cwd ?? tempDir(t);
  const child = spawnCLI(
    ['serve', '--port', '0', '--host', '127.0.0.1', '--keys', join(dir, 'keys.json'), ...args],
    { cwd: dir, ...options },
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const log = watchLog(child);
  const url = async (): Promise<string> => {
    const listening = await log.waitFor(/^Server listening at /);
    return /^Server listening at (http:\/\/127\.0\.0\.1:\d+)$/.exec(listening.msg)?.[1] as string;
  };
  return { child, log, url, dir };
}

const ADMIN_PASSWORD = 'correct-Horse-7731-battery';

test('serve --store memory: creates the first admin from KEYCARD_ADMIN_USERNAME and a password file', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'admin-password');
  writeFileSync(file, `${ADMIN_PASSWORD}\n`);
  const { log, url } = serve(t, ['--store', 'memory:'], {
    cwd: dir,
    env: { KEYCARD_ADMIN_USERNAME: 'admin', KEYCARD_ADMIN_PASSWORD_FILE: file },
  });
  await log.waitFor(
    /^created the first admin 'admin' \(username from KEYCARD_ADMIN_USERNAME, password from the file /,
  );
  // The admin lives in the server's own memory, and signs in there.
  const login = await request(await url(), 'POST', '/auth/login', {
    json: { username: 'admin', password: ADMIN_PASSWORD },
  });
  assert.equal(login.status, 200);
  assert.equal(login.json.user.role, 'admin');
  assert.ok(!log.entries.some((entry) => /no users yet/.test(entry.msg)));
  assert.ok(!JSON.stringify(log.entries).includes(ADMIN_PASSWORD), 'the password is in no log line');
});

test('serve --admin-password-file - reads the first admin password from stdin', async (t) => {
  const { log, url } = serve(
    t,
    ['--store', 'memory:', '--admin-username', 'root', '--admin-password-file', '-'],
    {
      stdin: `${ADMIN_PASSWORD}\n`,
    },
  );
  await log.waitFor(
    /^created the first admin 'root' \(username from --admin-username, password from stdin\)$/,
  );
  const login = await request(await url(), 'POST', '/auth/login', {
    json: { username: 'root', password: ADMIN_PASSWORD },
  });
  assert.equal(login.status, 200);
});

test('serve refuses a first admin password the policy refuses: one line, exit 1, nothing written', async (t) => {
  const dir = tempDir(t);
  const result = await runCLI(
    ['serve', '--port', '0', '--store', `sqlite:${join(dir, 'k.db')}`, '--keys', join(dir, 'keys.json')],
    {
      cwd: dir,
      stdin: 'password\n',
      env: { KEYCARD_ADMIN_USERNAME: 'admin', KEYCARD_ADMIN_PASSWORD_FILE: '-' },
    },
  );
  const line = assertOneLineFailure(result, 1);
  assert.equal(
    line,
    "keycard: the first admin's password (KEYCARD_ADMIN_PASSWORD_FILE) is refused: password is too common: it appears in lists of leaked passwords; nothing was created",
  );
  assert.equal(existsSync(join(dir, 'keys.json')), false, 'no key file');
});

test('serve --store memory: without a first admin says how to restart with one, not keycard user add', async (t) => {
  const { log } = serve(t, ['--store', 'memory:']);
  const hint = await log.waitFor(/^no users yet/);
  // guards: the old hint, `keycard user add` in another process, which writes to another memory
  assert.doesNotMatch(hint.msg, /user add/);
  assert.ok(
    hint.msg.endsWith(
      "KEYCARD_ADMIN_USERNAME=admin npx keycard serve --store 'memory:' --admin-password-file -",
    ),
    hint.msg,
  );
});

test('serve says what it runs in one line: preset, strategy, transport, store, key file, trusted origins', async (t) => {
  const { log, dir } = serve(t, [
    '--store',
    'memory:',
    '--preset',
    'spa',
    '--trusted-origin',
    'https://app.example.com',
  ]);
  const line = await log.waitFor(/^keycard serve: /);
  assert.equal(
    line.msg,
    `keycard serve: preset spa, strategy hybrid, transport cookie, store memory:, key file ${join(dir, 'keys.json')}, trusted origins https://app.example.com, development`,
  );
});

test('serve --help lists every setting and every choice from the tables the code validates with', async () => {
  const result = await runCLI(['serve', '--help']);
  assertSuccess(result);
  const help = result.stdout.replace(/\n {2,}/g, ' ');
  // guards: spa and hybrid missing from the help (it was written by hand)
  for (const name of [...PRESET_NAMES, ...STRATEGY_NAMES, ...TRANSPORT_NAMES, ...ALGORITHMS]) {
    assert.match(help, new RegExp(`[ ,:]${name}[ ,)]`), `${name} is listed`);
  }
  for (const spec of Object.values(SERVER_SETTINGS)) {
    assert.ok(help.includes(`--${spec.flag}`), `--${spec.flag} is listed`);
    assert.ok(help.includes(`(${spec.env};`), `${spec.env} is listed`);
  }
  for (const line of result.stdout.split('\n'))
    assert.ok(line.length <= 100, `a line over 100 columns: ${line}`);
});
