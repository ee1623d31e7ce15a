/**
 * Faults and hostile input: a store that cannot be used gives 503 (never 200, never a crash) and the
 * server recovers by itself; nothing a client sends can crash it.
 */
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { eventually } from '../helpers/eventually.js';
import { Client, request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('server: store faults', () => {
  let server: TestServer;
  let dbPath: string;

  before(async () => {
    server = await startTestServer({
      storeURL: 'sqlite:{dir}/keycard.db?fileCheckIntervalMs=20&busyTimeoutMs=20',
    });
    dbPath = join(server.dir, 'keycard.db');
    await server.keycard.users.create({ username: 'alice', password: 'alice-password' });
  });
  after(async () => {
    await server?.close();
  });

  test('a database file that goes away → 503 on protected routes and /readyz, then recovery', async () => {
    const client = new Client(server.url);
    assert.equal(
      (await client.post('/auth/login', { json: { username: 'alice', password: 'alice-password' } })).status,
      200,
    );
    assert.equal((await request(server.url, 'GET', '/readyz')).status, 200);

    renameSync(dbPath, `${dbPath}.away`);
    await eventually(
      async () => (await request(server.url, 'GET', '/readyz')).status === 503,
      '/readyz to report the store',
    );
    const ready = await request(server.url, 'GET', '/readyz');
    assert.equal(ready.json.error.code, 'store_unavailable');
    const me = await client.get('/auth/me');
    assert.equal(me.status, 503);
    assert.equal(me.json.error.code, 'store_unavailable');
    const login = await new Client(server.url).post('/auth/login', {
      json: { username: 'alice', password: 'alice-password' },
    });
    assert.equal(login.status, 503);
    assert.equal(login.setCookies.length, 0);
    assert.equal(
      (await request(server.url, 'GET', '/healthz')).status,
      200,
      'liveness does not depend on the store',
    );

    renameSync(`${dbPath}.away`, dbPath);
    await eventually(
      async () => (await request(server.url, 'GET', '/readyz')).status === 200,
      'the store to come back',
    );
    assert.equal((await client.get('/auth/me')).status, 200, 'the session survived the outage');
  });

  test('a write lock held by another process → 503 for writes, reads go on, then recovery', async () => {
    const locker = new Database(dbPath);
    try {
      locker.exec('BEGIN IMMEDIATE');
      const login = await new Client(server.url).post('/auth/login', {
        json: { username: 'alice', password: 'alice-password' },
      });
      assert.equal(login.status, 503);
      assert.equal(login.json.error.code, 'store_unavailable');
      locker.exec('COMMIT');
    } finally {
      locker.close();
    }
    const login = await new Client(server.url).post('/auth/login', {
      json: { username: 'alice', password: 'alice-password' },
    });
    assert.equal(login.status, 200);
  });
});

describe('server: hostile input', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
    await server.keycard.users.create({ username: 'alice', password: 'alice-password' });
  });
  after(async () => {
    await server?.close();
  });

  test('random requests never get a 5xx and never bring the server down', async () => {
    const paths = [
      '/auth/login',
      '/auth/logout',
      '/auth/me',
      '/auth/sessions',
      '/auth/sessions/x',
      '/auth/logout-all',
      '/auth/admin/users',
      '/',
      '/login',
      '/account',
      '/admin',
      '/nope',
    ];
    const contentTypes = [
      'application/json',
      'application/x-www-form-urlencoded',
      'text/plain',
      'multipart/form-data',
      'application/json; charset=utf-16',
    ];
    const header = fc.string({ maxLength: 200 }).map((value) => value.replace(/[^\t\x20-\x7e]/g, ''));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH'),
        fc.constantFrom(...paths),
        fc.string({ maxLength: 40 }).map(encodeURIComponent),
        fc.constantFrom(...contentTypes),
        fc.oneof(
          fc.string({ maxLength: 500 }),
          fc.json(),
          fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
        ),
        header,
        header,
        async (method, path, suffix, contentType, body, cookie, origin) => {
          const response = await request(server.url, method, `${path}${suffix ? `?q=${suffix}` : ''}`, {
            body: method === 'GET' ? undefined : body,
            headers: { 'content-type': contentType, cookie: `keycard_session=${cookie}`, origin },
          });
          assert.ok(
            response.status < 500,
            `${method} ${path} → ${response.status}: ${response.text.slice(0, 200)}`,
          );
        },
      ),
      { numRuns: 300 },
    );
    assert.equal((await request(server.url, 'GET', '/healthz')).status, 200);
  });

  test('bytes after a `Connection: close` request get no second answer glued to the first', async () => {
    // An unframed body (no Content-Length) on a request that closes the connection: the request is
    // answered once, and the stray bytes are not answered with a 400 written after that response.
    const { port } = new URL(server.url);
    for (const [method, path, status] of [
      ['DELETE', '/auth/login', 404],
      ['GET', '/healthz', 200],
    ] as const) {
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1');
        let data = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => {
          data += chunk;
        });
        socket.on('error', reject);
        socket.on('close', () => resolve(data));
        socket.write(`${method} ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n{"a":1}`);
      });
      assert.equal(raw.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, raw);
      assert.ok(raw.startsWith(`HTTP/1.1 ${status} `), raw);
    }
    assert.equal((await request(server.url, 'GET', '/healthz')).status, 200);
  });

  test('an oversized header section is refused by the HTTP layer and the server stays up', async () => {
    const response = await request(server.url, 'GET', '/auth/me', {
      headers: { cookie: `keycard_session=${'a'.repeat(20_000)}` },
    });
    assert.equal(response.status, 431);
    assert.equal((await request(server.url, 'GET', '/healthz')).status, 200);
  });
});
