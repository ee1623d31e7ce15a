/**
 * `keycard serve --store redis://…` failing closed: a private redis-server (never the shared one) is
 * killed under a running server, which must answer 503 on protected routes and /readyz, keep /healthz
 * and itself up, and serve again by itself once Redis is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { Client, request } from '../helpers/http.js';
import { type PrivateRedis, redisBinariesSkipReason, startPrivateRedis } from '../helpers/redis-servers.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { uniqueName } from '../helpers/services.js';

const skip = await redisBinariesSkipReason();

describe('server on the redis store: faults', { skip }, () => {
  let redis: PrivateRedis;
  let server: TestServer;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  const credentials = { json: { username: 'alice', password: 'alice-password' } };

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    // With an append-only file, so the session written before the outage is still there after it.
    redis = await startPrivateRedis({ persistent: true });
    server = await startTestServer({
      storeURL: `redis://127.0.0.1:${redis.port}/?prefix=${uniqueName('kcserver')}`,
    });
    await server.keycard.users.create({ username: 'alice', password: 'alice-password' });
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server?.close();
    await redis?.stop();
  });

  test('redis killed → 503 on protected routes and /readyz, /healthz 200; back → service resumes', async () => {
    const client = new Client(server.url);
    assert.equal((await client.post('/auth/login', credentials)).status, 200);
    assert.equal((await client.get('/auth/me')).status, 200);
    assert.equal((await request(server.url, 'GET', '/readyz')).status, 200);

    await redis.kill();
    await eventually(
      async () => (await request(server.url, 'GET', '/readyz')).status === 503,
      '/readyz to report the store',
    );
    const ready = await request(server.url, 'GET', '/readyz');
    assert.equal(ready.json.error.code, 'store_unavailable');
    const me = await client.get('/auth/me');
    assert.equal(me.status, 503, 'never 200 without the store');
    assert.equal(me.json.error.code, 'store_unavailable');
    const login = await new Client(server.url).post('/auth/login', credentials);
    assert.equal(login.status, 503);
    assert.equal(login.setCookies.length, 0);
    assert.equal((await request(server.url, 'GET', '/healthz')).status, 200, 'the process is up');

    await redis.restart();
    await eventually(
      async () => (await request(server.url, 'GET', '/readyz')).status === 200,
      'the store to come back',
    );
    const again = await client.get('/auth/me');
    assert.equal(again.status, 200, 'the session from before the outage works again');
    assert.equal(again.json.user.username, 'alice');
    assert.equal((await new Client(server.url).post('/auth/login', credentials)).status, 200);
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  });
});
