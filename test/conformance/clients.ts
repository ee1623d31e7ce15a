/**
 * API clients: round trips, updates that set only what they name, pages, deletes.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { generateId, generateToken, hashToken } from '../../src/core/random-tokens.js';
import type { ClientRecord, Store } from '../../src/core/store.js';
import type { Conformance } from './fixtures.js';

export function describeClientConformance(ctx: Conformance): void {
  describe('clients', () => {
    const { clock } = ctx;
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });
    const client = (overrides: Partial<ClientRecord> = {}): ClientRecord => ({
      id: `kc_${generateId()}`,
      name: 'orders-service',
      scopes: ['orders:read', 'orders:write'],
      secretHash: hashToken(generateToken()),
      previousSecretHash: null,
      previousSecretExpiresAt: null,
      generation: 1,
      disabled: false,
      createdAt: clock.now(),
      updatedAt: clock.now(),
      ...overrides,
    });

    test('round-trips a client exactly; unknown ids are null', async () => {
      const record = client({ scopes: ['a', 'b:c'] });
      await store.createClient(record);
      assert.deepEqual(await store.getClient(record.id), record);
      assert.equal(await store.getClient('kc_unknown'), null);
    });

    test('refuses a second client with the same id', async () => {
      const record = client();
      await store.createClient(record);
      await assert.rejects(store.createClient({ ...record, name: 'other' }));
      assert.equal((await store.getClient(record.id))?.name, 'orders-service');
    });

    test('updates fields independently, clears with null, and reports an unknown id', async () => {
      const record = client();
      await store.createClient(record);
      clock.advance(1000);
      const rotated = await store.updateClient(record.id, {
        secretHash: 'new-hash',
        previousSecretHash: record.secretHash,
        previousSecretExpiresAt: clock.now() + 60_000,
        generation: 2,
        updatedAt: clock.now(),
      });
      assert.equal(rotated?.secretHash, 'new-hash');
      assert.equal(rotated?.previousSecretHash, record.secretHash);
      assert.equal(rotated?.generation, 2);
      assert.deepEqual(rotated?.scopes, record.scopes);
      assert.equal(rotated?.updatedAt, clock.now());
      const kept = await store.updateClient(record.id, { name: 'renamed', updatedAt: clock.now() });
      assert.equal(kept?.name, 'renamed');
      assert.equal(kept?.previousSecretHash, record.secretHash, 'a field left out of an update is kept');
      assert.equal(kept?.previousSecretExpiresAt, rotated?.previousSecretExpiresAt);
      const settled = await store.updateClient(record.id, {
        previousSecretHash: null,
        previousSecretExpiresAt: null,
        disabled: true,
        scopes: ['orders:read'],
        updatedAt: clock.now(),
      });
      assert.equal(settled?.previousSecretHash, null);
      assert.equal(settled?.previousSecretExpiresAt, null);
      assert.equal(settled?.disabled, true);
      assert.deepEqual(settled?.scopes, ['orders:read']);
      assert.equal(settled?.secretHash, 'new-hash');
      assert.deepEqual(await store.getClient(record.id), settled);
      assert.equal(await store.updateClient('kc_unknown', { disabled: true, updatedAt: clock.now() }), null);
    });

    test('lists clients by id, page by page; deletes them', async () => {
      const records = ['kc_c', 'kc_a', 'kc_b'].map((id) => client({ id }));
      for (const record of records) await store.createClient(record);
      assert.deepEqual(
        (await store.listClients({ limit: 2 })).map((c) => c.id),
        ['kc_a', 'kc_b'],
      );
      assert.deepEqual(
        (await store.listClients({ limit: 2, after: 'kc_b' })).map((c) => c.id),
        ['kc_c'],
      );
      assert.equal(await store.deleteClient('kc_b'), true);
      assert.equal(await store.deleteClient('kc_b'), false);
      assert.equal(await store.getClient('kc_b'), null);
      assert.deepEqual(
        (await store.listClients({ limit: 10 })).map((c) => c.id),
        ['kc_a', 'kc_c'],
      );
    });
  });
}
