/**
 * Opens the configured store and a keycard on it for the operator's commands: the store, password policy
 * and Argon2 settings of the server's configuration (flags, KEYCARD_* variables, config file), and the
 * audit log the command's changes are written to (audit.ts).
 *
 * The strategy does not matter here, and no key file is needed: every login record says what ending it
 * requires (a token login carries its refresh state and how long its revocation must be kept), so
 * `keycard user block` and `sessions revoke` run with nothing but `--store` write exactly the revocations
 * that servers of any strategy on that store enforce. The keycard is built with the session strategy,
 * which holds no keys and subscribes to no feed.
 */
import { type AuthEvent, createKeycard, type Keycard, type Store } from 'keycard';
import { loadServerConfig, openStore, type ServerConfig } from 'keycard/server';
import { type Flag, type Parsed, stringFlag } from './args.js';
import { openAuditLog } from './audit.js';
import type { CLIContext } from './io.js';

export interface OpenedKeycard {
  keycard: Keycard;
  store: Store;
  /** The audit events the command's actions emitted, in order (also what a message may claim). */
  events: AuthEvent[];
  /** Closes the keycard, the store and the audit log; fails if an audit event could not be written. */
  close(): Promise<void>;
}

/** The flags of every command that opens the store. */
export const STORE_FLAGS: Record<string, Flag> = {
  store: {
    type: 'string',
    value: 'URL',
    help: 'the store (KEYCARD_STORE; default sqlite:./keycard.db)',
  },
  config: { type: 'string', value: 'FILE', help: 'JSON config file, as for keycard serve (KEYCARD_CONFIG)' },
  'audit-log': {
    type: 'string',
    value: 'FILE',
    help: 'append audit events to FILE; - is stderr (KEYCARD_AUDIT_LOG; default -)',
  },
};

export async function openKeycard(
  context: CLIContext,
  command: string,
  parsed: Parsed,
): Promise<OpenedKeycard> {
  const audit = openAuditLog(context, stringFlag(parsed, 'audit-log'), command);
  const events: AuthEvent[] = [];
  let auditFailure: unknown = null;
  let config: ServerConfig;
  let store: Store;
  try {
    config = loadServerConfig({
      flags: { store: stringFlag(parsed, 'store') },
      env: context.env,
      file: stringFlag(parsed, 'config'),
    });
    store = await openStore(config.store);
  } catch (error) {
    audit.close();
    throw error;
  }
  let keycard: Keycard;
  try {
    keycard = createKeycard({
      store,
      strategy: 'session',
      environment: config.environment,
      // Events go to the store's audit log too; pruning it is the server's job, not each command's.
      audit: { prune: false },
      onEvent(event) {
        events.push(event);
        audit.record(event);
      },
      // An event that could not be written fails the command (after its change: the line says so).
      onHookError: (error) => {
        auditFailure ??= error;
      },
    });
  } catch (error) {
    audit.close();
    await store.close();
    throw error;
  }
  return {
    keycard,
    store,
    events,
    async close() {
      try {
        await keycard.close();
        await store.close();
      } finally {
        audit.close();
      }
      if (auditFailure !== null) {
        throw new Error(
          `the change was made, but its audit event could not be written: ${(auditFailure as Error).message}`,
        );
      }
    },
  };
}

/** Runs `action` on the keycard for `command`, and closes it (reporting an audit failure) after. */
export async function withKeycard(
  context: CLIContext,
  command: string,
  parsed: Parsed,
  action: (opened: OpenedKeycard) => Promise<number>,
): Promise<number> {
  const opened = await openKeycard(context, command, parsed);
  let code: number;
  try {
    code = await action(opened);
  } catch (error) {
    // The action's failure is the one to report; closing still happens.
    await opened.close().catch(() => {});
    throw error;
  }
  await opened.close();
  return code;
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
