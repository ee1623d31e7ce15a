/**
 * A store built by another checkout (BENCH_BEFORE) for this checkout's callers. Checkouts from before the
 * LoginRecord rename (issue 14) name the login methods `createSession`, `getSession`, `listUserSessions`,
 * …; a method this checkout calls by its new name is looked up by the old one when the store lacks it.
 */
import type { Store } from 'keycard';

export function olderStore(store: object): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (typeof property === 'string' && !(property in target)) {
        const old = property.replace('Logins', 'Sessions').replace('Login', 'Session');
        if (old in target) return Reflect.get(target, old, receiver);
      }
      return Reflect.get(target, property, receiver);
    },
  }) as Store;
}
