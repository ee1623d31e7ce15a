/**
 * API clients: secrets shown once and kept as hashes, scope limits, rotation with an overlap (injected
 * clock), and revocation of tokens when a client is disabled, removed, or rotated past its overlap.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { CLIENT_TOKEN_TYPE, createClientService } from '../../src/core/clients/service.js';
import { createKeySet, generateJWTKey } from '../../src/core/jwt/keys.js';
import { keySetResolver, verifyJWT } from '../../src/core/jwt/verify.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { ManualClock } from '../helpers/clock.js';
import { expectKeycardError, rejected } from './support.js';

function setup() {
  const clock = new ManualClock(Date.now());
  const store = new MemoryStore({ clock });
  const keys = createKeySet([generateJWTKey('EdDSA', 'k1')]);
  const clients = createClientService({
    store,
    keys,
    clock,
    issuer: 'keycard',
    audience: 'keycard',
    leewaySeconds: 10,
    options: { rotationOverlap: '1h' },
  });
  const verify = (token: string) =>
    verifyJWT(token, keySetResolver(keys), {
      now: clock.now() / 1000,
      typ: CLIENT_TOKEN_TYPE,
      issuer: 'keycard',
      audience: 'keycard',
      leewaySeconds: 10,
      maxTokenBytes: 8192,
    });
  return { clock, store, clients, verify };
}

describe('API clients', () => {
  test('the secret is shown once and stored only as its SHA-256', async () => {
    const { store, clients } = setup();
    const { client, secret } = await clients.create({
      name: 'billing',
      scopes: ['orders:read', 'orders:read', 'a'],
    });
    assert.match(client.id, /^kc_[A-Za-z0-9_-]{22}$/);
    assert.match(secret, /^kcs_[A-Za-z0-9_-]{43}$/);
    const stored = await store.getClient(client.id);
    assert.equal(stored?.secretHash, createHash('sha256').update(secret).digest('base64url'));
    assert.equal(JSON.stringify(stored).includes(secret), false);
    assert.deepEqual(stored?.scopes, ['a', 'orders:read'], 'scopes are de-duplicated and sorted');
  });

  test('refuses bad names and scopes', async () => {
    const { clients } = setup();
    for (const scopes of [
      [],
      ['has space'],
      ['quote"'],
      ['x'.repeat(65)],
      'orders:read',
      Array(51)
        .fill('s')
        .map((s, i) => `${s}${i}`),
    ]) {
      expectKeycardError(
        await rejected(() => clients.create({ name: 'x', scopes: scopes as string[] })),
        'invalid_request',
      );
    }
    expectKeycardError(await rejected(() => clients.create({ name: ' ', scopes: ['a'] })), 'invalid_request');
  });

  test('authenticates the right secret only; unknown, malformed and disabled clients fail alike', async () => {
    const { clients } = setup();
    const { client, secret } = await clients.create({ name: 'c', scopes: ['a'] });
    assert.equal((await clients.authenticate(client.id, secret)).ok, true);
    for (const [id, given] of [
      [client.id, `${secret.slice(0, -1)}${secret.endsWith('A') ? 'E' : 'A'}`],
      [client.id, ''],
      ['kc_AAAAAAAAAAAAAAAAAAAAAA', secret],
      ['not-an-id', secret],
      [client.id, undefined],
    ]) {
      assert.deepEqual(await clients.authenticate(id, given), { ok: false, reason: 'invalid_client' });
    }
    await clients.disable(client.id);
    assert.equal((await clients.authenticate(client.id, secret)).ok, false);
    await clients.enable(client.id);
    assert.equal((await clients.authenticate(client.id, secret)).ok, true);
  });

  test('tokens carry the client, the granted scope and a client typ; escalation is refused', async () => {
    const { clients, verify } = setup();
    const { client, secret } = await clients.create({ name: 'c', scopes: ['orders:read', 'orders:write'] });
    const auth = await clients.authenticate(client.id, secret);
    assert.ok(auth.ok);
    const all = clients.issueToken(auth, undefined);
    assert.ok(all.ok);
    assert.equal(all.scope, 'orders:read orders:write');
    const narrow = clients.issueToken(auth, 'orders:read');
    assert.ok(narrow.ok);
    const verified = verify(narrow.accessToken);
    assert.ok(verified.ok);
    assert.equal(verified.header.typ, CLIENT_TOKEN_TYPE);
    assert.equal(verified.claims.sub, client.id);
    assert.equal(verified.claims.client_id, client.id);
    assert.equal(verified.claims.scope, 'orders:read');
    assert.equal(verified.claims.sid, `client:${client.id}:g1`);
    assert.equal(verified.claims.username, undefined, 'no user claims');
    for (const scope of ['orders:read admin', 'admin', '', '   ']) {
      const refused = clients.issueToken(auth, scope);
      assert.equal(refused.ok, false, scope);
      assert.equal(!refused.ok && refused.error, 'invalid_scope');
    }
  });

  test('a rotated secret works through the overlap, then stops, and its tokens are revoked', async () => {
    const { clock, store, clients } = setup();
    const { client, secret: oldSecret } = await clients.create({ name: 'c', scopes: ['a'] });
    const { secret: newSecret } = await clients.rotateSecret(client.id, { overlap: '30m' });
    const viaOld = await clients.authenticate(client.id, oldSecret);
    assert.ok(viaOld.ok);
    assert.equal(viaOld.generation, 1, 'the old secret mints generation 1');
    const viaNew = await clients.authenticate(client.id, newSecret);
    assert.ok(viaNew.ok);
    assert.equal(viaNew.generation, 2);
    expectKeycardError(await rejected(() => clients.rotateSecret(client.id)), 'invalid_request');
    clock.advance(30 * 60_000 - 1);
    assert.equal((await clients.authenticate(client.id, oldSecret)).ok, true, 'still inside the overlap');
    assert.equal(
      await store.isRevoked(
        { loginId: `client:${client.id}:g1`, userId: client.id, issuedAt: 0 },
        clock.now(),
      ),
      false,
    );
    clock.advance(1);
    assert.equal((await clients.authenticate(client.id, oldSecret)).ok, false, 'the overlap is over');
    assert.equal((await clients.authenticate(client.id, newSecret)).ok, true);
    assert.equal(
      await store.isRevoked(
        { loginId: `client:${client.id}:g1`, userId: client.id, issuedAt: clock.now() },
        clock.now(),
      ),
      true,
      'generation 1 tokens are revoked',
    );
    assert.equal(
      await store.isRevoked(
        { loginId: `client:${client.id}:g2`, userId: client.id, issuedAt: clock.now() },
        clock.now(),
      ),
      false,
      'generation 2 tokens are not',
    );
  });

  test('finalizeRotations ends overlaps even when no one authenticates', async () => {
    const { clock, store, clients } = setup();
    const { client } = await clients.create({ name: 'c', scopes: ['a'] });
    await clients.rotateSecret(client.id, { overlap: '1m' });
    assert.equal(await clients.finalizeRotations(), 0);
    clock.advance(60_000);
    assert.equal(await clients.finalizeRotations(), 1);
    assert.equal((await store.getClient(client.id))?.previousSecretHash, null);
  });

  test('disabling or removing a client revokes every token it has', async () => {
    const { clock, store, clients } = setup();
    const { client } = await clients.create({ name: 'c', scopes: ['a'] });
    const issuedAt = clock.now();
    clock.advance(1000);
    await clients.disable(client.id);
    assert.equal(
      await store.isRevoked({ loginId: `client:${client.id}:g1`, userId: client.id, issuedAt }, clock.now()),
      true,
    );
    const other = (await clients.create({ name: 'd', scopes: ['a'] })).client;
    assert.equal(await clients.remove(other.id), true);
    assert.equal(
      await store.isRevoked({ loginId: 'x', userId: other.id, issuedAt: clock.now() }, clock.now()),
      true,
    );
    assert.equal(await clients.remove(other.id), false);
  });

  test('without a signing key clients can be managed but no token is issued', async () => {
    const clock = new ManualClock(Date.now());
    const clients = createClientService({
      store: new MemoryStore({ clock }),
      keys: null,
      clock,
      issuer: 'k',
      audience: 'k',
      leewaySeconds: 10,
    });
    assert.equal(clients.canIssue, false);
    const { client, secret } = await clients.create({ name: 'c', scopes: ['a'] });
    const auth = await clients.authenticate(client.id, secret);
    assert.ok(auth.ok);
    assert.throws(() => clients.issueToken(auth, undefined), /signing key/);
  });
});
