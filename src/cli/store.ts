/**
 * Opens the configured store and a keycard on it built exactly as `keycard serve` builds its own: the
 * same configuration (flags, KEYCARD_* variables, config file), strategy, preset and key file. So every
 * command that ends logins goes through the one revocation path and, in the jwt and hybrid strategies,
 * stores the revocation records that running servers enforce.
 */
import { existsSync } from 'node:fs';
import { configurationError, createKeycard, type Keycard, type Store } from 'keycard';
import {
  loadServerConfig,
  loadServerKeys,
  openStore,
  type ServerConfig,
  serverKeycardOptions,
  serverStrategy,
} from 'keycard/server';
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

/**
 * The server's key file, read and never written: unlike `keycard serve` in development, the CLI does not
 * generate keys. A key file the CLI made up (in whatever directory it ran) would not be the servers', and
 * a token strategy needs the servers' keys; so a missing file is a failure that names the setting.
 * The session strategy needs no keys: without a file it runs without them.
 */
function readServerKeys(config: ServerConfig) {
  const strategy = serverStrategy(config);
  if (!existsSync(config.keysFile)) {
    if (strategy === 'session') return undefined;
    throw configurationError(
      `the ${strategy} strategy needs the server's key file, and ${config.keysFile} does not exist: set KEYCARD_KEYS_FILE (or keysFile in the config file) to the file keycard serve uses`,
    );
  }
  // 'production': load and validate only — a file without signing keys fails instead of being completed.
  const keys = loadServerKeys(config.keysFile, {
    environment: 'production',
    needSigningKeys: strategy !== 'session',
    algorithm: config.keyAlgorithm,
  });
  return { jwtKeys: keys.jwtKeys, secrets: keys.secrets };
}

export async function openKeycard(
  context: CLIContext,
  flags: { store?: string | undefined; config?: string | undefined },
): Promise<OpenedKeycard> {
  const config = loadServerConfig({ flags: { store: flags.store }, env: context.env, file: flags.config });
  const keys = readServerKeys(config);
  const store = await openStore(config.store);
  let keycard: Keycard;
  try {
    keycard = createKeycard(serverKeycardOptions(config, { store, keys }));
  } catch (error) {
    await store.close();
    throw error;
  }
  return {
    keycard,
    store,
    async close() {
      // The keycard first: in the hybrid strategy it holds a subscription to the store's feed.
      await keycard.close();
      await store.close();
    },
  };
}

/** The user a username names, or a failure line that says so. */
export async function requireUser(keycard: Keycard, username: string) {
  const user = await keycard.users.findByUsername(username);
  if (!user) throw new Error(`no user named '${username}'`);
  return user;
}
