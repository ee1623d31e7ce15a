/**
 * The audit log: appended records read back exactly, newest first; each filter alone and together;
 * pages by cursor with neither a duplicate nor a gap (records of one millisecond included); time bounds;
 * pruning from every index; bad queries and records refused; concurrent appends each listed once.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { auditId, MAX_AUDIT_LIMIT } from '../../src/core/audit/query.js';
import { KeycardError } from '../../src/core/errors.js';
import type { AuditQuery, AuditRecord, Store } from '../../src/core/store.js';
import type { Conformance } from './fixtures.js';

const TYPES = ['login_succeeded', 'login_failed', 'logout'] as const;

/** Every page of a query, following the cursor; asserts each page is within the limit. */
async function readAll(store: Store, query: Omit<AuditQuery, 'before'>): Promise<AuditRecord[]> {
  const all: AuditRecord[] = [];
  let before: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await store.listAudit(before === undefined ? query : { ...query, before });
    assert.ok(page.length <= query.limit);
    all.push(...page);
    if (page.length < query.limit) return all;
    before = page[page.length - 1]?.id;
  }
  throw new Error('more than 1000 pages');
}

/** Ids newest first, as every store must order them. */
function newestFirst(records: readonly AuditRecord[]): string[] {
  return records.map((record) => record.id).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

const ids = (records: readonly AuditRecord[]): string[] => records.map((record) => record.id);

async function refused(promise: Promise<unknown>, field?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof KeycardError, `a KeycardError, got ${String(error)}`);
    assert.equal(error.code, 'invalid_request');
    if (field !== undefined) assert.equal(error.field, field);
    return true;
  });
}

