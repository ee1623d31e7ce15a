/**
 * Stores are chosen by URL: `sqlite:./keycard.db` (default), `sqlite:/abs/path.db`, `memory:`.
 * Later backends (redis://, postgres://, mongodb://) plug in here. Drivers are optional peer
 * dependencies, loaded only for the store that is asked for.
 */
import { type Clock, configurationError, type Store } from 'keycard';

export const DEFAULT_STORE_URL = 'sqlite:./keycard.db';

export interface StoreLocation {
  kind: 'sqlite' | 'memory';
  /** For sqlite: the file path. */
  path?: string;
  /** Parsed `?name=value` options. */
  params: URLSearchParams;
}

const SCHEMES = ['sqlite:', 'memory:'];

/** Parses a store URL; throws one clear line naming what is wrong. Never echoes credentials. */
export function parseStoreURL(url: string): StoreLocation {
  if (typeof url !== 'string' || url.trim() === '') {
    throw configurationError(`the store URL is empty; use one of: ${SCHEMES.map((s) => `${s}…`).join(', ')}`);
  }
  const colon = url.indexOf(':');
  const scheme = colon === -1 ? '' : url.slice(0, colon + 1).toLowerCase();
  const rest = colon === -1 ? url : url.slice(colon + 1);
  const query = rest.indexOf('?');
  const target = query === -1 ? rest : rest.slice(0, query);
  const params = new URLSearchParams(query === -1 ? '' : rest.slice(query + 1));
  switch (scheme) {
    case 'sqlite:': {
      // sqlite:./file.db, sqlite:/abs/file.db, sqlite:///abs/file.db, sqlite::memory:
      const path = target.startsWith('//') ? target.slice(2) : target;
      if (path === '')
        throw configurationError('the sqlite store URL needs a file path, e.g. sqlite:./keycard.db');
      return { kind: 'sqlite', path, params };
    }
    case 'memory:':
      if (target !== '') throw configurationError("the memory store URL takes no path: use 'memory:'");
      return { kind: 'memory', params };
    default:
      throw configurationError(
        `unsupported store URL scheme '${scheme || url.slice(0, 16)}': use sqlite:./keycard.db or memory:`,
      );
  }
}

function integerParam(params: URLSearchParams, name: string): number | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw configurationError(`store URL option ${name} must be a whole number`);
  return Number(value);
}

const KNOWN_PARAMS: Record<StoreLocation['kind'], string[]> = {
  sqlite: ['busyTimeoutMs', 'pruneIntervalMs', 'fileCheckIntervalMs'],
  memory: ['maxSessions'],
};

/** Opens the store a URL names. */
export async function openStore(url: string, options: { clock?: Clock } = {}): Promise<Store> {
  const location = parseStoreURL(url);
  for (const name of location.params.keys()) {
    if (!KNOWN_PARAMS[location.kind].includes(name)) {
      throw configurationError(
        `unknown ${location.kind} store URL option '${name}'; known: ${KNOWN_PARAMS[location.kind].join(', ')}`,
      );
    }
  }
  if (location.kind === 'memory') {
    const { MemoryStore } = await import('keycard/stores/memory');
    return new MemoryStore({
      clock: options.clock,
      maxSessions: integerParam(location.params, 'maxSessions'),
    });
  }
  let module: typeof import('keycard/stores/sqlite');
  try {
    module = await import('keycard/stores/sqlite');
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw configurationError(
        'the sqlite store needs the better-sqlite3 package: npm install better-sqlite3@12',
      );
    }
    throw error;
  }
  return new module.SQLiteStore({
    path: location.path as string,
    clock: options.clock,
    busyTimeoutMs: integerParam(location.params, 'busyTimeoutMs'),
    pruneIntervalMs: integerParam(location.params, 'pruneIntervalMs'),
    fileCheckIntervalMs: integerParam(location.params, 'fileCheckIntervalMs'),
  });
}
