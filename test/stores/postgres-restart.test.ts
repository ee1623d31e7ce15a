/**
 * PostgreSQL restarted mid-traffic under two hybrid `keycard serve` instances (issue 15), on a private
 * server. Requests keep going to A the whole time, and each records what A answered and in which phase it
 * was sent. While the server is down A fails closed: 503 once its feed has noticed, never a token accepted
 * that it could not check. When the server is back A recovers with no restart, but its LISTEN connection
 * is held off (A reaches PostgreSQL through a proxy that refuses the feed's reconnections, feed-gate.ts):
 * B then ends a login and blocks a user — revocations whose NOTIFYs A cannot hear. A must refuse those
 * tokens from the very next request (asking the store, one round trip each), and once the proxy lets the
 * feed through, LISTEN again on a new connection, reload, and refuse them from memory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { revocationChannel } from '../../src/stores/postgres/queries.js';
import { openStore } from '../../src/stores/url.js';
import { type CountingStore, countingStore } from '../helpers/counting-store.js';
import { eventually } from '../helpers/eventually.js';
import { type Response, request } from '../helpers/http.js';
import { type FeedGate, startFeedGate } from '../helpers/postgres-feed-gate.js';
import {
  createPrivatePostgres,
  type PrivatePostgres,
  privatePostgresSkipReason,
} from '../helpers/postgres-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SCHEMA = 'keycard';
const USERS = ['admin', 'alice', 'bob', 'carol'] as const;
const password = (username: string) => `${username}-password`;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

type Phase = 'up' | 'down' | 'back' | 'revoked' | 'relistened';

interface Sample {
  phase: Phase;
  /** A's feed state when the request was sent. */
  feed: string | undefined;
  who: string;
  status: number;
}

