/**
 * The Redis store on a real three-master Redis Cluster, started by this file on spare loopback ports:
 * the whole conformance suite (a cross-slot command or script would fail it with CROSSSLOT), then the
 * key design itself — what must share a slot does, and sessions spread over every master — and the
 * revocation feed, which must hear every node's revocations from whichever node it happens to be on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Cluster } from 'ioredis';
import { generateId } from '../../src/core/random-tokens.js';
import type { RevocationRecord } from '../../src/core/store.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { redisKeys } from '../../src/stores/redis/keys.js';
import { describeStoreConformance, sessionFixture } from '../conformance/store.js';
import { ManualClock } from '../helpers/clock.js';
import {
  countKeysWithPrefix,
  deleteKeysWithPrefix,
  type PrivateCluster,
  recordCommands,
  redisBinariesSkipReason,
  startPrivateCluster,
} from '../helpers/redis-servers.js';
import { uniqueName } from '../helpers/services.js';

const skip = await redisBinariesSkipReason();

if (skip) {
  test('store conformance: redis cluster', { skip }, () => {});
} else {
  const cluster: PrivateCluster = await startPrivateCluster();
  const admin = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
  await admin.ping(); // ready: its slot table, and so `nodes('master')`, is loaded
  after(async () => {
    admin.disconnect();
    await cluster.stop();
  });

  describeStoreConformance('redis cluster', async (clock) => {
    const prefix = uniqueName('kctest');
    // The prefix travels in the URL, as `keycard serve --store redis+cluster://…?prefix=…` passes it.
    const store = new RedisStore({ url: `${cluster.url}/?prefix=${prefix}`, clock });
    await store.connect();
    return {
      store,
      openAnother: async () => {
        const another = new RedisStore({ url: `${cluster.url}/?prefix=${prefix}`, clock });
        await another.connect();
        return another;
      },
      reset: () => deleteKeysWithPrefix(admin, prefix),
      recordCount: () => countKeysWithPrefix(admin, prefix),
      async close() {
        await store.close();
      },
    };
  });

  describe('redis cluster key design', () => {
    const clock = new ManualClock();
    const prefix = uniqueName('kctest');
    const keys = redisKeys(prefix);
    let store: RedisStore;

    before(async () => {
      store = new RedisStore({ url: cluster.url, prefix, clock });
      await store.connect();
    });
    after(async () => {
      await store?.close();
    });

    const slot = (key: string): Promise<number> => admin.cluster('KEYSLOT', key);

    test('keys that one script touches share a slot; keys that need not, do not', async () => {
      const loginId = generateId();
      assert.equal(
        await slot(keys.userSessions('u1')),
        await slot(keys.userLogins('u1')),
        'a user’s two indexes are written by one script',
      );
      const userSlot = await slot(keys.user('u1'));
      assert.equal(await slot(keys.usernames()), userSlot);
      assert.equal(await slot(keys.skeletons()), userSlot, 'name and skeleton are claimed in one script');
      assert.equal(await slot(keys.usersSchema()), userSlot);
      assert.equal(await slot(keys.sortedUsernames()), userSlot);
      assert.equal(await slot(keys.user('u2')), userSlot);
      assert.notEqual(await slot(keys.userSessions('u1')), await slot(keys.userSessions('u2')));
      const revocationSlot = await slot(keys.revocations());
      assert.equal(await slot(keys.loginRevocation(loginId)), revocationSlot, 'one MGET per check');
      assert.equal(await slot(keys.userRevocation('u1')), revocationSlot);
      assert.equal(await slot(keys.revocationChannel()), revocationSlot, 'ready for SPUBLISH, too');
      const clientSlot = await slot(keys.clientIds());
      assert.equal(await slot(keys.client('kc_a')), clientSlot, 'creating a client is one script');
      assert.equal(await slot(keys.client('kc_b')), clientSlot);
    });

    test('isRevoked is one command on a Cluster (an MGET that never goes cross-slot)', async () => {
      const client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
      const counted = new RedisStore({ client, prefix, clock });
      const sent = recordCommands(client);
      try {
        const at = clock.now();
        await counted.addRevocation({ kind: 'user', id: 'u1', at, expiresAt: at + 60_000 });
        sent.length = 0;
        assert.equal(
          await counted.isRevoked({ loginId: generateId(), userId: 'u1', issuedAt: at }, at),
          true,
        );
        assert.deepEqual(sent, ['mget']);
      } finally {
        await counted.close();
        client.disconnect();
        await deleteKeysWithPrefix(admin, prefix);
      }
    });

    test('a login on a Cluster is two commands, its user’s index first (record and index are in two slots)', async () => {
      // guards: a record without its index entry, which "log out everywhere" and blocking would miss
      const client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
      const counted = new RedisStore({ client, prefix, clock });
      // EVALSHA's (and EVAL's) arguments: the script, the number of keys, the first key. A node that has
      // not seen the script yet answers NOSCRIPT and gets EVAL of the same: one write still.
      const sent: string[] = recordCommands(client, (command) => {
        const entry = `${command.name.replace(/^evalsha$/, 'eval')} ${String(command.args[2])}`;
        return sent.at(-1) === entry ? null : entry;
      });
      try {
        await counted.createLogin(sessionFixture(clock)); // loads the scripts (EVALSHA, then EVAL)
        sent.length = 0;
        const session = sessionFixture(clock, { user: { id: 'u-cluster', username: 'c', role: 'user' } });
        assert.notEqual(await slot(keys.session(session.id)), await slot(keys.userSessions('u-cluster')));
        await counted.createLogin(session);
        assert.deepEqual(sent, [
          `eval ${keys.userSessions('u-cluster')}`,
          `eval ${keys.session(session.id)}`,
        ]);
        assert.deepEqual(await counted.getLogin(session.id), session);
        assert.equal(await counted.deleteUserLogins('u-cluster'), 1);
      } finally {
        await counted.close();
        client.disconnect();
        await deleteKeysWithPrefix(admin, prefix);
      }
    });

    /** The port of the node the feed of `prefix` is connected to (its connection is named after it). */
    async function feedNode(feedPrefix: string): Promise<{ port: number; id: string } | null> {
      for (const node of admin.nodes('all')) {
        const list = (await node.client('LIST')) as string;
        const line = list.split('\n').find((l) => l.includes(` name=keycard-revocations:${feedPrefix} `));
        if (line)
          return { port: node.options.port as number, id: /(?:^|\s)id=(\d+)/.exec(line)?.[1] as string };
      }
      return null;
    }

    test('the feed hears revocations from a node other than its own, and moves node when cut', async () => {
      const feedPrefix = uniqueName('kctest');
      const url = `${cluster.url}/?prefix=${feedPrefix}`;
      const subscriber = new RedisStore({ url, clock });
      const writer = new RedisStore({ url, clock });
      const states: string[] = [];
      const received: RevocationRecord[] = [];
      const subscription = await subscriber.subscribeRevocations({
        revoked: (record) => received.push(record),
        status: (state) => states.push(state),
      });
      try {
        assert.deepEqual(states, ['up']);
        const owner = admin.slots[await slot(redisKeys(feedPrefix).revocations())]?.[0];
        const cut = async (): Promise<number> => {
          const at = await feedNode(feedPrefix);
          assert.ok(at, 'the feed connection is on some node');
          const ups = states.filter((state) => state === 'up').length;
          await admin
            .nodes('all')
            .find((node) => node.options.port === at.port)
            ?.client('KILL', 'ID', at.id);
          for (let wait = 0; states.filter((state) => state === 'up').length === ups; wait++) {
            assert.ok(wait < 1000, 'the feed never came back');
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          return at.port;
        };
        const first = await cut();
        assert.notEqual(
          (await feedNode(feedPrefix))?.port,
          first,
          'a cut feed resubscribes on the next node',
        );
        // Then until it sits on a node that does not hold the revocations (at most one more cut).
        while (`127.0.0.1:${(await feedNode(feedPrefix))?.port}` === owner) {
          assert.ok(states.length < 9, 'the feed never left the owner node');
          await cut();
        }
        const before = states.length;
        assert.deepEqual(states.slice(-1), ['up']);
        assert.deepEqual(
          states.filter((_, i) => i > 0).every((state, i) => state === (i % 2 === 0 ? 'down' : 'up')),
          true,
          `every cut is down then up: ${states.join(', ')}`,
        );
        const record = {
          kind: 'login' as const,
          id: generateId(),
          at: clock.now(),
          expiresAt: clock.now() + 60_000,
        };
        await writer.addRevocation(record);
        for (let wait = 0; !received.some((r) => r.id === record.id); wait++) {
          assert.ok(wait < 500, 'the revocation never reached the feed on another node');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        assert.deepEqual(received, [record]);
        assert.equal(states.length, before);
      } finally {
        await subscription.close();
        await subscriber.close();
        await writer.close();
        await deleteKeysWithPrefix(admin, feedPrefix);
      }
    });

    test('sessions spread over every master', async () => {
      const records = Array.from({ length: 60 }, () => sessionFixture(clock, { user: null }));
      await Promise.all(records.map((record) => store.createLogin(record)));
      const perMaster = await Promise.all(
        admin.nodes('master').map(async (node) => {
          let count = 0;
          let cursor = '0';
          do {
            const [next, found] = await node.scan(cursor, 'MATCH', `${prefix}:s:*`, 'COUNT', 1000);
            cursor = next;
            count += found.length;
          } while (cursor !== '0');
          return count;
        }),
      );
      assert.equal(perMaster.length, 3);
      assert.equal(
        perMaster.reduce((a, b) => a + b, 0),
        60,
      );
      for (const count of perMaster)
        assert.ok(count > 0, `a master holds no session: ${perMaster.join(', ')}`);
      await deleteKeysWithPrefix(admin, prefix);
    });
  });
}
