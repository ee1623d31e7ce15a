/**
 * Stores are chosen by URL: `sqlite:./keycard.db` (default), `sqlite:/abs/path.db`, `memory:`,
 * `redis://…` / `rediss://…` / `redis+cluster://host:port,host:port` /
 * `redis+sentinel://host:port,host:port/mastername`, `postgres://…`, `mongodb://…`.
 * Drivers (optional peer dependencies; better-sqlite3 an optional dependency) are loaded only for the
 * store that is asked for. Messages never echo a URL, which may carry a password; a store that cannot be
 * opened is described by failure.ts.
 */
import { type Clock, configurationError, type Store } from 'keycard';
import { storeOpenError } from './failure.js';

export const DEFAULT_STORE_URL = 'sqlite:./keycard.db';

export type StoreKind = 'sqlite' | 'memory' | 'redis' | 'postgres' | 'mongodb';

export interface StoreLocation {
  kind: StoreKind;
  /** For sqlite: the file path. */
  path?: string;
  /** Parsed `?name=value` options (sqlite and memory). */
  params: URLSearchParams;
  /** The URL as given, for the network stores' own parsers. */
  url: string;
}

const SCHEMES: Record<string, StoreKind> = {
  'sqlite:': 'sqlite',
  'memory:': 'memory',
  'redis:': 'redis',
  'rediss:': 'redis',
  'redis+cluster:': 'redis',
  'redis+sentinel:': 'redis',
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
  'mongodb:': 'mongodb',
  'mongodb+srv:': 'mongodb',
};

const EXAMPLES =
  'sqlite:./keycard.db, memory:, redis://host:6379, postgres://user@host/db or mongodb://host/db';

/** The options a network store's `openStoreURL` receives. */
export interface StoreURLOptions {
  clock?: Clock;
}

/** What each network store module exports for `openStore`. */
export interface StoreModule {
  openStoreURL(url: string, options: StoreURLOptions): Promise<Store>;
}

/** Parses a store URL; throws one clear line naming what is wrong. */
export function parseStoreURL(url: string): StoreLocation {
  if (typeof url !== 'string' || url.trim() === '') {
    throw configurationError(`the store URL is empty; use one of: ${EXAMPLES}`);
  }
  const colon = url.indexOf(':');
  const scheme = colon === -1 ? '' : url.slice(0, colon + 1).toLowerCase();
  const kind = SCHEMES[scheme];
  if (!kind || !Object.hasOwn(SCHEMES, scheme)) {
    const shown = /^[a-z][a-z0-9+.-]{0,20}:$/.test(scheme) ? `'${scheme}'` : 'in the store URL';
    throw configurationError(`unsupported store URL scheme ${shown}: use ${EXAMPLES}`);
  }
  const rest = url.slice(colon + 1);
  if (kind === 'redis' || kind === 'postgres' || kind === 'mongodb') {
    if (!rest.startsWith('//') || rest.length <= 2) {
      throw configurationError(`the ${kind} store URL needs a host, e.g. ${scheme}//localhost`);
    }
    return { kind, params: new URLSearchParams(), url };
  }
  const query = rest.indexOf('?');
  const target = query === -1 ? rest : rest.slice(0, query);
  const params = new URLSearchParams(query === -1 ? '' : rest.slice(query + 1));
  if (kind === 'sqlite') {
    // sqlite:./file.db, sqlite:/abs/file.db, sqlite:///abs/file.db, sqlite::memory:
    const path = target.startsWith('//') ? target.slice(2) : target;
    if (path === '')
      throw configurationError('the sqlite store URL needs a file path, e.g. sqlite:./keycard.db');
    return { kind, path, params, url };
  }
  if (target !== '') throw configurationError("the memory store URL takes no path: use 'memory:'");
  return { kind, params, url };
}

function integerParam(params: URLSearchParams, name: string): number | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw configurationError(`store URL option ${name} must be a whole number`);
  return Number(value);
}

const KNOWN_PARAMS: Record<'sqlite' | 'memory', string[]> = {
  sqlite: ['busyTimeoutMs', 'pruneIntervalMs', 'fileCheckIntervalMs', 'revocationPollIntervalMs'],
  memory: ['maxSessions'],
};

const DRIVERS: Record<StoreKind, string> = {
  sqlite: 'better-sqlite3@12',
  memory: '',
  redis: 'ioredis',
  postgres: 'pg',
  mongodb: 'mongodb',
};

/** Imports a store's module; a missing driver becomes one line saying what to install. */
async function importStore<T>(kind: StoreKind, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw configurationError(
        `the ${kind} store needs the ${DRIVERS[kind]} package: npm install ${DRIVERS[kind]}`,
      );
    }
    throw error;
  }
}

/** Opens the store a URL names (connecting, and migrating where the store does that at start-up). */
export async function openStore(url: string, options: StoreURLOptions = {}): Promise<Store> {
  const location = parseStoreURL(url);
  switch (location.kind) {
    case 'memory':
    case 'sqlite': {
      for (const name of location.params.keys()) {
        const known = KNOWN_PARAMS[location.kind];
        if (!known.includes(name)) {
          throw configurationError(
            `unknown ${location.kind} store URL option '${name}'; known: ${known.join(', ')}`,
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
      const { SQLiteStore } = await importStore('sqlite', () => import('keycard/stores/sqlite'));
      return new SQLiteStore({
        path: location.path as string,
        clock: options.clock,
        busyTimeoutMs: integerParam(location.params, 'busyTimeoutMs'),
        pruneIntervalMs: integerParam(location.params, 'pruneIntervalMs'),
        fileCheckIntervalMs: integerParam(location.params, 'fileCheckIntervalMs'),
        revocationPollIntervalMs: integerParam(location.params, 'revocationPollIntervalMs'),
      });
    }
    case 'redis':
      return openNetworkStore(url, options, await importStore('redis', () => import('keycard/stores/redis')));
    case 'postgres':
      return openNetworkStore(
        url,
        options,
        await importStore('postgres', () => import('keycard/stores/postgres')),
      );
    case 'mongodb':
      return openNetworkStore(
        url,
        options,
        await importStore('mongodb', () => import('keycard/stores/mongodb')),
      );
  }
}

/** Connects; a failure says which server and why (failure.ts), never the password. */
async function openNetworkStore(url: string, options: StoreURLOptions, module: StoreModule): Promise<Store> {
  try {
    return await module.openStoreURL(url, options);
  } catch (error) {
    throw storeOpenError(url, error);
  }
}