describe('postgres restarted mid-traffic: two hybrid instances (private server)', {
  skip: privatePostgresSkipReason(),
}, () => {
  const channel = revocationChannel(SCHEMA);
  let server: PrivatePostgres;
  let gate: FeedGate;
  let a: TestServer;
  let b: TestServer;
  let counting: CountingStore;
  let dir: string;
  const stray: unknown[] = [];
  const record = (error: unknown) => stray.push(error);

  /** A's LISTEN backends: named after the channel, connected through A's proxy. */
  async function listenersOfA(): Promise<number[]> {
    const ports = gate.upstreamPorts();
    if (ports.length === 0) return [];
    const result = await server.query(
      `SELECT pid FROM pg_stat_activity WHERE application_name = '${channel}'
         AND client_port IN (${ports.map(Number).join(', ')})`,
    );
    return result.rows.map((row) => row.pid as number);
  }

  before(async () => {
    process.on('unhandledRejection', record);
    process.on('uncaughtException', record);
    server = await createPrivatePostgres();
    await server.start();
    const direct = new URL(server.url);
    direct.searchParams.set('schema', SCHEMA);
    gate = await startFeedGate(direct, channel);
    const viaGate = new URL(direct);
    viaGate.host = `127.0.0.1:${gate.port}`;
    dir = mkdtempSync(join(tmpdir(), 'keycard-pg-restart-'));
    const flags = { strategy: 'hybrid', transport: 'header', keys: join(dir, 'keys.json') };
    counting = countingStore(await openStore(viaGate.href));
    a = await startTestServer({ store: counting.store, flags });
    for (const username of USERS) {
      await a.keycard.users.create({
        username,
        password: password(username),
        role: username === 'admin' ? 'admin' : 'user',
      });
    }
    b = await startTestServer({ storeURL: direct.href, flags });
    for (const instance of [a, b]) {
      await eventually(() => instance.keycard.revocations?.feedState === 'synced', 'synced');
    }
  });
  after(async () => {
    await a?.close();
    await a?.store.close();
    await b?.close();
    await gate?.close();
    await server?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
  });

  async function login(instance: TestServer, username: string): Promise<string> {
    const response = await request(instance.url, 'POST', '/auth/login', {
      json: { username, password: password(username) },
    });
    assert.equal(response.status, 200, response.text);
    return response.json.access_token as string;
  }
  const verify = (instance: TestServer, token: string): Promise<Response> =>
    request(instance.url, 'GET', '/auth/verify', bearer(token));

  // guards: a revocation committed while A's LISTEN connection was gone (NOTIFY lost) let the token through
  test('fail closed while down, recover by itself, re-LISTEN, and refuse what was revoked in the gap', {
    timeout: 120_000,
  }, async () => {
    const tokens = {
      alice: await login(a, 'alice'),
      bob: await login(a, 'bob'),
      carol: await login(a, 'carol'),
    };
    const bobId = (await verify(a, tokens.bob)).json.user.id as string;
    const [firstListener, ...others] = await listenersOfA();
    assert.ok(firstListener !== undefined && others.length === 0, 'A has one LISTEN backend');

    // The traffic: A is asked about every token, one request after another, until the test ends.
    let phase: Phase = 'up';
    let running = true;
    const samples: Sample[] = [];
    const traffic = (async () => {
      while (running) {
        for (const [who, token] of Object.entries(tokens)) {
          const sent = { phase, feed: a.keycard.revocations?.feedState, who };
          const status = (await verify(a, token)).status;
          samples.push({ ...sent, status });
        }
      }
    })();
    const seen = (check: (sample: Sample) => boolean) => samples.some(check);
    const sampled = (what: string, check: (sample: Sample) => boolean) => {
      const from = samples.length;
      return eventually(() => samples.slice(from).some(check), what);
    };

    try {
      await sampled('traffic while up', (s) => s.status === 200);
      gate.refuse = true;
      await server.stop();
      phase = 'down';
      await eventually(() => a.keycard.revocations?.feedState === 'unsynced', 'A’s feed to report down');
      await sampled('503 while down', (s) => s.phase === 'down' && s.status === 503);
      assert.equal((await request(a.url, 'GET', '/readyz')).status, 503, 'A is not ready while down');

      // 'back' from before the start: a request marked 'down' was sent while the server was surely gone.
      phase = 'back';
      await server.start();
      // A's pool recovers by itself; its feed cannot come back yet (the proxy refuses it).
      await sampled('A to serve again', (s) => s.phase === 'back' && s.who === 'carol' && s.status === 200);
      await eventually(async () => {
        const response = await request(b.url, 'POST', '/auth/login', {
          json: { username: 'admin', password: password('admin') },
        });
        return response.status === 200;
      }, 'B to serve again');

      // Revoked on B while A cannot hear it: a logout (one login) and a block (a batch and a cut-off).
      assert.deepEqual(await listenersOfA(), [], 'A is not listening when B revokes');
      assert.equal((await request(b.url, 'POST', '/auth/logout', bearer(tokens.alice))).status, 200);
      const root = await login(b, 'admin');
      const blocked = await request(b.url, 'POST', `/auth/admin/users/${bobId}/block`, bearer(root));
      assert.equal(blocked.status, 200, blocked.text);
      phase = 'revoked';
      assert.notEqual(a.keycard.revocations?.feedState, 'synced', 'A had not caught up by itself');

      counting.reset();
      assert.equal((await verify(a, tokens.alice)).status, 401, 'logged out on B: refused on A at once');
      assert.equal((await verify(a, tokens.bob)).status, 401, 'blocked on B: refused on A at once');
      assert.ok((counting.counts.get('isRevoked') ?? 0) >= 2, 'asked of the store, not memory');
      await sampled('carol served during the gap', (s) => s.phase === 'revoked' && s.who === 'carol');
      assert.deepEqual(await listenersOfA(), [], 'the gap held for every request above');

      gate.refuse = false;
      await eventually(() => a.keycard.revocations?.feedState === 'synced', 'A re-LISTENed and reloaded');
      phase = 'relistened';
      const listeners = await listenersOfA();
      assert.equal(listeners.length, 1, 'one LISTEN backend again');
      assert.notEqual(listeners[0], firstListener, 'on a new connection');
      counting.reset();
      assert.equal((await verify(a, tokens.alice)).status, 401);
      assert.equal((await verify(a, tokens.bob)).status, 401);
      assert.equal((await verify(a, tokens.carol)).status, 200);
      assert.equal(counting.counts.get('isRevoked') ?? 0, 0, 'from memory: the reload caught up');

      // And the feed delivers again: carol ended on B, refused on A from memory.
      assert.equal((await request(b.url, 'POST', '/auth/logout', bearer(tokens.carol))).status, 200);
      await eventually(async () => (await verify(a, tokens.carol)).status === 401, 'carol refused on A');
      assert.equal(counting.counts.get('isRevoked') ?? 0, 0, 'delivered by the feed');
    } finally {
      running = false;
      await traffic;
    }

    // No revoked token was ever accepted on A once B had answered; nothing but 200, 401 and 503 anywhere.
    for (const who of ['alice', 'bob']) {
      const accepted = samples.filter(
        (s) => s.who === who && (s.phase === 'revoked' || s.phase === 'relistened') && s.status === 200,
      );
      assert.deepEqual(accepted, [], `${who}'s token accepted after its revocation`);
    }
    const unexpected = samples.filter((s) => ![200, 401, 503].includes(s.status));
    assert.deepEqual(unexpected, [], 'only 200, 401 and 503');
    // Fail closed: once A's feed had said down and until the server was back, every answer was a 503.
    const whileDown = samples.filter((s) => s.phase === 'down' && s.feed !== 'synced');
    assert.ok(whileDown.length > 0);
    assert.deepEqual(
      whileDown.filter((s) => s.status !== 503),
      [],
      'a check A could not make was not answered',
    );
    assert.ok(
      seen((s) => s.phase === 'back' && s.status === 200),
      'served again without a restart',
    );
    assert.deepEqual(stray, [], 'no unhandled rejection or uncaught exception');
  });
});
