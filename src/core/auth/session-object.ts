/**
 * The object applications read and write as `req.session`, express-session style. Own enumerable
 * properties are the data; `id` and the methods live on a shared prototype (non-writable, so assigning
 * `req.session.save = x` throws instead of hiding the method).
 */
import { AUTHENTICATION_KEY } from '../logins/authentication.js';
import { BROWSER_SESSION_KEY } from '../logins/cookie-lifetime.js';
import type { AuthContext } from './context.js';

export interface SessionObject {
  [key: string]: unknown;
  readonly id: string | null;
  regenerate(callback?: (error?: unknown) => void): Promise<void>;
  destroy(callback?: (error?: unknown) => void): Promise<void>;
  save(callback?: (error?: unknown) => void): Promise<void>;
  reload(callback?: (error?: unknown) => void): Promise<void>;
}

/**
 * Names the session object uses itself (as data keys they would hide its methods after a reload), and the
 * login's own markers (logins/cookie-lifetime.ts, logins/authentication.ts), which an app must neither see
 * nor change.
 */
export const RESERVED_DATA_KEYS: ReadonlySet<string> = new Set([
  'id',
  'regenerate',
  'destroy',
  'save',
  'reload',
  BROWSER_SESSION_KEY,
  AUTHENTICATION_KEY,
]);

/**
 * The request a session object belongs to, under a symbol: non-enumerable and not a string key, so it is
 * never data (no WeakMap entry per request, which costs the garbage collector).
 */
const OWNER = Symbol('keycard.request');

function owner(session: object): AuthContext {
  const context = (session as { [OWNER]?: AuthContext })[OWNER];
  if (!context) throw new TypeError('keycard: this session object does not belong to a request');
  return context;
}

/** express-session's methods take an optional callback; ours also return the promise. */
function settle(
  pending: Promise<unknown> | undefined,
  callback: ((error?: unknown) => void) | undefined,
): Promise<void> {
  const done = Promise.resolve(pending).then(() => undefined);
  if (callback) done.then(() => callback(), callback);
  return done;
}

const sessionPrototype: object = Object.create(Object.prototype, {
  id: {
    get(this: object) {
      return owner(this).session?.id ?? null;
    },
  },
  regenerate: {
    value(this: object, callback?: (error?: unknown) => void) {
      return settle(owner(this).regenerate(), callback);
    },
  },
  destroy: {
    value(this: object, callback?: (error?: unknown) => void) {
      return settle(owner(this).logout(), callback);
    },
  },
  save: {
    value(this: object, callback?: (error?: unknown) => void) {
      return settle(owner(this).commit(), callback);
    },
  },
  reload: {
    value(this: object, callback?: (error?: unknown) => void) {
      return settle(owner(this).reload(), callback);
    },
  },
});

export function createSessionObject(context: AuthContext): SessionObject {
  const session = Object.create(sessionPrototype) as SessionObject;
  Object.defineProperty(session, OWNER, { value: context });
  return session;
}
