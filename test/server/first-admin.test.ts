/**
 * The first admin from the environment (issue 13): `keycard serve` creates it while the store has no
 * users — so a container, or the in-process `memory:` store, needs no second process — and never creates
 * a second one or changes an existing user. The password comes from a file or stdin, meets the password
 * policy, and appears in no log line and no error. While there is no user, the hint names a command that
 * works for the store in use.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createKeycard } from '../../src/index.js';
import {
  buildServer,
  type KeycardServer,
  loadServerConfig,
  type ServerDependencies,
  startServer,
} from '../../src/server/index.js';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import { FAST_ARGON2 } from '../core/support.js';
import { request } from '../helpers/http.js';

const PASSWORD = 'correct-Horse-7731-battery';
const root = mkdtempSync(join(tmpdir(), 'keycard-first-admin-'));
after(() => rmSync(root, { recursive: true, force: true }));

const freshDir = (): string => mkdtempSync(join(root, 'case-'));

function passwordFile(dir: string, text: string): string {
  const path = join(dir, 'admin-password');
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

interface Started {
  server: KeycardServer & { url?: string };
  log: string[];
  dir: string;
}

/** A server on its own directory, configured from `env` and `flags` as `keycard serve` would be. */
async function start(
  env: NodeJS.ProcessEnv,
  options: {
    dir?: string;
    flags?: Record<string, unknown>;
    deps?: ServerDependencies;
    listen?: boolean;
  } = {},
): Promise<Started> {
  const dir = options.dir ?? freshDir();
  const log: string[] = [];
  const config = loadServerConfig({
    flags: {
      port: '0',
      host: '127.0.0.1',
      store: `sqlite:${join(dir, 'keycard.db')}`,
      keys: join(dir, 'keys.json'),
      ...options.flags,
    },
    env,
  });
  const deps: ServerDependencies = { logStream: { write: (line) => log.push(line) }, ...options.deps };
  const server = options.listen === false ? await buildServer(config, deps) : await startServer(config, deps);
  after(() => server.close());
  return { server, log, dir };
}

/** Every log message, in order. */
const messages = (log: string[]): string[] => log.map((line) => JSON.parse(line).msg as string);

/** Runs `work` and returns the error it throws (fails when it does not throw). */
async function failure(work: () => Promise<unknown>): Promise<Error> {
  try {
    const value = await work();
    if (value && typeof value === 'object' && 'close' in value) await (value as KeycardServer).close();
  } catch (error) {
    return error as Error;
  }
  assert.fail('expected a failure');
}

