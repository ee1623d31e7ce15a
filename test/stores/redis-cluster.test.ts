/**
 * The Redis store on a real three-master Redis Cluster, started by this file on spare loopback ports:
 * the whole conformance suite (a cross-slot command or script would fail it with CROSSSLOT), then the
 * key design itself — what must share a slot does, and sessions spread over every master.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Cluster } from 'ioredis';
import { generateToken, hashToken } from '../../src/core/tokens.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { redisKeys } from '../../src/stores/redis/keys.js';
import { describeStoreConformance, sessionFixture } from '../conformance/store.js';
import { ManualClock } from '../helpers/clock.js';
import {
  deleteKeysWithPrefix,
  type PrivateCluster,
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
      reset: () => deleteKeysWithPrefix(admin, prefix),
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
      const sessionId = hashToken(generateToken());
      const tokenId = hashToken(generateToken());
      const sessionSlot = await slot(keys.session(sessionId));
      assert.equal(
        await slot(keys.refreshToken(sessionId, tokenId)),
        sessionSlot,
        'a token lives with its login',
      );
      assert.notEqual(await slot(keys.refreshTokenLogin(tokenId)), sessionSlot, 'the pointer is its own');
      const userSlot = await slot(keys.user('u1'));
      assert.equal(await slot(keys.usernames()), userSlot);
      assert.equal(await slot(keys.sortedUsernames()), userSlot);
      assert.equal(await slot(keys.user('u2')), userSlot);
      assert.notEqual(await slot(keys.userSessions('u1')), await slot(keys.userSessions('u2')));
    });

    test('sessions spread over every master', async () => {
      const records = Array.from({ length: 60 }, () => sessionFixture(clock, { user: null }));
      await Promise.all(records.map((record) => store.createSession(record)));
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
