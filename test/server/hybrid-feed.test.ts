/**
 * The hybrid strategy's "fail closed" promise (docs/hybrid.md), over real HTTP: two `keycard serve`
 * instances share a store; A's revocation feed connection is cut (Redis `CLIENT KILL ID`, PostgreSQL
 * `pg_terminate_backend`) and kept from coming back while B revokes logins — A must refuse those tokens
 * on the very next request by asking the store, report `unsynced` on /readyz, and once it has
 * resubscribed and reloaded, answer from memory again. With the store down too, A answers 503, never 200,
 * and recovers by itself.
 *
 * The gap is held open by the server, never by a sleep: on a private redis-server an ACL refuses
 * SUBSCRIBE; for PostgreSQL, A reaches the shared server through a small TCP proxy that refuses new
 * connections named after the feed's channel (its pool connections still pass). B is never cut.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { Store } from '../../src/index.js';
import { revocationChannel } from '../../src/stores/postgres/queries.js';
import { openStore } from '../../src/stores/url.js';
import { type CountingStore, countingStore } from '../helpers/counting-store.js';
import { eventually } from '../helpers/eventually.js';
import { Client, type Response, request } from '../helpers/http.js';
import { type FeedGate, startFeedGate } from '../helpers/postgres-feed-gate.js';
import { postgresSkipReason, schemaScope } from '../helpers/postgres-schemas.js';
import { type PrivateRedis, redisBinariesSkipReason, startPrivateRedis } from '../helpers/redis-servers.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { POSTGRES_URL, uniqueName } from '../helpers/services.js';

const redisSkip = await redisBinariesSkipReason();
const postgresSkip = await postgresSkipReason();
const schemas = schemaScope();

const USERS = ['admin', 'alice', 'bob', 'carol', 'dave'] as const;
const password = (username: string) => `${username}-password`;

/** What /readyz says about the revocation feed (undefined when it answers 503). */
async function feedState(server: TestServer): Promise<string | undefined> {
  return (await request(server.url, 'GET', '/readyz')).json?.revocationFeed;
}

/** A and B (in-process `keycard serve`), A on a counting store, sharing one key file. */
async function startPair(
  storeA: Store,
  urlB: string,
  flags: Record<string, unknown>,
): Promise<{ a: TestServer; counting: CountingStore; dir: string; startB(): Promise<TestServer> }> {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-hybrid-feed-'));
  const shared = { ...flags, keys: join(dir, 'keys.json') };
  const counting = countingStore(storeA);
  const a = await startTestServer({ store: counting.store, flags: shared });
  for (const username of USERS) {
    await a.keycard.users.create({
      username,
      password: password(username),
      role: username === 'admin' ? 'admin' : 'user',
    });
  }
  await eventually(async () => (await feedState(a)) === 'synced', 'A synced');
  return {
    a,
    counting,
    dir,
    async startB() {
      const b = await startTestServer({ storeURL: urlB, flags: shared });
      await eventually(async () => (await feedState(b)) === 'synced', 'B synced');
      return b;
    },
  };
}

