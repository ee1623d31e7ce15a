/**
 * Revocation is effective from every entry point, with no flags to remember. For every preset a real
 * `keycard serve` runs on a SQLite file, and the revoking CLI commands are run exactly as `--help` shows
 * them — `--store` and nothing else (no strategy, no key file, another working directory) — while the
 * user holds a credential. The next request with that credential is refused: its session, its access
 * token (hybrid: on every request; jwt: wherever the login must be live) and its refresh token. The
 * CLI's message says only what it did.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PRESET_NAMES, type Preset } from '../../src/index.js';
import { runCLI } from '../cli/helpers.js';
import { eventually } from '../helpers/eventually.js';
import { Client, type Response } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a whole new passphrase 42';

/** One login's credential, as the preset's clients carry it. */
interface Held {
  /** A request that needs the login: /auth/me (session, hybrid) or one that must confirm it (jwt). */
  use(): Promise<Response>;
  refresh(): Promise<Response>;
}

async function signIn(server: TestServer, password: string): Promise<Held> {
  const client = new Client(server.url);
  const login = await client.post('/auth/login', { json: { username: 'alice', password } });
  assert.equal(login.status, 200, login.text);
  const strategy = server.keycard.options.strategy;
  if (server.keycard.options.jwt?.transport === 'header') {
    const { access_token: access, refresh_token: refresh } = login.json;
    const bearer = { authorization: `Bearer ${access}` };
    return {
      // The jwt strategy checks access tokens without the store (the documented trade-off), except where
      // the login must be live: ending logins, admin routes. Ending a login that does not exist confirms
      // the caller's own login first (401 if it has ended) and changes nothing (404 while it lives).
      use: () => client.delete('/auth/sessions/AAAAAAAAAAAAAAAAAAAAAA', { headers: bearer, noCookies: true }),
      refresh: () => client.post('/auth/refresh', { json: { refresh_token: refresh }, noCookies: true }),
    };
  }
  return {
    use: () => client.get('/auth/me'),
    // The refresh cookie, sent as a non-browser client would (no Origin: no CSRF token needed).
    refresh: () => (strategy === 'session' ? client.get('/auth/me') : client.post('/auth/refresh')),
  };
}

for (const preset of PRESET_NAMES as Preset[]) {
  describe(`keycard serve --preset ${preset}: revoking CLI commands with --store only`, () => {
    let server: TestServer;
    let store: string;
    let elsewhere: string;
    let password = PASSWORD;

    before(async () => {
      // The hybrid feed polls the SQLite file; 20 ms keeps the test quick.
      server = await startTestServer({
        storeURL: 'sqlite:{dir}/keycard.db?revocationPollIntervalMs=20',
        flags: { preset },
      });
      store = `sqlite:${join(server.dir, 'keycard.db')}`;
      elsewhere = mkdtempSync(join(tmpdir(), 'keycard-cli-elsewhere-'));
      await server.keycard.users.create({ username: 'alice', password: PASSWORD });
    });
    after(async () => {
      await server?.close();
      rmSync(elsewhere, { recursive: true, force: true });
    });

    const refused = async (held: Held, label: string) => {
      await eventually(async () => (await held.use()).status === 401, `${label}: the credential is refused`);
      const refresh = await held.refresh();
      assert.equal(refresh.status, 401, `${label}: refresh → ${refresh.status} ${refresh.text}`);
    };

    test('user block', async () => {
      const held = await signIn(server, password);
      assert.notEqual((await held.use()).status, 401, 'alive before');
      const result = await runCLI(['user', 'block', 'alice', '--store', store], { cwd: elsewhere });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^blocked alice; ended their 1 login\n$/);
      await refused(held, 'block');
      const unblock = await runCLI(['user', 'unblock', 'alice', '--store', store], { cwd: elsewhere });
      assert.equal(unblock.code, 0, unblock.stderr);
    });

    test('user passwd', async () => {
      const held = await signIn(server, password);
      const result = await runCLI(['user', 'passwd', 'alice', '--password-stdin', '--store', store], {
        cwd: elsewhere,
        stdin: `${NEW_PASSWORD}\n`,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /ended their 1 login/);
      password = NEW_PASSWORD;
      await refused(held, 'passwd');
    });

    test('sessions revoke (all of them, and one by id)', async () => {
      const held = await signIn(server, password);
      const result = await runCLI(['sessions', 'revoke', 'alice', '--store', store], { cwd: elsewhere });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^alice: ended their 1 login\n$/);
      await refused(held, 'sessions revoke');

      const one = await signIn(server, password);
      const [login] = await server.keycard.logins.listForUser(
        (await server.keycard.users.findByUsername('alice'))?.id ?? '',
      );
      assert.ok(login);
      const single = await runCLI(['sessions', 'revoke', 'alice', '--session', login.id, '--store', store], {
        cwd: elsewhere,
      });
      assert.equal(single.code, 0, single.stderr);
      await refused(one, 'sessions revoke --session');
    });

    test('with nothing to end, the message says so', async () => {
      const result = await runCLI(['sessions', 'revoke', 'alice', '--store', store], { cwd: elsewhere });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'alice: they had no logins to end\n');
    });
  });
}
