/**
 * Abuse suite: a PostgreSQL store URL's password — in the user info or as a `password=` option — never
 * shows on the sign-in page, in the log or in CLI output, with the store reachable or not; and the
 * first-run command the server prints still works. (PostgreSQL here trusts local connections, so any
 * password opens it for user postgres.) The Redis counterpart is credentials-redis.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tempDir } from '../cli/helpers.js';
import { postgresSkipReason, schemaScope } from '../helpers/postgres-schemas.js';
import { POSTGRES_URL } from '../helpers/services.js';
import {
  closedPort,
  failuresShowNoPassword,
  firstRunShowsNoPassword,
  uniquePassword,
} from './store-credentials.js';

const skip = await postgresSkipReason();
const PASSWORD = uniquePassword('S3cretPw');
const OPTION_PASSWORD = uniquePassword('0ptionPw');

describe('a PostgreSQL store URL with a password', { skip }, () => {
  const schemas = schemaScope();
  const url = (options: { password?: string; query?: string; port?: number } = {}): string => {
    const target = new URL(POSTGRES_URL);
    assert.ok(target.username !== '', 'POSTGRES_URL names a user');
    if (options.port) target.port = String(options.port);
    if (options.password) target.password = options.password;
    target.search = `?schema=${schemas.fresh('kc_creds')}${options.query ?? ''}`;
    return target.toString();
  };

  // guards: the first-run notice printing postgres://user:PASSWORD@… on the public page and in the log
  test('in the user info, given by --store: never on the sign-in page, in the log or in CLI output; the printed command works', async (t) => {
    await firstRunShowsNoPassword(url({ password: PASSWORD }), tempDir(t), 'flag', [PASSWORD]);
  });

  // guards: the same notice printing ?password=… (libpq's option, which pg reads too)
  test('as a password= option, given by KEYCARD_STORE: the same', async (t) => {
    const optionURL = url({ query: `&password=${OPTION_PASSWORD}` });
    await firstRunShowsNoPassword(optionURL, tempDir(t), 'env', [OPTION_PASSWORD]);
  });

  test('unreachable (a closed port): start-up and CLI failures show neither form', async (t) => {
    const both = url({ password: PASSWORD, port: await closedPort(), query: `&PASSWORD=${OPTION_PASSWORD}` });
    await failuresShowNoPassword(both, tempDir(t), [PASSWORD, OPTION_PASSWORD]);
  });
});
