import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { applyPatch, dataBytes, defineKey, diffData, snapshotData } from '../../src/core/session/data.js';
import type { SessionData } from '../../src/core/store.js';

/** Builds an object with own keys, `__proto__` included, the way JSON.parse does. */
function data(entries: Array<[string, unknown]>): SessionData {
  const result: SessionData = {};
  for (const [key, value] of entries) defineKey(result, key, value);
  return result;
}

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** An own property only: `record.__proto__` would otherwise read Object.prototype. */
const own = (record: SessionData, key: string): unknown =>
  Object.hasOwn(record, key) ? record[key] : undefined;

describe('diffData', () => {
  test('returns null when nothing changed', () => {
    const loaded = { user: 'a', cart: [1, 2], prefs: { theme: 'dark' } };
    assert.equal(diffData(snapshotData(loaded), json(loaded)), null);
    assert.equal(diffData(snapshotData({}), {}), null);
  });

  test('detects a changed value and sends only that key', () => {
    assert.deepEqual(diffData(snapshotData({ a: 1, b: 2 }), { a: 1, b: 3 }), { set: { b: 3 }, unset: [] });
  });

  test('detects a new key', () => {
    assert.deepEqual(diffData(snapshotData({ a: 1 }), { a: 1, c: null }), { set: { c: null }, unset: [] });
  });

  test('detects a removed key', () => {
    assert.deepEqual(diffData(snapshotData({ a: 1, b: 2 }), { a: 1 }), { set: {}, unset: ['b'] });
  });

  test('detects a nested change made in place on the loaded object', () => {
    const loaded = { prefs: { theme: 'dark', lang: 'en' }, cart: [1] };
    const snapshot = snapshotData(loaded);
    loaded.prefs.theme = 'light';
    loaded.cart.push(2);
    assert.deepEqual(diffData(snapshot, loaded), {
      set: { prefs: { theme: 'light', lang: 'en' }, cart: [1, 2] },
      unset: [],
    });
  });

  test('treats undefined and functions as absent', () => {
    assert.equal(diffData(snapshotData({}), { a: undefined, f: () => 1 }), null);
    assert.deepEqual(diffData(snapshotData({ a: 1, f: 2 }), { a: undefined, f: () => 1 }), {
      set: {},
      unset: ['a', 'f'],
    });
    assert.equal(snapshotData({ a: undefined }).size, 0);
  });

  test('copies the values it sets, so later changes do not leak into the patch', () => {
    const current = { cart: [1] };
    const patch = diffData(snapshotData({}), current);
    current.cart.push(2);
    assert.deepEqual(patch?.set, { cart: [1] });
  });

  test('handles a __proto__ key as data, as an own key of the patch', () => {
    const current = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as SessionData;
    const patch = diffData(snapshotData({}), current);
    assert.ok(patch);
    assert.equal(Object.hasOwn(patch.set, '__proto__'), true);
    assert.equal(Object.getPrototypeOf(patch.set), Object.prototype);
    assert.equal((patch.set as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(patch.set).sort(), ['__proto__', 'a']);
  });
});

describe('applyPatch', () => {
  test('sets and unsets keys on a copy, leaving the input untouched', () => {
    const original = { a: 1, b: 2 };
    const result = applyPatch(original, { set: { b: 3, c: 4 }, unset: ['a'] });
    assert.deepEqual(result, { b: 3, c: 4 });
    assert.deepEqual(original, { a: 1, b: 2 });
    assert.notEqual(result, original);
  });

  test('defines __proto__ as an own key without re-parenting the result or polluting Object.prototype', () => {
    const patch = { set: data([['__proto__', { polluted: true }]]), unset: [] };
    const result = applyPatch({}, patch);
    assert.equal(Object.hasOwn(result, '__proto__'), true);
    assert.equal(Object.getPrototypeOf(result), Object.prototype);
    assert.equal((result as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(JSON.parse(JSON.stringify(result)), JSON.parse('{"__proto__": {"polluted": true}}'));
  });

  test('can unset a __proto__ key', () => {
    const result = applyPatch(
      data([
        ['__proto__', 1],
        ['a', 2],
      ]),
      { set: {}, unset: ['__proto__'] },
    );
    assert.deepEqual(Object.keys(result), ['a']);
  });
});

describe('dataBytes', () => {
  test('measures UTF-8 bytes of the JSON', () => {
    assert.equal(dataBytes({}), 2);
    assert.equal(dataBytes({ a: 'é' }), Buffer.byteLength('{"a":"é"}'));
    assert.equal(dataBytes({ a: 'é' }), 10);
    assert.equal(dataBytes({ a: '😀' }), 12);
  });
});

describe('diffData and applyPatch together', () => {
  const key = fc.oneof(
    fc.constantFrom('a', 'b', 'cart', '__proto__', 'constructor', 'toString', 'hasOwnProperty'),
    fc.string({ maxLength: 6 }),
  );
  const value = fc.oneof(
    fc.constantFrom(1, 'x', null, true, [1], { n: 1 }, undefined),
    fc.jsonValue({ maxDepth: 3 }),
    fc.constant(() => 1),
  );
  const record = fc.array(fc.tuple(key, value), { maxLength: 8 }).map(data);

  test('applyPatch(old, diffData(snapshot(old), new)) equals new after a JSON round trip', () => {
    fc.assert(
      fc.property(record, record, (loadedRaw, current) => {
        // What a store returns is JSON already: that is what a request loads.
        const old = json(loadedRaw);
        const patch = diffData(snapshotData(old), current) ?? { set: {}, unset: [] };
        const result = applyPatch(old, patch);
        assert.deepEqual(result, json(current));
        assert.deepEqual(Object.keys(Object.prototype), []);
      }),
      { numRuns: 1000 },
    );
  });

  test('finds no change between data and its JSON copy', () => {
    fc.assert(
      fc.property(record, (raw) => {
        const loaded = json(raw);
        assert.equal(diffData(snapshotData(loaded), json(loaded)), null);
      }),
    );
  });

  test('sends only the keys whose JSON changed', () => {
    fc.assert(
      fc.property(record, record, (loadedRaw, current) => {
        const old = json(loadedRaw);
        const patch = diffData(snapshotData(old), current);
        if (!patch) return;
        for (const k of Object.keys(patch.set)) {
          assert.notEqual(
            JSON.stringify(own(old, k)),
            JSON.stringify(own(patch.set, k)),
            `key ${k} did not change`,
          );
        }
        for (const k of patch.unset) {
          assert.notEqual(JSON.stringify(own(old, k)), undefined, `key ${k} was not there`);
          assert.equal(JSON.stringify(own(current, k)), undefined, `key ${k} is still there`);
        }
      }),
    );
  });
});
