/**
 * The Redis store on a Redis Cluster through a failover: three masters and a replica of each (six
 * `redis-server`s on spare loopback ports), traffic through two stores — one with
 * `durability=replicated`, one with the default — and the master serving the revocations SIGKILLed in
 * the middle of it. While its replica takes over, operations on its slots fail with store_unavailable
 * (never a wrong answer); afterwards the same stores, never restarted, serve from the promoted replica; and
 * every revocation or deletion the `replicated` store acknowledged is still there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KeycardError } from '../../src/core/errors.js';
import { generateId } from '../../src/core/random-tokens.js';
import type { LoginRecord } from '../../src/core/store.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { redisKeys } from '../../src/stores/redis/keys.js';
import { sessionFixture } from '../conformance/fixtures.js';
import { ManualClock } from '../helpers/clock.js';
import { eventually } from '../helpers/eventually.js';
import {
  clusterNodesForKey,
  type PrivateCluster,
  redisBinariesSkipReason,
  startPrivateCluster,
  waitForReplicas,
} from '../helpers/redis-servers.js';
import { uniqueName } from '../helpers/services.js';

const HOUR = 3_600_000;

const skip = await redisBinariesSkipReason();

const unavailable = (error: unknown): boolean =>
  error instanceof KeycardError && error.code === 'store_unavailable';

const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

const pick = <T>(list: T[]): T | undefined => list[Math.floor(Math.random() * list.length)];

/** Loops of store operations: what each saw ('ok', 'unavailable', …) and every wrong answer. */
class Traffic {
  readonly counts = new Map<string, number>();
  readonly wrong: string[] = [];
  private readonly loops: Promise<void>[] = [];
  private stopped = false;

  count(label: string, outcome: string): number {
    return this.counts.get(`${label} ${outcome}`) ?? 0;
  }

  private note(label: string, outcome: string): void {
    this.counts.set(`${label} ${outcome}`, this.count(label, outcome) + 1);
  }

