/** Opens the configured store (flag, KEYCARD_STORE, config file, default) and a keycard on it. */
import { createKeycard, type Keycard, type Store } from 'keycard';
import { loadServerConfig, openStore } from 'keycard/server';
import type { CLIContext } from './io.js';

export interface OpenedKeycard {
  keycard: Keycard;
  store: Store;
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
  const keycard = createKeycard({ store, preset: config.preset, environment: config.environment });
  return { keycard, store, close: () => store.close() };
}

/** The user a username names, or a failure line that says so. */
export async function requireUser(keycard: Keycard, username: string) {
  const user = await keycard.users.findByUsername(username);
  if (!user) throw new Error(`no user named '${username}'`);
  return user;
}