describe('hybrid over HTTP: redis feed cut on A while B revokes (private redis-server)', {
  skip: redisSkip,
}, () => {
  let redis: PrivateRedis;
  let admin: Redis;
  let a: TestServer;
  let b: TestServer;
  let counting: CountingStore;
  let dir: string;
  let feedA: string;
  let feedB: string;
  const prefix = uniqueName('kcfeed');
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  /** The ids of the feed connections of this prefix (named after it), in CLIENT LIST. */
  async function feedClientIds(): Promise<string[]> {
    const list = (await admin.client('LIST')) as string;
    return list
      .split('\n')
      .filter((line) => line.includes(` name=keycard-revocations:${prefix} `))
      .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1] as string);
  }

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    // Append-only, fsynced: the revocations written before a crash are still there after the restart.
    redis = await startPrivateRedis({ persistent: true });
    admin = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    admin.on('error', () => undefined);
    const url = `redis://127.0.0.1:${redis.port}/?prefix=${prefix}&reconnectMaxDelayMs=100&commandTimeoutMs=2000`;
    const pair = await startPair(await openStore(url), url, { preset: 'spa' });
    ({ a, counting, dir } = pair);
    // A's feed connection is the only one until B starts.
    const before = await feedClientIds();
    assert.equal(before.length, 1);
    feedA = before[0] as string;
    b = await pair.startB();
    const both = await feedClientIds();
    assert.equal(both.length, 2);
    feedB = both.find((id) => id !== feedA) as string;
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await admin?.call('ACL', 'SETUSER', 'default', '+subscribe').catch(() => undefined);
    await a?.close();
    await b?.close();
    admin?.disconnect();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function login(server: TestServer, username: string): Promise<Client> {
    const client = new Client(server.url);
    const response = await client.post('/auth/login', { json: { username, password: password(username) } });
    assert.equal(response.status, 200, response.text);
    return client;
  }
  /** The access cookie alone, sent to `server`'s forward-auth endpoint (a stateless check for hybrid). */
  const verify = (server: TestServer, access: string): Promise<Response> =>
    request(server.url, 'GET', '/auth/verify', {}, `keycard_access=${access}`);
  const accessOf = (client: Client) => client.cookies.get('keycard_access') as string;
  /** The same browser's cookies, on another instance. */
  function on(client: Client, server: TestServer): Client {
    const other = new Client(server.url);
    for (const [name, value] of client.cookies) other.cookies.set(name, value);
    return other;
  }

  // guards: a revocation published while A's feed is down must not let the token through on A
  test('A refuses a logout and a block made on B during its feed gap on the next request, from the store', async () => {
    const alice = await login(a, 'alice');
    const bob = await login(a, 'bob');
    const carol = await login(a, 'carol');
    const [aliceToken, bobToken, carolToken] = [alice, bob, carol].map(accessOf) as [string, string, string];
    const bobId = (await verify(a, bobToken)).json.user.id as string;
    counting.reset();
    for (const token of [aliceToken, bobToken, carolToken])
      assert.equal((await verify(a, token)).status, 200);
    assert.equal(counting.counts.get('isRevoked') ?? 0, 0, 'synced: answered from memory');

    // Cut A's feed and keep it from resubscribing (SUBSCRIBE refused) — B's stays up.
    await admin.call('ACL', 'SETUSER', 'default', '-subscribe');
    try {
      await admin.client('KILL', 'ID', feedA);
      await eventually(async () => (await feedState(a)) === 'unsynced', '/readyz on A to say unsynced');
      assert.ok((await feedClientIds()).includes(feedB), 'B’s feed was not touched');

      // On B, while A hears nothing: alice logs out, the admin blocks bob.
      assert.equal((await on(alice, b).post('/auth/logout')).status, 200);
      const root = await login(b, 'admin');
      assert.equal((await root.post(`/auth/admin/users/${bobId}/block`)).status, 200);

      for (const [name, token] of [
        ['alice (logged out on B)', aliceToken],
        ['bob (blocked on B)', bobToken],
      ] as const) {
        counting.reset();
        const refused = await verify(a, token);
        assert.equal(refused.status, 401, `${name}: refused on the very next request`);
        assert.match(refused.json.error.message, /revoked/);
        assert.equal(counting.counts.get('isRevoked'), 1, `${name}: one store round trip`);
      }
      counting.reset();
      assert.equal((await verify(a, carolToken)).status, 200, 'a live token still works during the gap');
      assert.equal(counting.counts.get('isRevoked'), 1, 'checked with the store, not memory');
      assert.equal(await feedState(a), 'unsynced', 'still unsynced: the gap held for every request above');
    } finally {
      await admin.call('ACL', 'SETUSER', 'default', '+subscribe');
    }

    await eventually(async () => (await feedState(a)) === 'synced', 'A resubscribed and reloaded');
    const ids = await feedClientIds();
    assert.equal(ids.length, 2);
    assert.ok(!ids.includes(feedA), 'A’s feed is a new connection');
    feedA = ids.find((id) => id !== feedB) as string;

    const fresh = accessOf(await login(b, 'alice'));
    counting.reset();
    assert.equal((await verify(a, aliceToken)).status, 401, 'still refused after the resync');
    assert.equal((await verify(a, bobToken)).status, 401, 'still refused after the resync');
    assert.equal((await verify(a, fresh)).status, 200, 'a fresh login made on B works on A');
    assert.equal((await verify(a, carolToken)).status, 200);
    assert.equal(counting.counts.get('isRevoked') ?? 0, 0, 'synced again: all answered from memory');
    assert.equal(counting.reads() + counting.writes(), 0);
    assert.deepEqual(unhandled, []);
  });

  test('store down too: 503 store_unavailable, never 200; redis back: A recovers by itself', async () => {
    const carol = await login(a, 'carol');
    const dave = await login(a, 'dave');
    const [carolToken, daveToken] = [accessOf(carol), accessOf(dave)] as [string, string];
    assert.equal((await on(dave, b).post('/auth/logout')).status, 200);
    await eventually(async () => (await verify(a, daveToken)).status === 401, 'A to hear of the logout');

    await redis.kill();
    // The feed reports its loss (in-process: /readyz answers 503 now, without the feed's state).
    await eventually(() => a.keycard.revocations?.feedState === 'unsynced', 'A unsynced');
    const live = await verify(a, carolToken);
    assert.equal(live.status, 503, 'never 200 when neither the feed nor the store can vouch for the token');
    assert.equal(live.json.error.code, 'store_unavailable');
    const me = await carol.get('/auth/me');
    assert.equal(me.status, 503);
    assert.equal(me.json.error.code, 'store_unavailable');
    assert.equal((await verify(a, daveToken)).status, 401, 'what memory knows is still refused');
    const login503 = await new Client(a.url).post('/auth/login', {
      json: { username: 'alice', password: password('alice') },
    });
    assert.equal(login503.status, 503);
    assert.equal((await request(a.url, 'GET', '/readyz')).status, 503);
    assert.equal((await request(a.url, 'GET', '/healthz')).status, 200, 'A is up');

    await redis.restart();
    await eventually(async () => (await verify(a, carolToken)).status === 200, 'A to serve carol again');
    await eventually(async () => (await feedState(a)) === 'synced', 'A synced again');
    counting.reset();
    assert.equal((await verify(a, daveToken)).status, 401, 'the revoked token stays refused');
    assert.equal((await verify(a, carolToken)).status, 200);
    assert.equal(counting.counts.get('isRevoked') ?? 0, 0, 'from memory again');
    assert.equal((await carol.get('/auth/me')).status, 200);
    assert.deepEqual(unhandled, []);
  });
});