describe('first admin from the environment', () => {
  test('is created from a password file when the store has no users, and can sign in', async () => {
    const dir = freshDir();
    const file = passwordFile(dir, `${PASSWORD}\n`);
    const { server, log } = await start(
      { KEYCARD_ADMIN_USERNAME: 'Root-Admin', KEYCARD_ADMIN_PASSWORD_FILE: file },
      { dir },
    );
    const user = await server.keycard.users.findByUsername('root-admin');
    assert.ok(user, 'the admin exists');
    assert.equal(user.role, 'admin');
    // The trailing newline of the file is no part of the password.
    assert.equal((await server.keycard.users.verifyCredentials('root-admin', PASSWORD)).ok, true);
    const login = await request(server.url as string, 'POST', '/auth/login', {
      json: { username: 'root-admin', password: PASSWORD },
    });
    assert.equal(login.status, 200);
    const said = messages(log);
    assert.ok(
      said.some((message) =>
        message.startsWith("created the first admin 'root-admin' (username from KEYCARD_ADMIN_USERNAME"),
      ),
      said.join('\n'),
    );
    // guards: the password in the log (the audit event included)
    assert.ok(!log.join('\n').includes(PASSWORD), 'the password is in no log line');
    assert.ok(!said.some((message) => /no users yet/.test(message)), 'no hint once the admin exists');
  });

  test('never changes an existing user: a later start with other settings creates and changes nothing', async () => {
    const dir = freshDir();
    const first = await start(
      { KEYCARD_ADMIN_USERNAME: 'admin', KEYCARD_ADMIN_PASSWORD_FILE: passwordFile(dir, PASSWORD) },
      { dir },
    );
    const before = await first.server.keycard.users.findByUsername('admin');
    await first.server.close();

    // The same name with another password, then another name: neither changes the store.
    for (const username of ['admin', 'second-admin']) {
      const again = await start(
        {
          KEYCARD_ADMIN_USERNAME: username,
          KEYCARD_ADMIN_PASSWORD_FILE: passwordFile(dir, 'another-Password-9931'),
        },
        { dir },
      );
      const users = await again.server.keycard.users.list();
      assert.deepEqual(
        users.map((user) => user.username),
        ['admin'],
      );
      const after = await again.server.keycard.users.findByUsername('admin');
      assert.equal(after?.passwordHash, before?.passwordHash, 'the password hash is untouched');
      assert.equal((await again.server.keycard.users.verifyCredentials('admin', PASSWORD)).ok, true);
      assert.ok(
        messages(again.log).includes(
          'KEYCARD_ADMIN_USERNAME is set but the store already has users: no user was created or changed',
        ),
        messages(again.log).join('\n'),
      );
      await again.server.close();
    }
  });

  test('reads the password through the stdin reader only when the admin is created', async () => {
    let reads = 0;
    const readAdminPassword = async () => {
      reads++;
      return PASSWORD;
    };
    const env = { KEYCARD_ADMIN_USERNAME: 'admin', KEYCARD_ADMIN_PASSWORD_FILE: '-' };
    const dir = freshDir();
    const first = await start(env, { dir, deps: { readAdminPassword } });
    assert.equal(reads, 1);
    assert.equal((await first.server.keycard.users.verifyCredentials('admin', PASSWORD)).ok, true);
    assert.ok(messages(first.log).some((message) => message.endsWith('password from stdin)')));
    await first.server.close();
    // guards: asking an operator for a password that will not be used
    await start(env, { dir, deps: { readAdminPassword } });
    assert.equal(reads, 1, 'not asked again once users exist');
  });

  test('a password the policy refuses stops the start with one line, and leaves nothing behind', async () => {
    for (const [password, reason] of [
      ['short', /password must be at least 8 characters/],
      ['password123', /too common/],
      ['admin-admin-admin', /too close to your username/],
    ] as const) {
      const dir = freshDir();
      const error = await failure(() =>
        start(
          { KEYCARD_ADMIN_USERNAME: 'admin', KEYCARD_ADMIN_PASSWORD_FILE: passwordFile(dir, password) },
          { dir },
        ),
      );
      assert.match(
        error.message,
        /^the first admin's password \(KEYCARD_ADMIN_PASSWORD_FILE\) is refused: .*; nothing was created$/,
      );
      assert.match(error.message, reason);
      assert.ok(!error.message.includes(password), 'the password is not in the message');
      assert.ok(!error.message.includes('\n'), 'one line');
      assert.equal(existsSync(join(dir, 'keys.json')), false, 'no key file was written');
      const store = new SQLiteStore({ path: join(dir, 'keycard.db') });
      assert.equal(await createKeycard({ store, passwords: { argon2: FAST_ARGON2 } }).users.count(), 0);
      await store.close();
    }
  });

  test('settings that cannot work are refused at once, naming the setting', () => {
    const load =
      (env: NodeJS.ProcessEnv, flags: Record<string, unknown> = {}) =>
      () =>
        loadServerConfig({ flags: { store: 'memory:', ...flags }, env });
    assert.throws(load({ KEYCARD_ADMIN_USERNAME: 'admin' }), {
      code: 'invalid_configuration',
      message:
        'KEYCARD_ADMIN_USERNAME needs the password too: set KEYCARD_ADMIN_PASSWORD_FILE to a file holding it (or --admin-password-file - to read stdin)',
    });
    assert.throws(load({}, { 'admin-password-file': '/run/secrets/admin' }), {
      message:
        '--admin-password-file is set but KEYCARD_ADMIN_USERNAME is not: set both to create the first admin',
    });
    assert.throws(load({ KEYCARD_ADMIN_USERNAME: 'bad name!', KEYCARD_ADMIN_PASSWORD_FILE: '-' }), {
      message: /^KEYCARD_ADMIN_USERNAME: /,
    });
    // guards: a password in the environment, where process listings and `docker inspect` show it
    const secret = 'env-Password-5521';
    assert.throws(
      load({ KEYCARD_ADMIN_USERNAME: 'admin', KEYCARD_ADMIN_PASSWORD: secret }),
      (error: Error) => {
        assert.match(error.message, /^KEYCARD_ADMIN_PASSWORD is not read, since environment variables leak/);
        assert.ok(!error.message.includes(secret));
        return true;
      },
    );
  });

  test('a password file that cannot be read is named, and nothing starts', async () => {
    const dir = freshDir();
    const missing = join(dir, 'nope');
    const error = await failure(() =>
      start({ KEYCARD_ADMIN_USERNAME: 'admin', KEYCARD_ADMIN_PASSWORD_FILE: missing }, { dir }),
    );
    assert.equal(
      error.message,
      `the first admin's password file ${missing} (KEYCARD_ADMIN_PASSWORD_FILE) does not exist`,
    );
    assert.equal(existsSync(join(dir, 'keys.json')), false);
  });

  test('two instances starting on one empty store create one admin', async () => {
    const dir = freshDir();
    const env = { KEYCARD_ADMIN_USERNAME: 'admin', KEYCARD_ADMIN_PASSWORD_FILE: passwordFile(dir, PASSWORD) };
    // Both were built while the store had no users; both then try to create the admin.
    const one = await start(env, { dir, listen: false });
    const two = await start(env, { dir, listen: false });
    await Promise.all([one.server.createFirstAdmin(), two.server.createFirstAdmin()]);
    assert.equal(await one.server.keycard.users.count(), 1);
    const said = [...messages(one.log), ...messages(two.log)];
    assert.equal(said.filter((message) => message.startsWith("created the first admin 'admin'")).length, 1);
    assert.equal(
      said.filter((message) =>
        /was created by another instance at the same time; nothing changed$/.test(message),
      ).length,
      1,
    );
  });
});

