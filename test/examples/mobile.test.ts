/**
 * examples/mobile as its README runs it: `app.ts` as a child process per command — each run a cold start
 * of the "app" — against `keycard serve --preset mobile` (header transport, rotating refresh tokens). The
 * login is kept in a 0600 file between runs; a run after the access token expired (the server's clock
 * moved on) refreshes, rotating the stored refresh token; sign-out deletes the file and ends the login.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { StoredTokens } from '../../src/client/index.js';
import { ManualClock } from '../helpers/clock.js';
import { type CommandResult, runCommand } from '../helpers/command.js';
import { request } from '../helpers/http.js';
import { childEnvironment, ROOT } from '../helpers/runtimes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const APP = fileURLToPath(new URL('../../examples/mobile/app.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
/** The mobile preset's access tokens live 15 minutes; the verifier allows a little clock skew beyond. */
const PAST_EXPIRY_SECONDS = 15 * 60 + 120;

const clock = new ManualClock(Date.now());
let server: TestServer;
let dir: string;
let tokensFile: string;

before(async () => {
  server = await startTestServer({ clock, flags: { preset: 'mobile' } });
  await server.keycard.users.create({ username: 'alice', password: 'alice-password' });
  dir = mkdtempSync(join(tmpdir(), 'keycard-mobile-'));
  tokensFile = join(dir, 'tokens.json');
});
after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function runApp(args: string[], env: Record<string, string> = {}): Promise<CommandResult> {
  return runCommand(process.execPath, ['--import', TSX, '--conditions=source', APP, ...args], {
    cwd: ROOT,
    env: childEnvironment({ KEYCARD_URL: server.url, TOKENS_FILE: tokensFile, ...env }),
  });
}

function storedTokens(): StoredTokens {
  return JSON.parse(readFileSync(tokensFile, 'utf8')) as StoredTokens;
}

const refreshes = () => server.events.filter((event) => event.type === 'token_refreshed').length;

test('a wrong password is refused and leaves no tokens file', async () => {
  const run = await runApp(['login', 'alice'], { PASSWORD: 'wrong-password' });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /^invalid_credentials: /m);
  assert.equal(existsSync(tokensFile), false);
});

test('sign in, restart and call, restart after expiry and call (one refresh), sign out', async () => {
  const login = await runApp(['login', 'alice'], { PASSWORD: 'alice-password' });
  assert.equal(login.code, 0, login.stderr);
  assert.equal(login.stdout, 'signed in as alice\n');
  assert.equal(statSync(tokensFile).mode & 0o777, 0o600, 'only the owner may read the tokens file');
  const first = storedTokens();
  assert.equal(typeof first.refreshToken, 'string');

  // A new process: the stored access token is still valid, so no refresh.
  const me = await runApp(['me']);
  assert.equal(me.code, 0, me.stderr);
  assert.equal(me.stdout, 'signed in as alice (user)\n');
  assert.equal(refreshes(), 0);
  assert.deepEqual(storedTokens(), first);

  // The access token expired while the app was closed: the next run refreshes once and rotates.
  clock.advanceSeconds(PAST_EXPIRY_SECONDS);
  const later = await runApp(['me']);
  assert.equal(later.code, 0, later.stderr);
  assert.equal(later.stdout, 'signed in as alice (user)\n');
  assert.equal(refreshes(), 1);
  const second = storedTokens();
  assert.notEqual(second.refreshToken, first.refreshToken);
  assert.notEqual(second.accessToken, first.accessToken);
  assert.equal(statSync(tokensFile).mode & 0o777, 0o600);

  const logout = await runApp(['logout']);
  assert.equal(logout.code, 0, logout.stderr);
  assert.equal(logout.stdout, 'signed out\n');
  assert.equal(existsSync(tokensFile), false, 'sign-out deletes the tokens file');
  // The login ended on the server too: its last refresh token is refused.
  const replay = await request(server.url, 'POST', '/auth/refresh', {
    json: { refresh_token: second.refreshToken },
  });
  assert.equal(replay.status, 401, replay.text);

  const signedOut = await runApp(['me']);
  assert.equal(signedOut.code, 1);
  assert.match(signedOut.stderr, /^not signed in: run login first$/m);
});

test('usage errors exit with 2', async () => {
  const run = await runApp(['login', 'alice']); // no PASSWORD
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^usage: /m);
});