export function describeAuditConformance(ctx: Conformance): void {
  describe('audit log', () => {
    const { clock } = ctx;
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });
    const record = (overrides: Partial<AuditRecord> = {}): AuditRecord => {
      const at = overrides.at ?? clock.now();
      return {
        id: auditId(at),
        at,
        type: 'login_succeeded',
        userId: 'user-1',
        ip: '203.0.113.7',
        userAgent: 'test-agent',
        data: { sessionId: 'abc' },
        ...overrides,
      };
    };
    /** 60 records over 6 ms (10 per millisecond), three users (one null) and three types. */
    const seed = async (): Promise<AuditRecord[]> => {
      const t0 = clock.now();
      const records: AuditRecord[] = [];
      for (let i = 0; i < 60; i++) {
        const users = ['user-a', 'user-b:x', null];
        records.push(
          record({
            at: t0 + Math.floor(i / 10),
            type: TYPES[i % 3],
            userId: users[i % 4 === 3 ? 2 : i % 2] ?? null,
          }),
        );
      }
      // Appended out of order: the store orders them, not the caller.
      for (const each of [...records].reverse()) await store.appendAudit(each);
      return records;
    };

    test('round-trips a record exactly, a null user and lists of scalars included', async () => {
      const full = record({
        type: 'client_created',
        userId: null,
        ip: null,
        userAgent: null,
        data: { clientId: 'kc_1', scopes: ['a', 'b:c'], count: 3, ok: true, none: null },
      });
      const other = record({ at: full.at + 1 });
      await store.appendAudit(full);
      await store.appendAudit(other);
      assert.deepEqual(await store.listAudit({ limit: 10 }), [other, full]);
      assert.deepEqual(await store.listAudit({ limit: 10, userId: 'nobody' }), []);
    });

    test('lists newest first, ties within a millisecond in id order', async () => {
      const records = await seed();
      const all = await store.listAudit({ limit: 1000 });
      assert.equal(all.length, 60);
      assert.deepEqual(ids(all), newestFirst(records));
      for (let i = 1; i < all.length; i++) {
        assert.ok((all[i - 1] as AuditRecord).at >= (all[i] as AuditRecord).at);
      }
    });

    test('filters by user, by types, by time, and by all of them together', async () => {
      const records = await seed();
      const t0 = (records[0] as AuditRecord).at;
      const expect = (keep: (r: AuditRecord) => boolean) => newestFirst(records.filter(keep));
      const cases: [AuditQuery, (r: AuditRecord) => boolean][] = [
        [{ limit: 1000, userId: 'user-a' }, (r) => r.userId === 'user-a'],
        [{ limit: 1000, userId: 'user-b:x' }, (r) => r.userId === 'user-b:x'],
        [{ limit: 1000, types: ['logout'] }, (r) => r.type === 'logout'],
        [
          { limit: 1000, types: ['logout', 'login_failed', 'logout'] },
          (r) => r.type === 'logout' || r.type === 'login_failed',
        ],
        [{ limit: 1000, since: t0 + 2 }, (r) => r.at >= t0 + 2],
        [{ limit: 1000, until: t0 + 2 }, (r) => r.at < t0 + 2],
        [{ limit: 1000, since: t0 + 1, until: t0 + 4 }, (r) => r.at >= t0 + 1 && r.at < t0 + 4],
        [{ limit: 1000, since: t0 + 3, until: t0 + 3 }, () => false],
        [
          {
            limit: 1000,
            userId: 'user-a',
            types: ['login_succeeded', 'logout'],
            since: t0 + 1,
            until: t0 + 5,
          },
          (r) => r.userId === 'user-a' && r.type !== 'login_failed' && r.at >= t0 + 1 && r.at < t0 + 5,
        ],
        [
          { limit: 1000, userId: 'user-b:x', types: ['login_failed'] },
          (r) => r.userId === 'user-b:x' && r.type === 'login_failed',
        ],
        [{ limit: 1000, types: ['password_changed'] }, () => false],
      ];
      for (const [query, keep] of cases) {
        const wanted = expect(keep);
        assert.deepEqual(ids(await store.listAudit(query)), wanted, JSON.stringify(query));
        // The same through pages of 7: the cursor composes with every filter.
        assert.deepEqual(
          ids(await readAll(store, { ...query, limit: 7 })),
          wanted,
          `paged ${JSON.stringify(query)}`,
        );
      }
      // Two filters that each match and together do not.
      assert.ok(expect((r) => r.userId === 'user-a').length > 0);
      assert.deepEqual(await store.listAudit({ limit: 10, userId: 'user-a', since: t0 + 100 }), []);
    });

    test('pages by cursor with no duplicate and no gap, many records in one millisecond', async () => {
      const at = clock.now();
      const records = Array.from({ length: 45 }, () => record({ at }));
      for (const each of records) await store.appendAudit(each);
      for (const limit of [1, 4, 44, 45, 46]) {
        assert.deepEqual(ids(await readAll(store, { limit })), newestFirst(records), `limit ${limit}`);
      }
      const first = await store.listAudit({ limit: 10 });
      const rest = await store.listAudit({ limit: 1000, before: (first[9] as AuditRecord).id });
      assert.equal(rest.length, 35);
      // A cursor that names no record still pages from its place in the order.
      assert.deepEqual(
        ids(await store.listAudit({ limit: 1000, before: 'f'.repeat(28) })),
        newestFirst(records),
      );
      assert.deepEqual(await store.listAudit({ limit: 1000, before: '0'.repeat(28) }), []);
    });

    test('prunes what is older than the bound from every index, and reports how many', async () => {
      const records = await seed();
      const t0 = (records[0] as AuditRecord).at;
      assert.equal(await store.pruneAudit(t0), 0);
      assert.equal(await store.pruneAudit(t0 + 2), 20);
      assert.equal(await store.pruneAudit(t0 + 2), 0, 'nothing left to prune below the same bound');
      const kept = records.filter((r) => r.at >= t0 + 2);
      assert.deepEqual(ids(await store.listAudit({ limit: 1000 })), newestFirst(kept));
      for (const query of [
        { userId: 'user-a' },
        { types: ['logout'] },
        { userId: 'user-b:x', types: ['login_failed', 'logout'] },
      ]) {
        const page = await store.listAudit({ limit: 1000, ...query });
        assert.ok(page.length > 0);
        assert.ok(
          page.every((r) => r.at >= t0 + 2),
          `pruned from the index of ${JSON.stringify(query)}`,
        );
      }
      assert.equal(await store.pruneAudit(t0 + 1000), 40);
      assert.deepEqual(await store.listAudit({ limit: 1000 }), []);
      assert.deepEqual(await store.listAudit({ limit: 1000, userId: 'user-a' }), []);
    });

    test('prunes more records than one batch', async () => {
      const at = clock.now();
      const records = Array.from({ length: 1205 }, (_, i) =>
        record({ at: at + (i % 3), userId: `u${i % 5}` }),
      );
      await Promise.all(records.map((each) => store.appendAudit(each)));
      assert.equal(await store.pruneAudit(at + 3), 1205);
      assert.deepEqual(await store.listAudit({ limit: 1000 }), []);
    });

    test('bounds the limit', async () => {
      await seed();
      assert.equal((await store.listAudit({ limit: 1 })).length, 1);
      assert.equal((await store.listAudit({ limit: MAX_AUDIT_LIMIT })).length, 60);
      for (const limit of [0, -1, MAX_AUDIT_LIMIT + 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10']) {
        await refused(store.listAudit({ limit: limit as number }), 'limit');
      }
    });

    test('refuses oversized and garbage queries with a clear error', async () => {
      const bad: [Record<string, unknown>, string][] = [
        [{ before: 'not-an-id' }, 'before'],
        [{ before: `${'0'.repeat(28)}0` }, 'before'],
        [{ before: 'G'.repeat(28) }, 'before'],
        [{ before: 42 }, 'before'],
        [{ userId: '' }, 'userId'],
        [{ userId: 'u'.repeat(257) }, 'userId'],
        [{ userId: { $ne: null } }, 'userId'],
        [{ types: [] }, 'types'],
        [{ types: 'logout' }, 'types'],
        [{ types: Array.from({ length: 51 }, (_, i) => `type_${i}`) }, 'types'],
        [{ types: ["logout' OR 1=1 --"] }, 'types'],
        [{ types: ['Logout'] }, 'types'],
        [{ types: [null] }, 'types'],
        [{ since: -1 }, 'since'],
        [{ since: 1.5 }, 'since'],
        [{ since: '0' }, 'since'],
        [{ until: 2 ** 53 }, 'until'],
        [{ until: Number.NaN }, 'until'],
      ];
      for (const [fields, field] of bad) {
        await refused(store.listAudit({ limit: 10, ...fields } as AuditQuery), field);
      }
      await refused(store.listAudit(null as unknown as AuditQuery));
      await refused(store.pruneAudit(-5));
      await refused(store.pruneAudit(Number.NaN));
    });

    test('refuses a record whose id is not its time, a bad type, or a duplicate id', async () => {
      const good = record();
      await store.appendAudit(good);
      await refused(store.appendAudit({ ...good, id: auditId(good.at + 1) }));
      await refused(store.appendAudit({ ...good, id: 'x'.repeat(28) }));
      await refused(store.appendAudit(record({ type: 'Not A Type' })));
      await refused(store.appendAudit({ ...good, userId: 'after' }));
      assert.deepEqual(await store.listAudit({ limit: 10 }), [good], 'the duplicate changed nothing');
    });

    test('concurrent appends are each listed exactly once', async () => {
      // guards: indexes written separately from the record, or ids that collide within a millisecond
      const at = clock.now();
      const records = Array.from({ length: 200 }, (_, i) =>
        record({ at: at + (i % 2), userId: `user-${i % 4}`, type: TYPES[i % 3] }),
      );
      await Promise.all(records.map((each) => store.appendAudit(each)));
      const listed = await store.listAudit({ limit: 1000 });
      assert.equal(new Set(ids(listed)).size, 200);
      assert.deepEqual(ids(listed), newestFirst(records));
      const byUser = await readAll(store, { limit: 9, userId: 'user-1' });
      assert.deepEqual(ids(byUser), newestFirst(records.filter((r) => r.userId === 'user-1')));
    });
  });
}
