/**
 * The first admin, and what a newcomer is told while there is none.
 *
 * `keycard serve` can create the first admin itself (KEYCARD_ADMIN_USERNAME and KEYCARD_ADMIN_PASSWORD_FILE,
 * or the password on stdin): a container needs no second process to bootstrap, and the `memory:` store —
 * which no other process can reach — gets a user at all. It does so only while the store has no users:
 * it never creates a second admin on a later start, and never changes an existing user or password, so
 * the settings may stay in place after the first start. The password is checked against the password
 * policy before anything is written, and never logged.
 *
 * Otherwise the log and the sign-in page show a command that creates the first admin, one that works for
 * the store in use: `keycard user add` for a store another process can open, the restart with the
 * settings above for a store that lives in this process.
 */
import { readFileSync } from 'node:fs';
import { checkNewPassword, configurationError, isKeycardError, type Keycard } from 'keycard';
import { DEFAULT_STORE_URL, parseStoreURL, redactURL } from 'keycard/stores';
import type { FirstAdminConfig, ServerConfig } from './config.js';
import { SETTINGS } from './settings.js';

/** A password file larger than this is not a password file (and is not read into memory whole). */
const MAX_PASSWORD_FILE_BYTES = 64 * 1024;

/** Reads how the password was given: stdin (through `readStdin`) or a file, less one trailing newline. */
export async function readFirstAdminPassword(
  keycard: Keycard,
  admin: FirstAdminConfig,
  readStdin: ((check: (password: string) => string | null) => Promise<string>) | undefined,
): Promise<string> {
  if (admin.passwordFile === '-') {
    if (!readStdin) {
      throw configurationError(
        `${admin.passwordFrom} is '-' (stdin), which only keycard serve reads; give a file instead`,
      );
    }
    // The policy is checked as soon as the password is typed (before a terminal asks for it again), and a
    // refusal says whose password it was.
    return readStdin((password) => {
      checkFirstAdminPassword(keycard, admin, password);
      return null;
    });
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(admin.passwordFile);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable'
          : `cannot be read (${code})`;
    throw configurationError(
      `the first admin's password file ${admin.passwordFile} (${admin.passwordFrom}) ${why}`,
    );
  }
  if (bytes.length > MAX_PASSWORD_FILE_BYTES) {
    throw configurationError(
      `the first admin's password file ${admin.passwordFile} is larger than 64 KiB; it should hold only the password`,
    );
  }
  // Secrets mounted by Docker or Kubernetes, and `echo pw > file`, end with a newline that is no part of it.
  return bytes.toString('utf8').replace(/\r?\n$/, '');
}

/**
 * The first admin's password, checked against the server's password policy, or a configuration error
 * saying what is wrong with it (never the password itself).
 */
export function checkFirstAdminPassword(keycard: Keycard, admin: FirstAdminConfig, password: string): void {
  const problem = checkNewPassword(password, keycard.options.passwordPolicy, { username: admin.username });
  if (problem) {
    throw configurationError(
      `the first admin's password (${admin.passwordFrom}) is refused: ${problem}; nothing was created`,
    );
  }
}

/** What `createFirstAdmin` did, for the log. */
export type FirstAdminResult = 'created' | 'created elsewhere';

/**
 * Creates the first admin. Another instance starting on the same empty store at the same moment may win
 * the race for the name: that is no failure, the admin exists.
 */
export async function createFirstAdmin(
  keycard: Keycard,
  admin: FirstAdminConfig,
  password: string,
): Promise<FirstAdminResult> {
  try {
    await keycard.users.create(
      { username: admin.username, password, role: 'admin' },
      { ip: null, userAgent: 'keycard serve' },
    );
    return 'created';
  } catch (error) {
    if (isKeycardError(error) && error.code === 'username_taken') return 'created elsewhere';
    throw error;
  }
}

/** True for a store that lives inside this process (`memory:`, SQLite's `:memory:`): no other process sees it. */
export function isProcessLocalStore(url: string): boolean {
  const location = parseStoreURL(url);
  return location.kind === 'memory' || (location.kind === 'sqlite' && location.path === ':memory:');
}

/** A shell word: single-quoted, with any `'` inside closed, escaped and reopened. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * The command a newcomer runs to create the first admin, for the log and the sign-in page (which anyone
 * can read while there are no users).
 *
 * For a store in this process, `keycard user add` would write to a memory of its own: the command
 * restarts the server with the first admin instead (it asks for the password, or reads it from stdin).
 *
 * Otherwise it is `keycard user add`. A store URL is shown only through `redactURL`; when it carries a
 * password, the command reads the URL from `KEYCARD_STORE` instead of printing it, and a shell comment
 * (ignored when the line is pasted) says which URL that is, its password shown as `***`. An unset
 * variable makes the command fail ("--store: expected a non-empty string") rather than quietly create
 * the admin in the default SQLite file.
 */
export function firstAdminCommand(config: ServerConfig): string {
  if (isProcessLocalStore(config.store)) {
    return `${SETTINGS.adminUsername.env}=admin npx keycard serve --store ${shellQuote(config.store)} --${SETTINGS.adminPasswordFile.flag} -`;
  }
  const command = 'npx keycard user add admin --role admin --password-stdin';
  if (config.store === DEFAULT_STORE_URL) return command;
  const shown = redactURL(config.store);
  if (shown === config.store) return `${command} --store ${shellQuote(config.store)}`;
  // A control character (a newline) would end the comment and turn the rest into a command.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  const note = shown.replace(/[\u0000-\u001f\u007f]/g, '?');
  return `${command} --store "$KEYCARD_STORE"  # KEYCARD_STORE: this server's store URL, ${note} (password not shown)`;
}

/** The start-up log line while there are no users: the command, and why it is that command. */
export function firstAdminHint(config: ServerConfig): string {
  const command = firstAdminCommand(config);
  if (isProcessLocalStore(config.store)) {
    return `no users yet, and this store lives only in this process, where no other command can reach it. Restart with the first admin, adding your other options:  ${command}`;
  }
  return `no users yet. Create the first admin with:  ${command}`;
}
