/** keycard client add|list|rotate-secret|disable|enable|remove, against a SQLite file. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { assertOneLineFailure, assertSuccess, lines, workspace } from './helpers.js';

test('client add prints the id and the secret once; the store keeps only its hash', async (t) => {
  const space = workspace(t);
  const added = await space.run([
    'client',
    'add',
    'billing',
    '--scope',
    'orders:read',
    '--scope',
    'orders:write',
  ]);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stderr, /shown only once/);
  const [idLine, secretLine, scopesLine] = lines(added.stdout) as [string, string, string];
  const id = idLine.replace(/^client_id:\s+/, '');
  const secret = secretLine.replace(/^client_secret:\s+/, '');
  assert.match(id, /^kc_[A-Za-z0-9_-]{22}$/);
  assert.match(secret, /^kcs_[A-Za-z0-9_-]{43}$/);
  assert.equal(scopesLine, 'scopes:        orders:read orders:write');
  const stored = await space.open().store.getClient(id);
  assert.equal(stored?.secretHash, createHash('sha256').update(secret).digest('base64url'));
  const listed = await space.run(['client', 'list']);
  assertSuccess(listed);
  assert.match(listed.stdout, new RegExp(`^${id}  billing  \\[orders:read orders:write\\]  active$`, 'm'));
  assert.equal(listed.stdout.includes(secret), false);
});

test('rotate-secret, disable, enable and remove change the client and say so', async (t) => {
  const space = workspace(t);
  const { client } = await space.open().keycard.clients.create({ name: 'billing', scopes: ['a'] });
  const rotated = await space.run(['client', 'rotate-secret', client.id, '--overlap', '30m']);
  assertSuccess(rotated);
  assert.match(rotated.stdout, /^client_secret: kcs_/);
  assert.match(rotated.stdout, /previous secret works until \d{4}-/);
  const json = JSON.parse((await space.run(['client', 'list', '--json'])).stdout) as {
    previous_secret_expires_at: string | null;
  }[];
  assert.ok(json[0]?.previous_secret_expires_at);
  assertSuccess(await space.run(['client', 'disable', client.id]));
  assert.equal((await space.open().store.getClient(client.id))?.disabled, true);
  assertSuccess(await space.run(['client', 'enable', client.id]));
  assert.equal((await space.open().store.getClient(client.id))?.disabled, false);
  assertSuccess(await space.run(['client', 'remove', client.id]));
  assert.equal(await space.open().store.getClient(client.id), null);
  const again = await space.run(['client', 'remove', client.id]);
  assert.match(assertOneLineFailure(again, [1]), /no client/);
});

test('client usage mistakes fail with one line', async (t) => {
  const space = workspace(t);
  assert.match(assertOneLineFailure(await space.run(['client', 'add', 'x']), [2]), /--scope/);
  assert.match(
    assertOneLineFailure(await space.run(['client', 'add', 'x', '--scope', 'has space']), [1]),
    /scope/,
  );
  assert.match(
    assertOneLineFailure(await space.run(['client', 'rotate-secret', 'kc_x', '--overlap', 'soon']), [2]),
    /--overlap/,
  );
  assert.match(
    assertOneLineFailure(await space.run(['client', 'disable', 'kc_AAAAAAAAAAAAAAAAAAAAAA']), [1]),
    /no such client/,
  );
  assert.match(assertOneLineFailure(await space.run(['client', 'bogus']), [2]), /unknown command/);
});
