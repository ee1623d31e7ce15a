/**
 * Revocations: records, the per-request check, listing, and the feed across instances.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { generateId } from '../../src/core/random-tokens.js';
import { addRevocations } from '../../src/core/revocation/add.js';
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

    describe('many at once (addRevocations, or one by one where the store has no batch)', () => {
      /** Subscribes, waits for `up`, runs `work`, and closes the subscription. */
      const withFeed = async (work: (received: RevocationRecord[]) => Promise<void>) => {
        const received: RevocationRecord[] = [];
        const states: string[] = [];
        const subscription = await store.subscribeRevocations({
          revoked: (record) => received.push(record),
          status: (state) => states.push(state),
        });
        try {
          await eventually(() => states.includes('up'), 'status up');
          await work(received);
        } finally {
          await subscription.close();
        }
      };
      const key = (r: RevocationRecord) => `${r.kind} ${r.id} ${r.at} ${r.expiresAt}`;
      const same = (a: RevocationRecord, b: RevocationRecord) => key(a) === key(b);
      const everyOne = (records: RevocationRecord[], among: RevocationRecord[]) => {
        const keys = new Set(among.map(key));
        return records.every((record) => keys.has(key(record)));
      };

      test('every record is stored, checked and delivered to subscribers', async () => {
        const records = [login(generateId()), login(generateId()), user(generateId()), login(generateId())];
        await withFeed(async (received) => {
          await addRevocations(store, records);
          await eventually(() => everyOne(records, received), 'every record delivered');
        });
        assert.ok(everyOne(records, await store.listRevocations(clock.now())), 'every record listed');
        const now = clock.now();
        for (const record of records) {
          const query =
            record.kind === 'login'
              ? { loginId: record.id, userId: generateId(), issuedAt: now }
              : { loginId: generateId(), userId: record.id, issuedAt: record.at };
          assert.equal(await store.isRevoked(query, now), true, `${record.kind} ${record.id}`);
        }
      });

      test('each record keeps its own expiry', async () => {
        const now = clock.now();
        const short = { ...login(generateId()), expiresAt: now + 1000 };
        const long = { ...login(generateId()), expiresAt: now + HOUR_MS };
        await addRevocations(store, [short, long]);
        const later = now + 1000;
        const listed = await store.listRevocations(later);
        assert.equal(
          listed.some((r) => r.id === short.id),
          false,
          'the expired one is not listed',
        );
        assert.ok(
          listed.some((r) => same(r, long)),
          'the live one is',
        );
        assert.equal(await store.isRevoked({ loginId: short.id, userId: 'u', issuedAt: 0 }, later), false);
        assert.equal(await store.isRevoked({ loginId: long.id, userId: 'u', issuedAt: 0 }, later), true);
      });

      test('an empty batch stores and announces nothing', async () => {
        const before = (await store.listRevocations(clock.now())).length;
        await withFeed(async (received) => {
          await addRevocations(store, []);
          // The store's own batch method too, where it has one: an empty list is not an error.
          await store.addRevocations?.([]);
          const marker = login(generateId());
          await store.addRevocation(marker);
          await eventually(() => received.some((r) => r.id === marker.id), 'the marker');
          assert.deepEqual(
            received.map((r) => r.id),
            [marker.id],
            'nothing but the marker was delivered',
          );
        });
        assert.equal((await store.listRevocations(clock.now())).length, before + 1);
      });

      // guards: a batch announced in one NOTIFY would exceed PostgreSQL's 8000-byte payload limit and fail.
      test('a batch far above a notification’s payload limit, long ids included, arrives whole', async () => {
        const records: RevocationRecord[] = [];
        for (let i = 0; i < 1200; i++) records.push(login(generateId()));
        // Ids of every length around the limits: each delivered, by value or read back from the store.
        for (const length of [900, 1000, 1001, 5000, 7990, 9000]) records.push(login('x'.repeat(length)));
        records.push(user(generateId()));
        const other = ctx.harness.openAnother ? await ctx.harness.openAnother() : store;
        try {
          await withFeed(async (received) => {
            await addRevocations(other, records);
            await eventually(() => everyOne(records, received), 'every record delivered');
          });
        } finally {
          if (other !== store) await other.close();
        }
        assert.ok(everyOne(records, await store.listRevocations(clock.now())), 'every record listed');
      });
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
