/**
 * Revocations: records, the per-request check, listing, and the feed across instances.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { generateId } from '../../src/core/random-tokens.js';
import type { RevocationRecord, Store } from '../../src/core/store.js';
import { eventually } from '../helpers/eventually.js';
import type { Conformance } from './fixtures.js';

export function describeRevocationConformance(ctx: Conformance): void {
  describe('revocations', () => {
    const { clock } = ctx;
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });
    const HOUR_MS = 3_600_000;
    const login = (id: string, at = clock.now()) => ({
      kind: 'login' as const,
      id,
      at,
      expiresAt: at + HOUR_MS,
    });
    const user = (id: string, at = clock.now()) => ({
      kind: 'user' as const,
      id,
      at,
      expiresAt: at + HOUR_MS,
    });

    test('a revoked login is revoked whatever its tokens’ age; others are not', async () => {
      const sid = generateId();
      await store.addRevocation(login(sid));
      const now = clock.now();
      assert.equal(await store.isRevoked({ loginId: sid, userId: 'u', issuedAt: now + 60_000 }, now), true);
      assert.equal(await store.isRevoked({ loginId: generateId(), userId: 'u', issuedAt: 0 }, now), false);
    });

    test('a user revocation covers tokens issued at or before its time only', async () => {
      const uid = generateId();
      const at = clock.now();
      await store.addRevocation(user(uid, at));
      const query = (issuedAt: number) =>
        store.isRevoked({ loginId: generateId(), userId: uid, issuedAt }, at);
      assert.equal(await query(at - 1000), true);
      assert.equal(await query(at), true);
      assert.equal(await query(at + 1), false, 'a login after the cut-off is not revoked');
      assert.equal(
        await store.isRevoked({ loginId: generateId(), userId: generateId(), issuedAt: 0 }, at),
        false,
      );
    });

    test('expired revocations are neither listed nor applied', async () => {
      const sid = generateId();
      const record = { ...login(sid), expiresAt: clock.now() + 1000 };
      await store.addRevocation(record);
      assert.ok((await store.listRevocations(clock.now())).some((r) => r.kind === 'login' && r.id === sid));
      const later = clock.now() + 1000;
      assert.equal(
        (await store.listRevocations(later)).some((r) => r.id === sid),
        false,
      );
      assert.equal(await store.isRevoked({ loginId: sid, userId: 'u', issuedAt: 0 }, later), false);
    });

    test('lists every live revocation with its fields', async () => {
      const records = [login(generateId()), user(generateId()), login(generateId())];
      for (const record of records) await store.addRevocation(record);
      const listed = await store.listRevocations(clock.now());
      for (const record of records) {
        assert.ok(
          listed.some(
            (r) =>
              r.kind === record.kind &&
              r.id === record.id &&
              r.at === record.at &&
              r.expiresAt === record.expiresAt,
          ),
          `${record.kind} ${record.id}`,
        );
      }
    });

    test('the feed reports up, then delivers revocations made on this and on another instance', async () => {
      const received: RevocationRecord[] = [];
      const states: string[] = [];
      const subscription = await store.subscribeRevocations({
        revoked: (record) => received.push(record),
        status: (state) => states.push(state),
      });
      try {
        await eventually(() => states.includes('up'), 'status up');
        const mine = login(generateId());
        await store.addRevocation(mine);
        await eventually(() => received.some((r) => r.id === mine.id), 'our own revocation');
        const other = ctx.harness.openAnother ? await ctx.harness.openAnother() : store;
        try {
          const theirs = user(generateId());
          await other.addRevocation(theirs);
          await eventually(
            () => received.some((r) => r.id === theirs.id && r.kind === 'user' && r.at === theirs.at),
            'another instance’s revocation',
          );
        } finally {
          if (other !== store) await other.close();
        }
      } finally {
        await subscription.close();
      }
    });

    test('after close, nothing more is delivered', async () => {
      const received: RevocationRecord[] = [];
      const subscription = await store.subscribeRevocations({
        revoked: (record) => received.push(record),
        status: () => {},
      });
      await subscription.close();
      const late = login(generateId());
      await store.addRevocation(late);
      const marker = login(generateId());
      const probe: RevocationRecord[] = [];
      const second = await store.subscribeRevocations({
        revoked: (record) => probe.push(record),
        status: () => {},
      });
      try {
        await new Promise((resolve) => setTimeout(resolve, 50));
        await store.addRevocation(marker);
        await eventually(() => probe.some((r) => r.id === marker.id), 'a live subscription still works');
        assert.equal(
          received.some((r) => r.id === late.id || r.id === marker.id),
          false,
        );
      } finally {
        await second.close();
      }
    });
  });
}
