import type { Store } from '../../src/core/store.js';

/**
 * Wraps a real store and counts the calls made to it by method name — a spy over the real thing, not a
 * mock: every call still goes to the store underneath.
 */
export interface CountingStore {
  store: Store;
  counts: Map<string, number>;
  reset(): void;
  reads(): number;
  writes(): number;
}

const READS = new Set([
  'getLogin',
  'listUserLogins',
  'countUserLogins',
  'countLogins',
  'getUserById',
  'getUserByUsername',
  'listUsers',
  'countUsers',
  'ping',
]);
const WRITES = new Set([
  'createLogin',
  'touchLogin',
  'patchLoginData',
  'deleteLogin',
  'deleteUserLogins',
  'advanceRefresh',
  'createUser',
  'updateUser',
  'deleteUser',
]);

export function countingStore(inner: Store): CountingStore {
  const counts = new Map<string, number>();
  const sum = (names: Set<string>) =>
    [...counts].reduce((total, [name, n]) => total + (names.has(name) ? n : 0), 0);
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        counts.set(property, (counts.get(property) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
  return { store, counts, reset: () => counts.clear(), reads: () => sum(READS), writes: () => sum(WRITES) };
}
