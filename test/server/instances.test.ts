/**
 * Many instances (issue 5): three `keycard serve` processes share one store. Log in on A; use the cookie
 * on B and C; block the user on C: A and B refuse the token on the very next request once the feed has
 * delivered. Runs on SQLite (polling feed) always, and on Redis and PostgreSQL (push feeds).
 * Propagation delays are measured in bench/propagation.ts; here only the outcome is asserted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createKeycard, type Store } from '../../src/index.js';
import { openStore } from '../../src/stores/url.js';
import { FAST_ARGON2 } from '../core/support.js';
import { eventually } from '../helpers/eventually.js';
import { Client } from '../helpers/http.js';
import { type Cluster, startCluster } from '../helpers/instances.js';
import { POSTGRES_URL, REDIS_URL, serviceSkipReason, uniqueName } from '../helpers/services.js';

interface Backend {
  name: string;
  url(): Promise<string | { skip: string }>;
  cleanup?(): Promise<void>;
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'keycard-instances-'));
const backends: Backend[] = [
  { name: 'sqlite', url: async () => `sqlite:${join(sqliteDir, 'keycard.db')}?revocationPollIntervalMs=25` },
  {
    name: 'redis',
    async url() {
      const skip = await serviceSkipReason('Redis', async () => (await openStore(REDIS_URL)).close());
      return skip ? { skip } : `${REDIS_URL}/?prefix=${uniqueName('kcinst')}`;
    },
  },
  {
    name: 'postgres',
    async url() {
      const skip = await serviceSkipReason('PostgreSQL', async () => (await openStore(POSTGRES_URL)).close());
      return skip ? { skip } : `${POSTGRES_URL}?schema=${uniqueName('kcinst')}`;
    },
  },
];

after(() => rmSync(sqliteDir, { recursive: true, force: true }));

for (const backend of backends) {
  describe(`three instances on ${backend.name} (hybrid)`, () => {
    let cluster: Cluster | undefined;
    let store: Store | undefined;
    let skip: string | undefined;

    before(async () => {
      const url = await backend.url();
      if (typeof url !== 'string') {
        skip = url.skip;
        return;
      }
      store = await openStore(url);
      const keycard = createKeycard({ store, passwords: { argon2: FAST_ARGON2 } });
      await keycard.users.create({ username: 'admin', password: 'admin-password', role: 'admin' });
      await keycard.users.create({ username: 'alice', password: 'alice-password' });
      cluster = await startCluster(3, url, ['--preset', 'spa']);
    });
    after(async () => {
      await cluster?.stop();
      await store?.close();
    });

    test('log in on A; the cookie works on B and C; a block on C is refused on A and B', async (t) => {
      if (skip) return t.skip(skip);
      const [a, b, c] = (cluster as Cluster).instances as unknown as [
        { url: string },
        { url: string },
        { url: string },
      ];
      const alice = new Client(a.url);
      assert.equal(
        (await alice.post('/auth/login', { json: { username: 'alice', password: 'alice-password' } })).status,
        200,
      );
      const on = (url: string) => {
        const client = new Client(url);
        for (const [name, value] of alice.cookies) client.cookies.set(name, value);
        return client;
      };
      for (const instance of [a, b, c])
        assert.equal((await on(instance.url).get('/auth/verify')).status, 200);

      const admin = new Client(c.url);
      assert.equal(
        (await admin.post('/auth/login', { json: { username: 'admin', password: 'admin-password' } })).status,
        200,
      );
      const id = (await on(a.url).get('/auth/verify')).json.user.id;
      assert.equal((await admin.post(`/auth/admin/users/${id}/block`)).status, 200);
      assert.equal((await on(c.url).get('/auth/verify')).status, 401, 'C refuses at once');
      for (const instance of [a, b]) {
        await eventually(
          async () => (await on(instance.url).get('/auth/verify')).status === 401,
          `${instance.url} refuses`,
        );
      }
      // And a refused token stays refused (no flapping back).
      for (const instance of [a, b, c])
        assert.equal((await on(instance.url).get('/auth/verify')).status, 401);
    });
  });
}
