/**
 * Connection strings (`mongodb://` and `mongodb+srv://`), parsed by the driver. keycard adds defaults only
 * where the URL says nothing, and its messages never echo the URL or the credentials in it (../redact.ts).
 */
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { configurationError } from '../../core/errors.js';
import { redactSecrets } from '../redact.js';

/** The driver waits 30 s to find a server; a store that is down should answer 503 within seconds. */
export const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 5000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** Shown in the server's log and `currentOp`, so an operator can tell keycard's connections apart. */
export const DEFAULT_APP_NAME = 'keycard';
/** Used when neither the options nor the URL name a database. */
export const DEFAULT_DATABASE = 'keycard';

/**
 * The driver's grammar for a connection string (mongodb-connection-string-url): scheme `://`, optional
 * `user[:password]@`, a host list with no `/`, `?` or `@`, then the path and options.
 */
const CONNECTION_STRING = /^([^/]+):\/\/(?:([^:@]*)(?::([^@]*))?@)?((?!:)[^/?@]*)(.*)$/s;

/** A client for `url`, with keycard's defaults for the options the URL does not set. */
export function createClient(url: string): MongoClient {
  const given = optionNames(url);
  const options: MongoClientOptions = {};
  // URI option names are case-insensitive; options passed to the client would override the URL's.
  if (!given.has('serverselectiontimeoutms'))
    options.serverSelectionTimeoutMS = DEFAULT_SERVER_SELECTION_TIMEOUT_MS;
  if (!given.has('connecttimeoutms')) options.connectTimeoutMS = DEFAULT_CONNECT_TIMEOUT_MS;
  if (!given.has('appname')) options.appName = DEFAULT_APP_NAME;
  try {
    return new MongoClient(url, options);
  } catch (error) {
    // The driver's error is not kept as `cause`: some (Node's URL errors) carry the whole URL.
    const reason =
      error instanceof Error ? redactSecrets(error.message, url, { hideUser: true }) : 'unknown error';
    throw configurationError(`the mongodb store URL is not valid (${reason}); expected mongodb://host/db`);
  }
}

/** The database the URL's path names, if any (`mongodb://host/keycard` → `keycard`). */
export function databaseInURL(url: string): string | undefined {
  const rest = CONNECTION_STRING.exec(url)?.[5] ?? '';
  const path = rest.split('?')[0] ?? '';
  if (!path.startsWith('/') || path.length === 1) return undefined;
  try {
    return decodeURIComponent(path.slice(1));
  } catch {
    return undefined;
  }
}

/** MongoDB's rules for database names (no `/\. "$` or NUL, under 64 bytes). */
export function checkDatabaseName(name: string): void {
  if (name === '' || /[/\\. "$\0]/.test(name) || Buffer.byteLength(name) >= 64) {
    throw configurationError(
      'the mongodb database name must be 1 to 63 bytes without /, \\, ., space, " or $, e.g. keycard',
    );
  }
}

/** Collection names start with a letter or `_`, and may not use `$` or the reserved `system.` prefix. */
export function checkCollectionPrefix(prefix: string): void {
  if (prefix !== '' && (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(prefix) || prefix.startsWith('system.'))) {
    throw configurationError(
      "the mongodb collectionPrefix must start with a letter or _ and use only letters, digits, _, . and - (default 'keycard_')",
    );
  }
}

function optionNames(url: string): Set<string> {
  const rest = CONNECTION_STRING.exec(url)?.[5] ?? '';
  const query = rest.indexOf('?');
  const names = new Set<string>();
  if (query === -1) return names;
  for (const name of new URLSearchParams(rest.slice(query + 1)).keys()) names.add(name.toLowerCase());
  return names;
}
