/**
 * Two server instances on one store share their throttle counters: failures spread across both count as
 * one, and both refuse once the limit is reached. On one SQLite file, and on the shared Redis.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { ManualClock } from '../helpers/clock.js';
import { request } from '../helpers/http.js';
import { deleteKeysWithPrefix } from '../helpers/redis-servers.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { REDIS_URL, redisSkipReason, uniqueName } from '../helpers/services.js';

const PASSWORD = 'tulip-Quartz-7781-harbor';

const redisSkip = await redisSkipReason();

const login = (server: TestServer, username: string, password: string) =>
  request(server.url, 'POST', '/auth/login', { json: { username, password } });

/**
 * Alternates failures between the instances: the address limit (20 in 15 minutes) and a pair's wait are
 * reached only if each instance sees the other's failures.
 */
async function sharedCounters(a: TestServer, b: TestServer, clock: ManualClock): Promise<void> {
  await a.keycard.users.create({ username: 'alice', password: PASSWORD });
  // A pair's wait: failures alternate between the instances; after the free five each one starts a wait
  // (1 s, 2 s, 4 s, 8 s) that the next attempt, on the other instance, has to respect.
  let failures = 0;
  let wait = 0;
  while (wait < 8) {
    failures++;
    const reply = await login(failures % 2 ? a : b, 'alice', `wrong-${failures}`);
    if (failures <= 5) {
      assert.equal(reply.status, 401, `failure ${failures}`);
      continue;
    }
    assert.equal(reply.status, 429, `failure ${failures}`);
    wait = Number(reply.headers['retry-after']);
    const other = await login(failures % 2 ? b : a, 'alice', PASSWORD);
    assert.equal(other.status, 429, `failure ${failures}: the other instance enforces the wait`);
    assert.equal(other.json.error.code, 'too_many_requests');
    if (wait < 8) clock.advanceSeconds(wait);
  }
  assert.equal(failures, 9);
  clock.advanceSeconds(wait);
  assert.equal((await login(a, 'alice', PASSWORD)).status, 200, 'allowed once the wait is over');
  // The address limit (20 in 15 minutes): 11 more failures on other accounts, alternating, make 20.
  for (let i = 1; i <= 10; i++) {
    assert.equal((await login(i % 2 ? a : b, `user${i}`, 'wrong')).status, 401, `user${i}`);
  }
  const twentieth = await login(b, 'user11', 'wrong');
  assert.equal(twentieth.status, 429, 'the twentieth failure from this address');
  const onA = await login(a, 'alice', PASSWORD);
  assert.equal(onA.status, 429, 'instance a refuses the address b saw fail');
  assert.ok(Number(onA.headers['retry-after']) > 60, `Retry-After ${onA.headers['retry-after']}`);
}

describe('throttle counters shared by two instances on one SQLite file', () => {
  const clock = new ManualClock(Date.now());
  const dir = mkdtempSync(join(tmpdir(), 'keycard-shared-'));
  const servers: TestServer[] = [];
  after(async () => {
    for (const server of servers) await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('failures on either instance count together', async () => {
    const storeURL = `sqlite:${join(dir, 'shared.db')}`;
    servers.push(await startTestServer({ clock, storeURL }));
    servers.push(await startTestServer({ clock, storeURL }));
    const [a, b] = servers as [TestServer, TestServer];
    await sharedCounters(a, b, clock);
  });
});

describe('throttle counters shared by two instances on Redis', { skip: redisSkip }, () => {
  // Redis also expires counter keys in real time (PEXPIRE): the waits checked here are seconds long in
  // real time too, and each check follows the failure that started it within milliseconds.
  const clock = new ManualClock(Date.now());
  const prefix = uniqueName('kcthrottle');
  const servers: TestServer[] = [];
  after(async () => {
    for (const server of servers) await server.close();
    const client = new Redis(REDIS_URL);
    await deleteKeysWithPrefix(client, prefix);
    client.disconnect();
  });

  test('failures on either instance count together', async () => {
    const url = new URL(REDIS_URL);
    url.searchParams.set('prefix', prefix);
    servers.push(await startTestServer({ clock, storeURL: url.toString() }));
    servers.push(await startTestServer({ clock, storeURL: url.toString() }));
    const [a, b] = servers as [TestServer, TestServer];
    await sharedCounters(a, b, clock);
  });
});
