import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthEvent } from '../../src/core/events.js';
import { createKeycard } from '../../src/core/keycard.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { FAST_ARGON2 } from './support.js';

const PASSWORD = 'correct horse battery staple';

async function harness() {
  const events: AuthEvent[] = [];
  const keycard = createKeycard({
    store: new MemoryStore(),
    environment: 'development',
    passwords: { argon2: FAST_ARGON2 },
    onEvent: (event) => events.push(event),
  });
  const alice = await keycard.users.create({ username: 'alice', password: PASSWORD });
  const mallory = await keycard.users.create({ username: 'mallory', password: PASSWORD });
  const login = async (userId: string) =>
    (
      await keycard.logins.create({
        user: { id: userId, username: 'x', role: 'user' },
        data: {},
        ip: null,
        userAgent: null,
      })
    ).login;
  return { keycard, events, alice, mallory, login };
}

test('revokeSession ends the user’s own login and emits session_revoked with who did it', async () => {
  const h = await harness();
  const one = await h.login(h.alice.id);
  h.events.length = 0;
  assert.equal(await h.keycard.revokeSession(h.alice.id, one.id, { by: 'admin', ip: '192.0.2.7' }), true);
  assert.equal(await h.keycard.store.getLogin(one.id), null);
  assert.deepEqual(h.events, [
    { type: 'session_revoked', userId: h.alice.id, sessionId: one.id, by: 'admin', ip: '192.0.2.7' },
  ]);
});

test('revokeSession refuses another user’s login: nothing ends and no event claims it did', async () => {
  const h = await harness();
  const hers = await h.login(h.alice.id);
  h.events.length = 0;
  assert.equal(await h.keycard.revokeSession(h.mallory.id, hers.id, { by: 'user' }), false);
  assert.notEqual(await h.keycard.store.getLogin(hers.id), null);
  assert.deepEqual(h.events, []);
});

test('revokeAllSessions ends every login but the one kept, and the event counts them', async () => {
  const h = await harness();
  const kept = await h.login(h.alice.id);
  const others = [await h.login(h.alice.id), await h.login(h.alice.id)];
  const bystander = await h.login(h.mallory.id);
  h.events.length = 0;
  const count = await h.keycard.revokeAllSessions(h.alice.id, { reason: 'logout_all', exceptId: kept.id });
  assert.equal(count, 2);
  for (const login of others) assert.equal(await h.keycard.store.getLogin(login.id), null);
  assert.notEqual(await h.keycard.store.getLogin(kept.id), null);
  assert.notEqual(await h.keycard.store.getLogin(bystander.id), null);
  assert.deepEqual(h.events, [
    { type: 'sessions_revoked', userId: h.alice.id, count: 2, reason: 'logout_all' },
  ]);
});