describe('hybrid over HTTP: postgres LISTEN connection of A terminated while B revokes', {
  skip: postgresSkip,
}, () => {
  const schema = schemas.fresh('kc_feed');
  const channel = revocationChannel(schema);
  let gate: FeedGate;
  let a: TestServer;
  let b: TestServer;
  let counting: CountingStore;
  let dir: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  /** A's LISTEN backends: named after the schema's channel, connected through A's proxy. */
  async function listenersOfA(): Promise<number[]> {
    const result = await schemas.admin.query(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND client_port = ANY($2::int[])',
      [channel, gate.upstreamPorts()],
    );
    return result.rows.map((row) => row.pid as number);
  }

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    const target = new URL(POSTGRES_URL);
    gate = await startFeedGate(target, channel);
    const viaGate = new URL(POSTGRES_URL);
    viaGate.host = `127.0.0.1:${gate.port}`;
    viaGate.searchParams.set('schema', schema);
    const direct = new URL(POSTGRES_URL);
    direct.searchParams.set('schema', schema);
    const pair = await startPair(await openStore(viaGate.href), direct.href, {
      strategy: 'hybrid',
      transport: 'header',
    });
    ({ a, counting, dir } = pair);
    b = await pair.startB();
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await a?.close();
    await b?.close();
    await gate?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function login(server: TestServer, username: string): Promise<string> {
    const response = await request(server.url, 'POST', '/auth/login', {
      json: { username, password: password(username) },
    });
    assert.equal(response.status, 200, response.text);
    assert.equal(typeof response.json.access_token, 'string');
    return response.json.access_token as string;
  }
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const verify = (server: TestServer, token: string): Promise<Response> =>
    request(server.url, 'GET', '/auth/verify', bearer(token));

  // guards: a NOTIFY sent while A's LISTEN connection is gone must not let the token through on A
  test('A refuses a logout and a block made on B during its feed gap on the next request, from the store', async () => {
    const [aliceToken, bobToken, carolToken] = [
      await login(a, 'alice'),
      await login(a, 'bob'),
      await login(a, 'carol'),
    ];
    const bobId = (await verify(a, bobToken)).json.user.id as string;
    counting.reset();
    for (const token of [aliceToken, bobToken, carolToken])
      assert.equal((await verify(a, token)).status, 200);
    assert.equal(counting.counts.get('isRevoked') ?? 0, 0, 'synced: answered from memory');

    const [pid, ...others] = await listenersOfA();
    assert.ok(pid !== undefined && others.length === 0, 'A has one LISTEN backend');
    gate.refuse = true;
    try {
      const terminated = await schemas.admin.query('SELECT pg_terminate_backend($1) AS done', [pid]);
      assert.equal(terminated.rows[0].done, true);
      await eventually(async () => (await feedState(a)) === 'unsynced', '/readyz on A to say unsynced');
      assert.equal(await feedState(b), 'synced', 'B’s feed was not touched');

      assert.equal((await request(b.url, 'POST', '/auth/logout', bearer(aliceToken))).status, 200);
      const root = await login(b, 'admin');
      const blocked = await request(b.url, 'POST', `/auth/admin/users/${bobId}/block`, bearer(root));
      assert.equal(blocked.status, 200, blocked.text);

      for (const [name, token] of [
        ['alice (logged out on B)', aliceToken],
        ['bob (blocked on B)', bobToken],
      ] as const) {
        counting.reset();
        const refused = await verify(a, token);
        assert.equal(refused.status, 401, `${name}: refused on the very next request`);
        assert.match(refused.json.error.message, /revoked/);
        assert.equal(counting.counts.get('isRevoked'), 1, `${name}: one store round trip`);
      }
      counting.reset();
      assert.equal((await verify(a, carolToken)).status, 200, 'a live token still works during the gap');
      assert.equal(counting.counts.get('isRevoked'), 1, 'checked with the store, not memory');
      assert.equal(await feedState(a), 'unsynced', 'still unsynced: the gap held for every request above');
    } finally {
      gate.refuse = false;
    }

    await eventually(async () => (await feedState(a)) === 'synced', 'A re-LISTENed and reloaded');
    const again = await listenersOfA();
    assert.equal(again.length, 1);
    assert.notEqual(again[0], pid, 'a new LISTEN backend');

    const fresh = await login(b, 'alice');
    counting.reset();
    assert.equal((await verify(a, aliceToken)).status, 401, 'still refused after the resync');
    assert.equal((await verify(a, bobToken)).status, 401, 'still refused after the resync');
    assert.equal((await verify(a, fresh)).status, 200, 'a fresh login made on B works on A');
    assert.equal((await verify(a, carolToken)).status, 200);
    assert.equal(counting.counts.get('isRevoked') ?? 0, 0, 'synced again: all answered from memory');
    assert.equal(counting.reads() + counting.writes(), 0);
    assert.deepEqual(unhandled, []);
  });
});
