/**
 * `keycard serve --store redis+sentinel://…` through a failover: a private primary, replica and Sentinel
 * (all `redis-server`), two servers on them — one with the default durability, one with
 * `durability=replicated` — under traffic, and the primary SIGKILLed in the middle of it. Every answer
 * is recorded: a live session gets 200 or 503, a logged-out or blocked one 401 or 503, never 200; the
 * servers fail closed (503) while there is no primary and serve again from the promoted replica without a
 * restart; and on the `replicated` server no logout that was answered 200 is undone by the failover.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { Client, request } from '../helpers/http.js';
import {
  type PrivateSentinelGroup,
  redisBinariesSkipReason,
  startPrivateSentinel,
  waitForReplicas,
} from '../helpers/redis-servers.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { uniqueName } from '../helpers/services.js';

const skip = await redisBinariesSkipReason();

const ALICE = { json: { username: 'alice', password: 'alice-password' } };
const BOB = { json: { username: 'bob', password: 'bob-password' } };

const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

/** What the traffic saw: counts per label and status, and every answer that must never happen. */
class Traffic {
  readonly counts = new Map<string, number>();
  readonly wrong: string[] = [];
  private readonly loops: Promise<void>[] = [];
  private stopped = false;

  count(label: string, status: number): number {
    return this.counts.get(`${label} ${status}`) ?? 0;
  }

  /** Repeats `step` until stopped; `allowed` lists the statuses that are a right answer for `label`. */
  run(label: string, allowed: number[], step: () => Promise<number | null>): void {
    this.loops.push(
      (async () => {
        while (!this.stopped) {
          const status = await step().catch((error: Error) => {
            this.wrong.push(`${label}: ${error.message}`);
            return null;
          });
          if (status !== null) {
            this.counts.set(`${label} ${status}`, this.count(label, status) + 1);
            if (!allowed.includes(status)) this.wrong.push(`${label}: ${status}`);
          }
          await pause();
        }
      })(),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

describe('keycard serve through Sentinel: the primary killed mid-traffic', { skip }, () => {
  let group: PrivateSentinelGroup;
  let plain: TestServer;
  let replicated: TestServer;

  before(async () => {
    group = await startPrivateSentinel();
    plain = await startTestServer({ storeURL: `${group.url}?prefix=${uniqueName('kcplain')}` });
    replicated = await startTestServer({
      storeURL: `${group.url}?prefix=${uniqueName('kcrepl')}&durability=replicated&replicationTimeoutMs=1000`,
    });
    for (const server of [plain, replicated]) {
      await server.keycard.users.create({ username: 'alice', password: 'alice-password' });
      await server.keycard.users.create({ username: 'bob', password: 'bob-password' });
    }
  });
  after(async () => {
    await plain?.close();
    await replicated?.close();
    await group?.stop();
  });

  test('fails closed during the switch, never accepts a revoked login, and recovers with no restart', async () => {
    // Before the crash, on the default server: live sessions, a logged-out one and a blocked user's.
    const live = [new Client(plain.url), new Client(plain.url)];
    for (const client of live) assert.equal((await client.post('/auth/login', ALICE)).status, 200);
    const loggedOut = new Client(plain.url);
    assert.equal((await loggedOut.post('/auth/login', ALICE)).status, 200);
    const loggedOutCookie = loggedOut.cookieHeader() as string;
    assert.equal((await loggedOut.post('/auth/logout')).status, 200);
    const blocked = new Client(plain.url);
    assert.equal((await blocked.post('/auth/login', BOB)).status, 200);
    const bob = await plain.keycard.users.findByUsername('bob');
    assert.ok(bob);
    await plain.keycard.users.block(bob.id);
    // The default durability acknowledges before the replica has a write: make sure it has these.
    await waitForReplicas(group.primary.port);

    const traffic = new Traffic();
    for (const [i, client] of live.entries()) {
      traffic.run(`live ${i}`, [200, 503], async () => (await client.get('/auth/me')).status);
    }
    for (const [label, cookie] of [
      ['logged out', loggedOutCookie],
      ['blocked', blocked.cookieHeader() as string],
    ]) {
      traffic.run(
        label as string,
        [401, 503],
        async () => (await request(plain.url, 'GET', '/auth/me', {}, cookie)).status,
      );
    }
    // On the replicated server: log in, check, log out, and replay every logout answered 200.
    const revoked: string[] = [];
    traffic.run('churn login', [200, 503], async () => {
      const client = new Client(replicated.url);
      const login = await client.post('/auth/login', ALICE);
      if (login.status !== 200) return login.status;
      const cookie = client.cookieHeader() as string;
      const logout = await client.post('/auth/logout');
      if (logout.status === 200) revoked.push(cookie);
      else if (logout.status !== 503) traffic.wrong.push(`churn logout: ${logout.status}`);
      return login.status;
    });
    traffic.run('replayed logout', [401, 503], async () => {
      const cookie = revoked[Math.floor(Math.random() * revoked.length)];
      return cookie === undefined
        ? null
        : (await request(replicated.url, 'GET', '/auth/me', {}, cookie)).status;
    });

    try {
      await eventually(
        () => traffic.count('live 0', 200) > 0 && revoked.length > 0,
        'traffic on both servers before the crash',
      );
      await group.primary.kill();
      // Fail closed while there is no primary …
      await eventually(
        () => traffic.count('live 0', 503) > 0 && traffic.count('churn login', 503) > 0,
        '503 on both servers',
      );
      await eventually(
        async () => (await request(plain.url, 'GET', '/readyz')).status === 503,
        '/readyz 503',
        {
          timeoutMs: 30_000,
        },
      );
      // … then the promoted replica, found through Sentinel by the running servers.
      const served = { live: traffic.count('live 0', 200), churn: traffic.count('churn login', 200) };
      await eventually(
        async () => (await group.primaryPort()) === group.replica.port,
        'Sentinel to promote',
        {
          timeoutMs: 30_000,
          ignoreErrors: true,
        },
      );
      await eventually(
        () =>
          traffic.count('live 0', 200) > served.live &&
          traffic.count('live 1', 200) > 0 &&
          traffic.count('churn login', 200) > served.churn,
        'both servers to serve again',
        { timeoutMs: 30_000 },
      );
    } finally {
      await traffic.stop();
    }
    assert.deepEqual(traffic.wrong, [], 'no wrong answer at any point');
    assert.ok(traffic.count('logged out', 401) > 0 && traffic.count('blocked', 401) > 0);

    // Recovered: the default server takes new logins and logouts on the new primary.
    assert.equal((await request(plain.url, 'GET', '/readyz')).status, 200);
    const after = new Client(plain.url);
    assert.equal((await after.post('/auth/login', ALICE)).status, 200);
    const cookie = after.cookieHeader() as string;
    assert.equal((await after.post('/auth/logout')).status, 200);
    assert.equal((await request(plain.url, 'GET', '/auth/me', {}, cookie)).status, 401);
    // The replicated server logs in too, but a logout needs a replica, and the new primary has none yet:
    // it fails closed rather than report a logout a second failover could undo.
    const unreplicated = new Client(replicated.url);
    assert.equal((await unreplicated.post('/auth/login', ALICE)).status, 200);
    const refused = await unreplicated.post('/auth/logout');
    assert.equal(refused.status, 503);
    assert.equal(refused.json.error.code, 'store_unavailable');
  });
});
