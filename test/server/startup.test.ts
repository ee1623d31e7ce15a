/**
 * What `keycard serve` does at start-up (issue 13): one log line says what it runs — preset, strategy,
 * transport, store (redacted), key file, trusted origins — and development keys reach the disk only once
 * every other start-up check has passed, so a start that fails leaves no key file behind.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  generateKeyFile,
  loadServerConfig,
  type ServerDependencies,
  serializeKeyFile,
  startServer,
} from '../../src/server/index.js';
import { postgresSkipReason, postgresURL, schemaScope } from '../helpers/postgres-schemas.js';

const root = mkdtempSync(join(tmpdir(), 'keycard-startup-'));
after(() => rmSync(root, { recursive: true, force: true }));
const freshDir = (): string => mkdtempSync(join(root, 'case-'));
const pgSkip = await postgresSkipReason();
const schemas = pgSkip ? undefined : schemaScope();

interface LogEntry {
  msg: string;
  [field: string]: unknown;
}

async function start(flags: Record<string, unknown>, dir = freshDir(), deps: ServerDependencies = {}) {
  const lines: string[] = [];
  const config = loadServerConfig({
    flags: {
      port: '0',
      host: '127.0.0.1',
      store: `sqlite:${join(dir, 'keycard.db')}`,
      keys: join(dir, 'keys.json'),
      ...flags,
    },
    env: {},
  });
  const server = await startServer(config, { logStream: { write: (line) => lines.push(line) }, ...deps });
  after(() => server.close());
  const entries = lines.map((line) => JSON.parse(line) as LogEntry);
  return { server, lines, entries, dir };
}

/** A loopback port that refuses connections (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe('the start-up line', () => {
  test('says preset, strategy, transport, store, key file and trusted origins, in one line', async () => {
    const { entries, dir } = await start({});
    const lines = entries.filter((entry) => entry.msg.startsWith('keycard serve: '));
    assert.equal(lines.length, 1);
    const [line] = lines as [LogEntry];
    const keys = join(dir, 'keys.json');
    assert.equal(
      line.msg,
      `keycard serve: preset web-app, strategy session, transport cookie, store sqlite:${join(dir, 'keycard.db')}, key file ${keys}, trusted origins none, development`,
    );
    assert.equal(line.preset, 'web-app');
    assert.equal(line.strategy, 'session');
    assert.equal(line.transport, 'cookie');
    assert.deepEqual(line.trustedOrigins, []);
    // After Fastify's own "listening" line: the server is up when it is read.
    const listening = entries.findIndex((entry) => entry.msg.startsWith('Server listening at '));
    assert.ok(listening !== -1 && listening < entries.indexOf(line));
  });

  test('names what the preset and flags chose, and shows the store URL without its password', {
    skip: pgSkip,
  }, async () => {
    const password = `pw-${Math.random().toString(36).slice(2, 10)}`;
    // Trust authentication: the server never asks for the password, so any will do.
    const url = postgresURL({ schema: schemas?.fresh() ?? '' }).replace('postgres@', `postgres:${password}@`);
    const { entries, lines } = await start({
      preset: 'api',
      'trusted-origin': ['https://app.example.com', 'https://admin.example.com'],
      store: url,
    });
    const line = entries.find((entry) => entry.msg.startsWith('keycard serve: ')) as LogEntry;
    assert.match(
      line.msg,
      /^keycard serve: preset api, strategy jwt, transport header, store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/test\?schema=\w+, key file .*keys\.json, trusted origins https:\/\/app\.example\.com https:\/\/admin\.example\.com, development$/,
    );
    assert.deepEqual(line.trustedOrigins, ['https://app.example.com', 'https://admin.example.com']);
    // guards: the store password in the start-up line (or anywhere in the log)
    assert.ok(!lines.join('\n').includes(password));
  });

  test('a preset that picks the hybrid strategy says so', async () => {
    const { entries } = await start({ preset: 'spa' });
    const line = entries.find((entry) => entry.msg.startsWith('keycard serve: ')) as LogEntry;
    assert.match(line.msg, /^keycard serve: preset spa, strategy hybrid, transport cookie, /);
  });
});

describe('development keys are written only once every other start-up check has passed', () => {
  /** Starts with `flags`, expects the start to fail, and returns the error. */
  async function failedStart(flags: Record<string, unknown>, dir: string): Promise<Error> {
    try {
      const { server } = await start(flags, dir);
      await server.close();
    } catch (error) {
      return error as Error;
    }
    assert.fail('the start was expected to fail');
  }

  test('a store that cannot be reached leaves no key file', async () => {
    const dir = freshDir();
    const port = await closedPort();
    const error = await failedStart({ store: `redis://127.0.0.1:${port}` }, dir);
    assert.equal((error as { code?: string }).code, 'store_unavailable');
    // guards: a key file generated by a start that then failed
    assert.equal(existsSync(join(dir, 'keys.json')), false);
  });

  test('a bad option leaves no key file', async () => {
    const dir = freshDir();
    // Accepted by the settings loader, refused when the keycard is built (after the keys were prepared).
    const error = await failedStart({ 'trusted-origin': ['https://app.example.com/path'] }, dir);
    assert.match(
      error.message,
      /trustedOrigins: 'https:\/\/app\.example\.com\/path' must be scheme:\/\/host/,
    );
    assert.equal(existsSync(join(dir, 'keys.json')), false);
  });

  test('a port that is taken leaves no key file', async () => {
    const dir = freshDir();
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    after(() => taken.close());
    const error = await failedStart({ port: String((taken.address() as { port: number }).port) }, dir);
    assert.equal((error as { code?: string }).code, 'EADDRINUSE');
    assert.equal(existsSync(join(dir, 'keys.json')), false);
  });

  test('a key file completed with a signing key gets its old text back when the start fails', async () => {
    const dir = freshDir();
    const path = join(dir, 'keys.json');
    const file = generateKeyFile();
    file.signingKeys = [];
    const text = serializeKeyFile(file);
    writeFileSync(path, text, { mode: 0o600 });
    // The jwt strategy needs a signing key; in development one is added to the file.
    await failedStart({ strategy: 'jwt', store: `redis://127.0.0.1:${await closedPort()}` }, dir);
    assert.equal(readFileSync(path, 'utf8'), text);
    await failedStart({ strategy: 'jwt', 'trusted-origin': ['not an origin'] }, dir);
    assert.equal(readFileSync(path, 'utf8'), text);
    // A start that succeeds does complete it.
    const { entries } = await start({ strategy: 'jwt' }, dir);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).signingKeys.length, 1);
    assert.ok(entries.some((entry) => /^generated development keys \(signing key\) in /.test(entry.msg)));
  });

  test('a key file another process created meanwhile is left as it is, and this start fails', async () => {
    const dir = freshDir();
    const path = join(dir, 'keys.json');
    const theirs = serializeKeyFile(generateKeyFile());
    // The first admin's password is read after the keys were prepared and before they are saved: the
    // moment another instance starting in the same directory could write the file.
    const error = await start({ 'admin-username': 'admin', 'admin-password-file': '-' }, dir, {
      readAdminPassword: async () => {
        writeFileSync(path, theirs, { mode: 0o600 });
        return 'correct-Horse-7731-battery';
      },
    }).then(
      async ({ server }) => {
        await server.close();
        assert.fail('started');
      },
      (caught: Error) => caught,
    );
    assert.equal(
      error.message,
      `key file ${path}: was created by another process while this one started; start again to use it`,
    );
    // guards: overwriting keys another instance may already sign with
    assert.equal(readFileSync(path, 'utf8'), theirs);
  });

  test('a key file that cannot be written fails the start in one line', async () => {
    const dir = freshDir();
    const error = await start({ keys: join(dir, 'no-such-directory', 'keys.json') }, dir).then(
      async ({ server }) => {
        await server.close();
        assert.fail('started');
      },
      (caught: Error) => caught,
    );
    assert.match(
      error.message,
      /^key file .*keys\.json: cannot be written \(ENOENT\): check that its directory exists and is writable$/,
    );
  });

  test('a start that succeeds writes the generated keys, private to the user', async () => {
    const { dir, entries } = await start({});
    const path = join(dir, 'keys.json');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.ok(
      entries.some((entry) =>
        entry.msg.startsWith(`generated development keys (secret, signing key) in ${path}`),
      ),
    );
  });
});
