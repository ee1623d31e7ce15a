/**
 * The "session → login" rename kept the old names as deprecated aliases, so that an app written against
 * them keeps working: each old name must give exactly what the new one gives.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKeycard } from '../../src/core/keycard.js';
import type { LoginRecord, SessionRecord } from '../../src/core/store.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { FAST_ARGON2, requestInfo } from './support.js';

const PASSWORD = 'correct horse battery staple';

test('keycard.sessions, context.session and signIn’s session are the login registry, the login record and the login', async () => {
  const keycard = createKeycard({
    store: new MemoryStore(),
    environment: 'development',
    passwords: { argon2: FAST_ARGON2 },
  });
  assert.equal(keycard.sessions, keycard.logins);
  await keycard.users.create({ username: 'alice', password: PASSWORD });
  const context = await keycard.authenticate(
    requestInfo({ method: 'POST', headers: { host: 'app.example' } }),
    () => {},
  );
  const result = await keycard.signIn(context, { username: 'alice', password: PASSWORD });
  assert.ok(result.ok);
  assert.equal(result.session, result.login);
  assert.ok(context.loginRecord, 'the context holds the new login');
  assert.equal(context.session, context.loginRecord);
  assert.equal(context.loginRecord.id, result.login.id);
  const old: SessionRecord = result.login;
  const renamed: LoginRecord = old;
  assert.equal((await keycard.logins.listForUser(result.user.id))[0]?.id, renamed.id);
  await keycard.close();
});
