/**
 * A store outage behind keycard/fetch is a 503 for the client and a report for the operator: the Fetch
 * handler hands every store_unavailable to `onError` (console.error by default) with its cause, as
 * keycard serve logs it, instead of answering 503s that nobody can explain. The store is a real SQLite
 * file moved away under it.
 */
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { test } from 'node:test';
import { createFetchHandler } from '../../src/api/fetch.js';
import { createKeycard } from '../../src/core/keycard.js';
import { isKeycardError } from '../../src/index.js';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import { FAST_ARGON2 } from '../core/support.js';
import { tempSQLiteFile } from '../helpers/sqlite-file.js';

test('a store_unavailable is answered 503 and reported to onError with its cause; nothing else is', async () => {
  const file = tempSQLiteFile();
  const store = new SQLiteStore({ path: file.path, fileCheckIntervalMs: 0 });
  const keycard = createKeycard({ store, environment: 'development', passwords: { argon2: FAST_ARGON2 } });
  const reported: unknown[] = [];
  const handle = createFetchHandler(keycard, { onError: (error) => reported.push(error) });
  const login = () =>
    handle(
      new Request('http://app.example/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'not the password' }),
      }),
    );
  try {
    await keycard.users.create({ username: 'alice', password: 'correct horse battery staple' });
    const refused = await login();
    assert.equal(refused.status, 401, 'a wrong password is an answer, not an outage');
    assert.deepEqual(reported, [], 'a refusal is not reported');

    renameSync(file.path, `${file.path}.moved`);
    store.checkFile();
    const down = await login();
    assert.equal(down.status, 503, await down.clone().text());
    assert.equal(((await down.json()) as { error: { code: string } }).error.code, 'store_unavailable');
    assert.equal(reported.length, 1);
    const error: unknown = reported.at(0);
    assert.ok(isKeycardError(error));
    assert.equal(error.code, 'store_unavailable');
    assert.match(String((error.cause as Error | undefined)?.message), /ENOENT/, 'the cause says why');
  } finally {
    await keycard.close();
    await store.close();
    file.cleanup();
  }
});
