/**
 * keycard as a new user gets it: `npm i keycard` (the checkout packed with `npm pack`, installed into an
 * empty app, nothing else) and then the CLI and the server run from that app — `npx keycard --help`,
 * `user add`, `user list`, `serve` on the default SQLite store answering /healthz and a login of the user
 * added — plus the one line a store whose driver is not installed gives.
 *
 * guards: issue 13 — every command, `--help` included, crashed with ERR_MODULE_NOT_FOUND: fastify and a
 * stack trace, because the server's framework and the default store's driver were optional peers that
 * `npm i keycard` does not install.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { Client } from '../helpers/http.js';
import { type CommandResult, type PackedApp, packedApp } from '../helpers/packed.js';

const PASSWORD = 'correct horse battery';
/** A line of a JavaScript stack trace, as Node prints one. */
const STACK_LINE = /^\s+at /m;

let app: PackedApp;

before(
  async () => {
    app = await packedApp();
  },
  // Packing builds the package and installing compiles better-sqlite3: minutes, once per run.
  { timeout: 1_800_000 },
);
after(() => app?.remove());

/** One line on stderr, exit 1, nothing that looks like a stack trace. */
function assertOneLine(result: CommandResult): string {
  assert.equal(result.code, 1, `exit code ${result.code}; stderr: ${result.stderr}`);
  assert.doesNotMatch(result.stderr, STACK_LINE, 'no stack trace');
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  return lines[0] as string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address && typeof address === 'object');
  return address.port;
}

test('npm i keycard installs the server framework and the default store, and no other store driver', () => {
  const installed = (name: string) => existsSync(join(app.dir, 'node_modules', name, 'package.json'));
  const manifest = JSON.parse(readFileSync(join(app.dir, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  assert.deepEqual(Object.keys(manifest.dependencies), ['keycard'], 'the app asked for keycard only');
  assert.equal(installed('fastify'), true, 'fastify (keycard serve)');
  assert.equal(installed('better-sqlite3'), true, 'better-sqlite3 (the default store)');
  const sqlite = JSON.parse(
    readFileSync(join(app.dir, 'node_modules/better-sqlite3/package.json'), 'utf8'),
  ) as { version: string };
  assert.match(sqlite.version, /^12\./, 'better-sqlite3 12: 13 needs Node 22');
  for (const driver of ['ioredis', 'pg', 'mongodb', 'express']) {
    assert.equal(installed(driver), false, `${driver} is an optional peer, not installed`);
  }
});

test('npx keycard --help prints the usage and exits 0', async () => {
  const result = await app.run('npx', ['keycard', '--help']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.match(result.stdout, /^Usage: keycard <command>/);
  assert.match(result.stdout, /serve[\s\S]*user add/);
});

test('user add (password on stdin), user list, then serve on the default SQLite store: /healthz and a login', async (t) => {
  const added = await app.run(
    'npx',
    ['keycard', 'user', 'add', 'alice', '--role', 'admin', '--password-stdin'],
    {
      input: `${PASSWORD}\n`,
    },
  );
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /^created user alice \(role admin, id [A-Za-z0-9_-]+\)\n$/);
  assert.equal(existsSync(join(app.dir, 'keycard.db')), true, 'the default store is ./keycard.db in the app');

  const listed = await app.run('npx', ['keycard', 'user', 'list']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^USERNAME\s+ROLE\s+STATUS\s+CREATED\nalice\s+admin\s+active\s/);

  const port = await freePort();
  const server = app.start('npx', ['keycard', 'serve'], { env: { PORT: String(port) } });
  t.after(() => server.stop());
  const url = `http://localhost:${port}`;
  const client = new Client(url);
  await eventually(async () => (await client.get('/healthz')).status === 200, 'keycard serve to answer', {
    timeoutMs: 60_000,
    intervalMs: 100,
    ignoreErrors: true,
  });
  assert.deepEqual((await client.get('/healthz')).json, { status: 'ok' });

  // A login as a same-origin browser makes it: the pre-login CSRF token, then the form's credentials.
  const csrf = await client.get('/auth/csrf');
  assert.equal(csrf.status, 200);
  const login = await client.post('/auth/login', {
    json: { username: 'alice', password: PASSWORD },
    headers: { origin: url, 'x-csrf-token': csrf.json.token },
  });
  assert.equal(login.status, 200, login.text);
  assert.equal(login.json.user.username, 'alice');
  assert.equal(login.json.user.role, 'admin');
  const me = await client.get('/auth/me');
  assert.equal(me.status, 200);
  assert.equal(me.json.user.username, 'alice');

  // A wrong password is refused: the login above was the password's doing.
  const wrong = await new Client(url).post('/auth/login', {
    json: { username: 'alice', password: 'not the password' },
    headers: { origin: url, 'x-csrf-token': (await client.get('/auth/csrf')).json.token },
  });
  assert.notEqual(wrong.status, 200);

  await server.stop();
  assert.doesNotMatch(server.output().stdout + server.output().stderr, STACK_LINE);
});

test('a store whose driver is not installed fails with one line naming the package to install', async () => {
  const cases: [string, string][] = [
    ['redis://127.0.0.1:6379', 'ioredis'],
    ['postgres://postgres@127.0.0.1:5432/test', 'pg'],
    ['mongodb://127.0.0.1:27017/keycard', 'mongodb'],
  ];
  for (const [store, driver] of cases) {
    for (const args of [
      ['keycard', 'serve', '--store', store],
      ['keycard', 'user', 'list', '--store', store],
    ]) {
      const result = await app.run('npx', args, { env: { PORT: '0' } });
      const line = assertOneLine(result);
      assert.match(
        line,
        new RegExp(`^keycard: .*needs the ${driver} package: npm install ${driver}$`),
        args.join(' '),
      );
    }
  }
});

test('without the optional better-sqlite3 (npm i --omit=optional), or with fastify gone, one line says what to install', async (t) => {
  const bare = await packedApp();
  t.after(() => bare.remove());
  // What --omit=optional, or a failed native build, leaves: no better-sqlite3. (The copy's own links go.)
  rmSync(join(bare.dir, 'node_modules/better-sqlite3'), { recursive: true, force: true });
  for (const args of [
    ['keycard', 'user', 'list'],
    ['keycard', 'serve'],
  ]) {
    const result = await bare.run('npx', args, { env: { PORT: '0' } });
    assert.match(
      assertOneLine(result),
      /^keycard: the sqlite store needs the better-sqlite3@12 package: npm install better-sqlite3@12$/,
      args.join(' '),
    );
  }
  // Every other store still works without it.
  const memory = await bare.run('npx', ['keycard', 'user', 'list', '--store', 'memory:']);
  assert.equal(memory.code, 0, memory.stderr);

  // A command loads only what it needs: --help and user commands work even if the server's framework is
  // gone, and serve names it.
  rmSync(join(bare.dir, 'node_modules/fastify'), { recursive: true, force: true });
  const help = await bare.run('npx', ['keycard', '--help']);
  assert.equal(help.code, 0, help.stderr);
  const serve = await bare.run('npx', ['keycard', 'serve', '--store', 'memory:'], { env: { PORT: '0' } });
  assert.match(
    assertOneLine(serve),
    /^keycard: the package 'fastify' is not installed; install it with: npm install fastify$/,
  );
});