describe('the first-run hint names a command that works for the store', () => {
  async function hintAndPage(store: string): Promise<{ hint: string; page: string }> {
    const { server, log } = await start({}, { flags: { store } });
    const hint = messages(log).find((message) => message.startsWith('no users yet')) ?? '';
    const page = (await request(server.url as string, 'GET', '/login')).text;
    await server.close();
    return { hint, page };
  }

  for (const store of ['memory:', 'sqlite::memory:']) {
    test(`${store}: restart with the first admin, never keycard user add in another process`, async () => {
      const { hint, page } = await hintAndPage(store);
      const command = `KEYCARD_ADMIN_USERNAME=admin npx keycard serve --store '${store}' --admin-password-file -`;
      assert.ok(hint.endsWith(command), hint);
      assert.match(hint, /this store lives only in this process/);
      // guards: a hint that writes the admin into another process's memory
      assert.doesNotMatch(hint, /user add/);
      assert.ok(page.includes(command.replaceAll("'", '&#39;')), 'the sign-in page shows it too');
      assert.doesNotMatch(page, /user add/);
    });
  }

  test('a store other processes can open: keycard user add', async () => {
    const dir = freshDir();
    const store = `sqlite:${join(dir, 'shared.db')}`;
    const { hint, page } = await hintAndPage(store);
    assert.equal(
      hint,
      `no users yet. Create the first admin with:  npx keycard user add admin --role admin --password-stdin --store '${store}'`,
    );
    assert.match(page, /keycard user add admin --role admin --password-stdin/);
  });
});
