/**
 * Abuse suite: a Redis store URL's password never shows on the sign-in page, in the log or in CLI output,
 * with the store reachable, unreachable or refusing the password; and the first-run command the server
 * prints still works. Redis runs as a private redis-server with `requirepass`, so the password in the URL
 * is the one that opens it. The PostgreSQL counterpart is credentials-postgres.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { storeUnavailable } from '../../src/core/errors.js';
import type { Store } from '../../src/index.js';
import { loadServerConfig, startServer } from '../../src/server/index.js';
import { openStore } from '../../src/stores/index.js';
import { tempDir } from '../cli/helpers.js';
import { eventually } from '../helpers/eventually.js';
import { request } from '../helpers/http.js';
import { type PrivateRedis, redisBinariesSkipReason, startPrivateRedis } from '../helpers/redis-servers.js';
import { uniqueName } from '../helpers/services.js';
import {
  assertNoSecret,
  closedPort,
  failuresShowNoPassword,
  firstRunShowsNoPassword,
  uniquePassword,
} from './store-credentials.js';

const skip = await redisBinariesSkipReason();
const PASSWORD = uniquePassword('S3cretPw');
const WRONG_PASSWORD = uniquePassword('Wr0ngPw');

describe('a Redis store URL with a password (redis-server with requirepass)', { skip }, () => {
  let redis: PrivateRedis;
  before(async () => {
    redis = await startPrivateRedis();
    // Set once it answers: the helper's readiness check is a PING without a password.
    const client = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true });
    await client.connect();
    await client.config('SET', 'requirepass', PASSWORD);
    client.disconnect();
  });
  after(async () => {
    await redis?.stop();
  });
  const url = (password: string, options: { user?: string; port?: number } = {}): string =>
    `redis://${options.user ?? ''}:${password}@127.0.0.1:${options.port ?? redis.port}?prefix=${uniqueName('kc_creds')}`;

  // guards: the first-run notice printing redis://:PASSWORD@… on the public page and in the log
  test('given by --store: never on the sign-in page, in the log or in CLI output; the printed command works', async (t) => {
    await firstRunShowsNoPassword(url(PASSWORD), tempDir(t), 'flag', [PASSWORD]);
  });

  test('with a user name (the ACL form), given by KEYCARD_STORE: the same', async (t) => {
    await firstRunShowsNoPassword(url(PASSWORD, { user: 'default' }), tempDir(t), 'env', [PASSWORD]);
  });

  test('unreachable (a closed port), or refusing a wrong password: failures show neither password', async (t) => {
    await failuresShowNoPassword(url(PASSWORD, { port: await closedPort() }), tempDir(t), [PASSWORD]);
    await failuresShowNoPassword(url(WRONG_PASSWORD), tempDir(t), [WRONG_PASSWORD, PASSWORD]);
  });

  // guards: a driver error that carries the connection string (as Node's URL errors do in `input`, and
  // ioredis's in `command.args`) reaching the log through the error handler's `err`
  test('a driver error that quotes the URL or the password is logged without the password', async (t) => {
    const storeURL = url(PASSWORD);
    const real = await openStore(storeURL);
    const driverError = Object.assign(new Error(`cannot use ${storeURL}`), {
      input: storeURL,
      command: { name: 'auth', args: [PASSWORD] },
    });
    // The real store, whose user count fails (once the server has started) the way a driver failure
    // reaches keycard.
    let broken = false;
    const failing = new Proxy(real, {
      get(target, property, receiver) {
        if (property === 'countUsers' && broken) {
          return () => Promise.reject(storeUnavailable('redis', driverError));
        }
        return Reflect.get(target, property, receiver);
      },
    }) as Store;
    const dir = tempDir(t);
    const lines: string[] = [];
    const config = loadServerConfig({
      flags: {
        port: '0',
        host: '127.0.0.1',
        store: storeURL,
        keys: join(dir, 'keys.json'),
        'log-level': 'info',
      },
      env: {},
    });
    const server = await startServer(config, {
      store: failing,
      logStream: { write: (line) => lines.push(line) },
    });
    try {
      broken = true;
      const page = await request(server.url, 'GET', '/login');
      assert.equal(page.status, 503);
      await eventually(() => lines.some((line) => /store unavailable/.test(line)), 'the error in the log');
    } finally {
      await server.close();
    }
    const log = lines.join('');
    assertNoSecret({ 'the server log': log }, [PASSWORD]);
    // The entry is there with the driver's fields, only without the password.
    assert.match(log, /"input":"redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\?prefix=/);
    assert.match(log, /"args":\["\*\*\*"\]/);
  });
});
