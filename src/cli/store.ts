/**
 * Opens the configured store and a keycard on it for the operator's commands: the store, password policy
 * and Argon2 settings of the server's configuration (flags, KEYCARD_* variables, config file).
 *
 * The strategy does not matter here, and no key file is needed: every login record says what ending it
 * requires (a token login carries its refresh state and how long its revocation must be kept), so
 * `keycard user block` and `sessions revoke` run with nothing but `--store` write exactly the revocations
 * that servers of any strategy on that store enforce. The keycard is built with the session strategy,
 * which holds no keys and subscribes to no feed.
 */
import { type AuthEvent, createKeycard, type Keycard, type Store } from 'keycard';
import { loadServerConfig, openStore } from 'keycard/server';
import type { CLIContext } from './io.js';

export interface OpenedKeycard {
  keycard: Keycard;
  store: Store;
  /** The audit events the command's actions emitted, in order (also what a message may claim). */
  events: AuthEvent[];
  close(): Promise<void>;
}

export const STORE_OPTIONS = {
  store: { type: 'string' },
  config: { type: 'string' },
} as const;

export async function openKeycard(
  context: CLIContext,
  flags: { store?: string | undefined; config?: string | undefined },
): Promise<OpenedKeycard> {
  const config = loadServerConfig({ flags: { store: flags.store }, env: context.env, file: flags.config });
  const store = await openStore(config.store);
  const events: AuthEvent[] = [];
  let keycard: Keycard;
  try {
    keycard = createKeycard({
      store,
      strategy: 'session',
      environment: config.environment,
      onEvent: (event) => events.push(event),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  return {
    keycard,
    store,
    events,
    async close() {
      await keycard.close();
      await store.close();
    },
  };
}

/** How many logins the command's actions ended, from its `sessions_revoked` events. */
export function loginsEnded(events: AuthEvent[]): number {
  let count = 0;
  for (const event of events) if (event.type === 'sessions_revoked') count += event.count;
  return count;
}

/** The user a username names, or a failure line that says so. */
export async function requireUser(keycard: Keycard, username: string) {
  const user = await keycard.users.findByUsername(username);
  if (!user) throw new Error(`no user named '${username}'`);
  return user;
}
