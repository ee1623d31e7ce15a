/**
 * The CLI in the token strategies: every login it ends is revoked as its record says (the login records
 * carry what their revocation needs), whatever the CLI's own settings — a running hybrid server sharing
 * the SQLite file refuses the blocked user's access token once the feed delivers.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { generateKeyFile, writeKeyFile } from 'keycard/server';
import { eventually } from '../helpers/eventually.js';
import { Client, request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { assertSuccess, type RunOptions, runCLI, tempDir } from './helpers.js';

const PASSWORD = 'correct horse battery';

interface Setup {
  server: TestServer;
  /** Runs the CLI with the server's settings, as an operator on that machine would. */
  cli(args: string[], options?: RunOptions): ReturnType<typeof runCLI>;
}

/** A SQLite file and a generated key file, shared by a real server and the CLI's environment. */
async function setUp(t: TestContext, settings: { strategy?: string; preset?: string }): Promise<Setup> {
  const dir = tempDir(t);
  const dbPath = join(dir, 'keycard.db');
  const keysPath = join(dir, 'keys.json');
  writeKeyFile(keysPath, generateKeyFile());
  const server = await startTestServer({
    storeURL: `sqlite:${dbPath}?revocationPollIntervalMs=20`,
    flags: { ...settings, keys: keysPath },
  });
  t.after(() => server.close());
  const env = {
    KEYCARD_STORE: `sqlite:${dbPath}`,
    KEYCARD_KEYS_FILE: keysPath,
    ...(settings.strategy ? { KEYCARD_STRATEGY: settings.strategy } : {}),
    ...(settings.preset ? { KEYCARD_PRESET: settings.preset } : {}),
  };
  return { server, cli: (args, options) => runCLI(args, { cwd: dir, ...options, env }) };
}

async function addUser({ cli }: Setup, username: string): Promise<void> {
  assertSuccess(await cli(['user', 'add', username, '--password-stdin'], { stdin: `${PASSWORD}\n` }));
}

/** Logs in on the server (cookie transport); returns the browser and its login's id. */
async function login(server: TestServer, username: string): Promise<{ client: Client; loginId: string }> {
  const client = new Client(server.url);
  const response = await client.post('/auth/login', { json: { username, password: PASSWORD } });
  assert.equal(response.status, 200, response.text);
  const me = await client.get('/auth/me');
  assert.equal(me.status, 200, me.text);
  return { client, loginId: me.json.session.id as string };
}

async function revocations(server: TestServer) {
  return server.store.listRevocations(Date.now());
}

async function refusedOnceDelivered(client: Client, what: string): Promise<void> {
  await eventually(async () => (await client.get('/auth/me')).status === 401, what);
}

for (const settings of [{ strategy: 'hybrid' }, { preset: 'spa' }]) {
  const name = settings.strategy ? 'KEYCARD_STRATEGY=hybrid' : 'KEYCARD_PRESET=spa';

  test(`${name}: user block revokes the user's logins; the running server refuses their token`, async (t) => {
    const setup = await setUp(t, settings);
    const { server, cli } = setup;
    await addUser(setup, 'alice');
    const alice = await server.keycard.users.findByUsername('alice');
    assert.ok(alice, 'the CLI created the user in the server’s store');
    const { client, loginId } = await login(server, 'alice');

    assertSuccess(await cli(['user', 'block', 'alice']));

    const records = await revocations(server);
    assert.ok(records.some((r) => r.kind === 'login' && r.id === loginId));
    assert.ok(records.some((r) => r.kind === 'user' && r.id === alice.id));
    await refusedOnceDelivered(client, 'the server to refuse the blocked user’s access token');
  });
}

test('KEYCARD_STRATEGY=hybrid: sessions revoke and passwd revoke what they end', async (t) => {
  const setup = await setUp(t, { strategy: 'hybrid' });
  const { server, cli } = setup;
  await addUser(setup, 'bob');
  const laptop = await login(server, 'bob');
  const phone = await login(server, 'bob');

  assertSuccess(await cli(['sessions', 'revoke', 'bob', '--session', phone.loginId]));
  assert.ok((await revocations(server)).some((r) => r.kind === 'login' && r.id === phone.loginId));
  await refusedOnceDelivered(phone.client, 'the revoked session’s token to be refused');
  assert.equal((await laptop.client.get('/auth/me')).status, 200, 'the other session lives on');

  const changed = await cli(['user', 'passwd', 'bob', '--password-stdin'], {
    stdin: 'another good passphrase\n',
  });
  assertSuccess(changed);
  assert.ok((await revocations(server)).some((r) => r.kind === 'login' && r.id === laptop.loginId));
  await refusedOnceDelivered(laptop.client, 'the token of a login ended by passwd to be refused');
});

test('KEYCARD_PRESET=api: CLI commands work, and block ends the refresh family and records revocations', async (t) => {
  const setup = await setUp(t, { preset: 'api' });
  const { server, cli } = setup;
  await addUser(setup, 'carol');
  const list = await cli(['user', 'list']);
  assertSuccess(list);
  assert.match(list.stdout, /^carol\s+user\s+active/m);
  const loggedIn = await request(server.url, 'POST', '/auth/login', {
    json: { username: 'carol', password: PASSWORD },
  });
  assert.equal(loggedIn.status, 200, loggedIn.text);
  const tokens = loggedIn.json as { access_token: string; refresh_token: string };
  const sessions = await cli(['sessions', 'list', 'carol', '--json']);
  assertSuccess(sessions);
  assert.equal((JSON.parse(sessions.stdout) as unknown[]).length, 1);

  assertSuccess(await cli(['user', 'block', 'carol']));
  const carol = await server.keycard.users.findByUsername('carol');
  assert.ok((await revocations(server)).some((r) => r.kind === 'user' && r.id === carol?.id));
  const refreshed = await request(server.url, 'POST', '/auth/refresh', {
    json: { refresh_token: tokens.refresh_token },
  });
  assert.equal(refreshed.status, 401, refreshed.text);
});

// The login records say what ending them needs, so the CLI needs neither the strategy nor the key file.
test('the CLI needs no key file and no strategy setting: with them absent it works, generating nothing', async (t) => {
  const dir = tempDir(t);
  for (const env of [{ KEYCARD_PRESET: 'api' }, { KEYCARD_STRATEGY: 'hybrid' }, {}]) {
    const result = await runCLI(['user', 'list', '--store', `sqlite:${join(dir, 'keycard.db')}`], {
      cwd: dir,
      env,
    });
    assertSuccess(result);
  }
  assert.equal(existsSync(join(dir, 'keycard.keys.json')), false, 'no key file was generated');
});
