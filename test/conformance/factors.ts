/**
 * Second factors (docs/mfa.md): create, list, find by id or by passkey credential id, the compare-and-set
 * every single-use code rests on (`advanceFactor`), and deletion — one factor, or a user's.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { KeycardError } from '../../src/core/errors.js';
import { generateId } from '../../src/core/random-tokens.js';
import type { FactorRecord, Store } from '../../src/core/store.js';
import type { Conformance } from './fixtures.js';

const invalidRequest = (error: unknown): boolean =>
  error instanceof KeycardError && error.code === 'invalid_request';

export function describeFactorConformance(ctx: Conformance): void {
  describe('second factors', () => {
    const { clock } = ctx;
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });
    const totp = (overrides: Partial<FactorRecord> = {}): FactorRecord => ({
      id: generateId(),
      userId: 'user-1',
      kind: 'totp',
      name: 'Phone',
      credentialId: null,
      secret: 'v1.iv.ciphertext.tag',
      counter: 0,
      confirmedAt: null,
      createdAt: clock.now(),
      lastUsedAt: null,
      ...overrides,
    });
    const passkey = (overrides: Partial<FactorRecord> = {}): FactorRecord =>
      totp({
        kind: 'passkey',
        name: 'YubiKey',
        credentialId: generateId(),
        secret: '{"publicKey":"pQECAyYgASFYIA","transports":["usb","nfc"]}',
        confirmedAt: clock.now(),
        ...overrides,
      });
    const recovery = (overrides: Partial<FactorRecord> = {}): FactorRecord =>
      totp({
        kind: 'recovery',
        name: 'Recovery codes',
        secret: '["hash-1","hash-2","hash-3"]',
        confirmedAt: clock.now(),
        ...overrides,
      });

    test('a factor round-trips exactly, nulls and a non-zero counter included', async () => {
      const pending = totp();
      const used = passkey({ counter: 4_294_967_295, lastUsedAt: clock.now() + 5 });
      await store.createFactor(pending);
      await store.createFactor(used);
      assert.deepEqual(await store.getFactor(pending.id), pending);
      assert.deepEqual(await store.getFactor(used.id), used);
      assert.equal(await store.getFactor(generateId()), null);
    });

    test("a user's factors are listed oldest first, ties by id, pending ones included, only theirs", async () => {
      const now = clock.now();
      const [a, b] = [generateId(), generateId()].sort();
      const newest = recovery({ id: 'zz-newest', createdAt: now + 2 });
      const tiedSecond = passkey({ id: b as string, createdAt: now + 1 });
      const tiedFirst = totp({ id: a as string, createdAt: now + 1 });
      const oldest = totp({ id: 'zz-oldest', createdAt: now, confirmedAt: now });
      const pending = totp({ id: 'zz-pending', createdAt: now + 3 });
      const someoneElses = totp({ userId: 'user-2', createdAt: now - 1 });
      for (const factor of [newest, tiedSecond, someoneElses, pending, tiedFirst, oldest]) {
        await store.createFactor(factor);
      }
      assert.deepEqual(await store.listFactors('user-1'), [oldest, tiedFirst, tiedSecond, newest, pending]);
      assert.deepEqual(await store.listFactors('user-2'), [someoneElses]);
      assert.deepEqual(await store.listFactors('user-3'), []);
    });

    test('an id that exists is refused, and the first factor stays', async () => {
      const first = totp();
      await store.createFactor(first);
      await assert.rejects(store.createFactor(recovery({ id: first.id, userId: 'user-2' })), invalidRequest);
      assert.deepEqual(await store.getFactor(first.id), first);
      assert.deepEqual(await store.listFactors('user-2'), []);
    });

    test('a passkey credential id that exists is refused, for the same user and for another', async () => {
      const first = passkey();
      await store.createFactor(first);
      const mine = passkey({ credentialId: first.credentialId });
      const theirs = passkey({ userId: 'user-2', credentialId: first.credentialId });
      await assert.rejects(store.createFactor(mine), invalidRequest);
      await assert.rejects(store.createFactor(theirs), invalidRequest);
      assert.equal(await store.getFactor(mine.id), null);
      assert.equal(await store.getFactor(theirs.id), null);
      assert.deepEqual(await store.listFactors('user-1'), [first]);
      assert.deepEqual(await store.listFactors('user-2'), []);
      assert.deepEqual(await store.getFactorByCredentialId(first.credentialId as string), first);
    });

    test('a passkey is found by its credential id; factors without one are not', async () => {
      const key = passkey();
      await store.createFactor(key);
      await store.createFactor(totp());
      await store.createFactor(passkey({ userId: 'user-2' }));
      assert.deepEqual(await store.getFactorByCredentialId(key.credentialId as string), key);
      assert.equal(await store.getFactorByCredentialId(generateId()), null);
      assert.equal(await store.getFactorByCredentialId(''), null);
    });

    test('advanceFactor applies the counter when it holds the expected value, and leaves other fields', async () => {
      const factor = totp({ counter: 100, confirmedAt: clock.now(), lastUsedAt: clock.now() });
      await store.createFactor(factor);
      const advanced = await store.advanceFactor(factor.id, 100, { counter: 101 });
      assert.deepEqual(advanced, { ...factor, counter: 101 });
      assert.deepEqual(await store.getFactor(factor.id), advanced);
    });

    test('advanceFactor applies each optional field only when given, null included', async () => {
      const factor = totp();
      await store.createFactor(factor);
      const confirmed = await store.advanceFactor(factor.id, 0, {
        counter: 7,
        confirmedAt: clock.now() + 1,
        lastUsedAt: clock.now() + 2,
      });
      assert.deepEqual(confirmed, {
        ...factor,
        counter: 7,
        confirmedAt: clock.now() + 1,
        lastUsedAt: clock.now() + 2,
      });
      const rekeyed = await store.advanceFactor(factor.id, 7, { counter: 7, secret: 'v2.new-secret' });
      assert.deepEqual(rekeyed, { ...confirmed, secret: 'v2.new-secret' });
      const cleared = await store.advanceFactor(factor.id, 7, {
        counter: 0,
        lastUsedAt: null,
        confirmedAt: null,
      });
      assert.deepEqual(cleared, { ...factor, secret: 'v2.new-secret' });
      assert.deepEqual(await store.getFactor(factor.id), cleared);
    });

    test('advanceFactor from a counter the factor does not hold returns null and changes nothing', async () => {
      const factor = recovery({ counter: 0b101 });
      await store.createFactor(factor);
      for (const expected of [0, 0b100, 0b111, -1]) {
        assert.equal(
          await store.advanceFactor(factor.id, expected, {
            counter: 0b111,
            lastUsedAt: clock.now(),
            confirmedAt: null,
            secret: 'replaced',
          }),
          null,
        );
      }
      assert.deepEqual(await store.getFactor(factor.id), factor);
    });

    test('advanceFactor on a missing factor returns null and creates nothing', async () => {
      const id = generateId();
      assert.equal(await store.advanceFactor(id, 0, { counter: 1, secret: 'x' }), null);
      assert.equal(await store.getFactor(id), null);
      assert.deepEqual(await store.listFactors('user-1'), []);
    });

    // guards: one TOTP code (or one recovery code) accepted twice by two simultaneous sign-ins
    test('of 20 simultaneous advances from one counter, exactly one succeeds', async () => {
      const factor = totp({ counter: 55_000_000, confirmedAt: clock.now() });
      await store.createFactor(factor);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.advanceFactor(factor.id, 55_000_000, { counter: 55_000_001 + i, lastUsedAt: clock.now() }),
        ),
      );
      const winners = results.filter((result) => result !== null);
      assert.equal(winners.length, 1);
      assert.deepEqual(await store.getFactor(factor.id), winners[0]);
    });

    test("deleteFactor deletes any factor by id, or with userId only that user's", async () => {
      const mine = totp();
      const theirs = passkey({ userId: 'user-2' });
      await store.createFactor(mine);
      await store.createFactor(theirs);
      assert.equal(await store.deleteFactor(theirs.id, { userId: 'user-1' }), false);
      assert.deepEqual(await store.getFactor(theirs.id), theirs);
      assert.deepEqual(await store.getFactorByCredentialId(theirs.credentialId as string), theirs);
      assert.equal(await store.deleteFactor(mine.id, { userId: 'user-1' }), true);
      assert.equal(await store.getFactor(mine.id), null);
      assert.deepEqual(await store.listFactors('user-1'), []);
      assert.equal(await store.deleteFactor(mine.id, { userId: 'user-1' }), false);
      assert.equal(await store.deleteFactor(theirs.id), true);
      assert.equal(await store.getFactor(theirs.id), null);
      assert.equal(await store.getFactorByCredentialId(theirs.credentialId as string), null);
      assert.deepEqual(await store.listFactors('user-2'), []);
      assert.equal(await store.deleteFactor(generateId()), false);
    });

    test("deleteUserFactors deletes all the user's factors, or one kind, and counts them", async () => {
      const key = passkey();
      const phone = totp();
      const codes = recovery();
      const otherKey = passkey({ userId: 'user-2' });
      for (const factor of [key, phone, codes, otherKey]) await store.createFactor(factor);
      assert.equal(await store.deleteUserFactors('user-1', { kind: 'recovery' }), 1);
      assert.deepEqual(await store.listFactors('user-1'), [key, phone].sort(byAge));
      assert.equal(await store.deleteUserFactors('user-1', { kind: 'recovery' }), 0);
      assert.equal(await store.deleteUserFactors('user-1'), 2);
      assert.deepEqual(await store.listFactors('user-1'), []);
      for (const factor of [key, phone, codes]) assert.equal(await store.getFactor(factor.id), null);
      assert.equal(await store.getFactorByCredentialId(key.credentialId as string), null);
      assert.deepEqual(await store.listFactors('user-2'), [otherKey]);
      assert.deepEqual(await store.getFactorByCredentialId(otherKey.credentialId as string), otherKey);
      assert.equal(await store.deleteUserFactors('user-3'), 0);
    });

    test("a deleted passkey's credential id can be registered again", async () => {
      const first = passkey();
      const second = passkey({ credentialId: first.credentialId });
      await store.createFactor(first);
      await store.deleteUserFactors('user-1');
      await store.createFactor(second);
      assert.deepEqual(await store.getFactorByCredentialId(first.credentialId as string), second);
      const third = passkey({ userId: 'user-2', credentialId: first.credentialId });
      assert.equal(await store.deleteFactor(second.id), true);
      await store.createFactor(third);
      assert.deepEqual(await store.getFactorByCredentialId(first.credentialId as string), third);
    });

    test('a 4096-character secret and names in any script round-trip', async () => {
      const secret = `${'é'.repeat(2048)}${'x'.repeat(2048)}`;
      assert.equal(secret.length, 4096);
      const names = ['Téléphone de Zoë', 'Ключ 🔑', '手机', '"quotes" & \\slashes\\', ' '];
      const factors = names.map((name, i) =>
        passkey({ name, secret, createdAt: clock.now() + i, credentialId: `cred-${i}-${generateId()}` }),
      );
      for (const factor of factors) await store.createFactor(factor);
      assert.deepEqual(await store.listFactors('user-1'), factors);
      const first = factors[0] as FactorRecord;
      const advanced = await store.advanceFactor(first.id, first.counter, {
        counter: 1,
        secret: `${secret}🔑`,
      });
      assert.equal(advanced?.secret, `${secret}🔑`);
      assert.equal((await store.getFactor(first.id))?.secret, `${secret}🔑`);
    });
  });
}

function byAge(a: FactorRecord, b: FactorRecord): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
