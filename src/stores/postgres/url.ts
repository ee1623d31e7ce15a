/**
 * `postgres://` and `postgresql://` store URLs. keycard's own options ride in the query string and are
 * removed before the URL goes to pg, which reads everything else (sslmode, application_name, options, …):
 *
 *   postgres://keycard:secret@db.internal:5432/app?schema=keycard&migrate=false&poolMax=20
 *
 * | option                  | default | meaning                                                           |
 * | ----------------------- | ------- | ----------------------------------------------------------------- |
 * | `schema`                | keycard | schema holding keycard's tables                                   |
 * | `migrate`               | true    | apply pending migrations at start-up; false: refuse an old schema |
 * | `pruneIntervalMs`       | 300000  | how often an instance tries to prune expired rows (0: never)      |
 * | `poolMax`               | 10      | most connections this instance opens                              |
 * | `idleTimeoutMs`         | 30000   | close a connection idle this long                                 |
 * | `connectionTimeoutMs`   | 5000    | fail when no connection is available after this long              |
 * | `statementTimeoutMs`    | 5000    | the server cancels a statement running longer (0: no limit)       |
 * | `revocationKeepaliveMs` | 5000    | check the revocation feed's connection this often (0: never)      |
 *
 * Messages never echo the URL: it may carry a password.
 */
import type { Clock } from '../../core/clock.js';
import { configurationError } from '../../core/errors.js';
import { PostgresStore, type PostgresStoreOptions } from './store.js';

const NUMBER_OPTIONS = [
  'pruneIntervalMs',
  'poolMax',
  'idleTimeoutMs',
  'connectionTimeoutMs',
  'statementTimeoutMs',
  'revocationKeepaliveMs',
] as const;
const OPTIONS = new Set<string>(['schema', 'migrate', ...NUMBER_OPTIONS]);

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw configurationError('the postgres store URL has a malformed %-escape in its query string');
  }
}

/** The store options a URL names, with keycard's options taken out of the connection string. */
export function postgresOptionsFromURL(url: string): PostgresStoreOptions {
  if (!/^postgres(ql)?:\/\/./i.test(url)) {
    throw configurationError(
      'a postgres store URL starts with postgres:// or postgresql://, e.g. postgres://user@host/db',
    );
  }
  const hash = url.indexOf('#');
  const base = hash === -1 ? url : url.slice(0, hash);
  const question = base.indexOf('?');
  const options: PostgresStoreOptions = {};
  const kept: string[] = [];
  if (question !== -1) {
    // Split by hand rather than re-serializing a URL object, so pg gets every other byte exactly as written.
    for (const pair of base.slice(question + 1).split('&')) {
      if (pair === '') continue;
      const equals = pair.indexOf('=');
      const name = decode(equals === -1 ? pair : pair.slice(0, equals));
      const value = equals === -1 ? '' : decode(pair.slice(equals + 1));
      if (!OPTIONS.has(name)) {
        kept.push(pair);
        continue;
      }
      if (name === 'schema') {
        options.schema = value;
      } else if (name === 'migrate') {
        if (value !== 'true' && value !== 'false') {
          throw configurationError('store URL option migrate must be true or false');
        }
        options.migrate = value === 'true';
      } else {
        if (!/^\d{1,9}$/.test(value)) {
          throw configurationError(`store URL option ${name} must be a whole number`);
        }
        options[name as (typeof NUMBER_OPTIONS)[number]] = Number(value);
      }
    }
  }
  const connection = question === -1 ? base : base.slice(0, question);
  options.connectionString = kept.length === 0 ? connection : `${connection}?${kept.join('&')}`;
  return options;
}

/** `keycard/stores/*` modules' entry for store URLs: connects, and migrates unless `?migrate=false`. */
export function openStoreURL(url: string, options: { clock?: Clock } = {}): Promise<PostgresStore> {
  return PostgresStore.open({ ...postgresOptionsFromURL(url), clock: options.clock });
}