  /** `step` returns 'ok', 'skip' or a wrong answer's description; store_unavailable counts as 'unavailable'. */
  run(label: string, step: () => Promise<string>): void {
    this.loops.push(
      (async () => {
        while (!this.stopped) {
          try {
            const outcome = await step();
            if (outcome === 'ok') this.note(label, 'ok');
            else if (outcome !== 'skip') this.wrong.push(`${label}: ${outcome}`);
          } catch (error) {
            if (unavailable(error)) this.note(label, 'unavailable');
            else this.wrong.push(`${label}: ${(error as Error).message}`);
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

describe('redis cluster failover (3 masters, 3 replicas)', { skip }, () => {
  let cluster: PrivateCluster;
  const stores: RedisStore[] = [];
  const clock = new ManualClock();
  const prefix = uniqueName('kcfailover');
  const keys = redisKeys(prefix);

  const open = async (query: string): Promise<RedisStore> => {
    const store = new RedisStore({ url: `${cluster.url}/?prefix=${prefix}&${query}`, clock });
    stores.push(store);
    await store.connect();
    return store;
  };

  before(async () => {
    cluster = await startPrivateCluster({ replicas: 1, nodeTimeoutMs: 1000 });
  });
  after(async () => {
    for (const store of stores) await store.close();
    await cluster?.stop();
  });

  // guards: a revocation reported done that the failover of its master could undo
  test('with the replica of a master silent, revocations on its slots fail closed; other slots and reads go on', async () => {
    const replicated = await open('durability=replicated&replicationTimeoutMs=200');
    const plain = await open('durability=primary');
    const askPort = cluster.ports[0] as number;
    const victim = await clusterNodesForKey(askPort, keys.revocations());
    const user = { id: generateId(), username: 'bob', role: 'user' };
    const elsewhere = sessionFixture(clock, { user });
    while ((await clusterNodesForKey(askPort, keys.session(elsewhere.id))).master === victim.master) {
      elsewhere.id = sessionFixture(clock).id;
    }
    await replicated.createLogin(elsewhere);
    const revocation = () => ({
      kind: 'login' as const,
      id: generateId(),
      at: clock.now(),
      expiresAt: clock.now() + HOUR,
    });
    await replicated.addRevocation(revocation());

    const replica = cluster.nodes[cluster.ports.indexOf(victim.replicas[0] as number)];
    assert.ok(replica);
    replica.pause();
    try {
      await assert.rejects(replicated.addRevocation(revocation()), unavailable);
      await plain.addRevocation(revocation());
      assert.equal(await replicated.deleteLogin(elsewhere.id), true, 'a login on another master');
    } finally {
      replica.resume();
    }
    await eventually(
      async () => {
        await replicated.addRevocation(revocation());
        return true;
      },
      'revocations acknowledged again',
      { ignoreErrors: true },
    );
  });

  test('a master killed mid-traffic: fail closed, recover on its promoted replica, no acknowledged revocation lost', async () => {
    const replicated = await open('durability=replicated&replicationTimeoutMs=1000');
    const plain = await open('durability=primary');
    const user = { id: generateId(), username: 'alice', role: 'user' };
    const askPort = cluster.ports[0] as number;

    // The victim: the master serving the revocations; a login whose key it serves too.
    const victim = await clusterNodesForKey(askPort, keys.revocations());
    assert.equal(victim.replicas.length, 1);
    let live: LoginRecord | undefined;
    while (!live) {
      const session = sessionFixture(clock, { user });
      if ((await clusterNodesForKey(askPort, keys.session(session.id))).master === victim.master)
        live = session;
    }
    await replicated.createLogin(live);
    // A login is not a revocation: it is acknowledged before its replica has it. Make sure it has.
    await waitForReplicas(victim.master, `kctest-mark:{${live.id}}`);

    const revoked: string[] = [];
    const deleted: string[] = [];
    const traffic = new Traffic();
    const liveId = live.id;
    traffic.run('read live', async () =>
      (await replicated.getLogin(liveId))?.id === liveId ? 'ok' : 'the live login was not found',
    );
    traffic.run('revoke', async () => {
      const id = generateId();
      await replicated.addRevocation({ kind: 'login', id, at: clock.now(), expiresAt: clock.now() + HOUR });
      revoked.push(id);
      return 'ok';
    });
    traffic.run('check revoked', async () => {
      const id = pick(revoked);
      if (id === undefined) return 'skip';
      const query = { loginId: id, userId: user.id, issuedAt: clock.now() };
      return (await replicated.isRevoked(query, clock.now())) ? 'ok' : `revocation ${id} lost`;
    });
    traffic.run('delete', async () => {
      const session = sessionFixture(clock, { user });
      await replicated.createLogin(session);
      if (await replicated.deleteLogin(session.id)) deleted.push(session.id);
      return 'ok';
    });
    traffic.run('check deleted', async () => {
      const id = pick(deleted);
      if (id === undefined) return 'skip';
      return (await replicated.getLogin(id)) === null ? 'ok' : `deleted login ${id} is back`;
    });
    // The default durability, on the victim's slots: fails closed, then writes again after the failover.
    traffic.run('plain revoke', async () => {
      await plain.addRevocation({
        kind: 'user',
        id: user.id,
        at: clock.now(),
        expiresAt: clock.now() + HOUR,
      });
      return 'ok';
    });

    const seen = (label: string) => traffic.count(label, 'ok');
    try {
      await eventually(
        () =>
          ['read live', 'revoke', 'check revoked', 'delete', 'check deleted'].every(
            (label) => seen(label) > 0,
          ),
        'traffic before the crash',
      );
      const node = cluster.nodes[cluster.ports.indexOf(victim.master)];
      assert.ok(node);
      await node.kill();
      await eventually(
        () =>
          ['read live', 'revoke', 'plain revoke'].every((label) => traffic.count(label, 'unavailable') > 0),
        'store_unavailable on the dead master’s slots',
        { timeoutMs: 20_000 },
      );
      const before = { read: seen('read live'), plain: seen('plain revoke'), check: seen('check revoked') };
      await eventually(
        async () => (await clusterNodesForKey(askPort, keys.revocations())).master === victim.replicas[0],
        'the replica promoted',
        { timeoutMs: 30_000, ignoreErrors: true },
      );
      await eventually(
        () =>
          seen('read live') > before.read &&
          seen('plain revoke') > before.plain &&
          seen('check revoked') > before.check,
        'reads and writes on the promoted replica, through the same stores',
        { timeoutMs: 30_000 },
      );
    } finally {
      await traffic.stop();
    }
    assert.deepEqual(traffic.wrong, [], 'no wrong answer at any point');

    // Every acknowledged revocation and deletion, made before, during or after the switch, is there.
    for (const id of revoked) {
      const query = { loginId: id, userId: user.id, issuedAt: clock.now() };
      assert.equal(await replicated.isRevoked(query, clock.now()), true, `revocation ${id}`);
    }
    for (const id of deleted) assert.equal(await replicated.getLogin(id), null, `deleted login ${id}`);
    assert.ok(revoked.length > 0 && deleted.length > 0);
    // The promoted master has no replica of its own: a revocation on its slots cannot be acknowledged.
    await assert.rejects(
      replicated.addRevocation({
        kind: 'login',
        id: generateId(),
        at: clock.now(),
        expiresAt: clock.now() + HOUR,
      }),
      unavailable,
    );
  });
});
