/**
 * The store instrumentation layer: every call keycard makes to its store, seen from outside the store.
 * Traces (core/telemetry/tracing.ts) and the server's metrics hang on it, so no store and no core module
 * carries a counter or a span of its own, and a store written by an app is measured like ours.
 */
import type { Store } from '../store.js';

/** The store contract's capabilities (core/store.ts), plus `store` for its lifecycle (`ping`, `close`). */
export type StoreCapability =
  | 'logins'
  | 'users'
  | 'counters'
  | 'revocations'
  | 'clients'
  | 'audit'
  | 'tokens'
  | 'factors'
  | 'store';

/**
 * Every method of the Store contract, by capability: the closed set an operation label or span attribute
 * takes its value from. A method a store has beyond the contract is passed through unmeasured.
 */
export const STORE_OPERATIONS: Readonly<Record<string, StoreCapability>> = Object.freeze({
  createLogin: 'logins',
  getLogin: 'logins',
  touchLogin: 'logins',
  patchLoginData: 'logins',
  deleteLogin: 'logins',
  listUserLogins: 'logins',
  countUserLogins: 'logins',
  countLogins: 'logins',
  advanceRefresh: 'logins',
  deleteUserLogins: 'logins',
  createUser: 'users',
  getUserById: 'users',
  getUserByUsername: 'users',
  getUserByEmail: 'users',
  listUsers: 'users',
  countUsers: 'users',
  updateUser: 'users',
  deleteUser: 'users',
  incrementCounter: 'counters',
  readCounter: 'counters',
  resetCounter: 'counters',
  releaseCounter: 'counters',
  addRevocation: 'revocations',
  addRevocations: 'revocations',
  listRevocations: 'revocations',
  isRevoked: 'revocations',
  subscribeRevocations: 'revocations',
  createClient: 'clients',
  getClient: 'clients',
  listClients: 'clients',
  updateClient: 'clients',
  deleteClient: 'clients',
  appendAudit: 'audit',
  listAudit: 'audit',
  pruneAudit: 'audit',
  putAccountToken: 'tokens',
  getAccountToken: 'tokens',
  takeAccountToken: 'tokens',
  createFactor: 'factors',
  listFactors: 'factors',
  getFactor: 'factors',
  getFactorByCredentialId: 'factors',
  advanceFactor: 'factors',
  deleteFactor: 'factors',
  deleteUserFactors: 'factors',
  ping: 'store',
  close: 'store',
});

/** One store call, as instrumentation sees it: never its arguments' values in a label or attribute. */
export interface StoreCall {
  /** The store's `kind`: `memory`, `sqlite`, `redis`, `postgres`, `mongodb`, or an app store's own. */
  readonly store: string;
  readonly capability: StoreCapability;
  /** The contract's method name: `getLogin`, `incrementCounter`, … */
  readonly operation: string;
}

/**
 * Runs one store call (`run`) and observes it: a timer, a span. It must return what `run` returns and
 * reject as it rejects. `args` are the call's arguments, for hooks that count what was written (never for
 * a label: they hold ids and user data).
 */
export type StoreCallHook = (
  call: StoreCall,
  args: readonly unknown[],
  run: () => Promise<unknown>,
) => Promise<unknown>;

/**
 * The store, with every contract method passing through `hook`. Everything else — `kind`, a method only
 * this store has, whether an optional method such as `addRevocations` exists — is the store's own, so
 * the result can stand in for it anywhere (`instanceof` included).
 */
export function instrumentStore<S extends Store>(store: S, hook: StoreCallHook): S {
  const methods = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property) {
      const known = methods.get(property);
      if (known !== undefined) return known;
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const capability = typeof property === 'string' ? STORE_OPERATIONS[property] : undefined;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      const wrapped = capability
        ? (...args: unknown[]) =>
            hook({ store: target.kind, capability, operation: property as string }, args, () =>
              method.apply(target, args),
            )
        : method.bind(target);
      methods.set(property, wrapped);
      return wrapped;
    },
  });
}
