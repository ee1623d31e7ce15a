/** keycard keys generate: a private key file that the server loads, never overwritten. */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadServerKeys } from '../../src/server/keys.js';
import { assertOneLineFailure, assertSuccess, runCLI, tempDir } from './helpers.js';

test('keys generate --out writes a 0600 key file that loads, and refuses to overwrite it', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'k.json');
  const first = await runCLI(['keys', 'generate', '--out', path], { cwd: dir });
  assertSuccess(first);
  assert.equal(first.stdout, `wrote ${path}\n`);
  assert.equal(statSync(path).mode & 0o777, 0o600);

  // Loaded as production would: an existing, valid file with one 256-bit secret.
  const keys = loadServerKeys(path, { environment: 'production', needSigningKeys: true });
  assert.deepEqual(keys.generated, []);
  assert.equal(keys.secrets.length, 1);
  assert.equal(keys.secrets[0]?.length, 32);
  assert.equal(keys.jwtKeys.signing?.alg, 'EdDSA');
  const contents = readFileSync(path, 'utf8');
  assert.equal(contents.includes(keys.secrets[0]?.toString('base64url') ?? '?'), true);

  const second = await runCLI(['keys', 'generate', '--out', path], { cwd: dir });
  const line = assertOneLineFailure(second, [1, 2]);
  assert.match(line, /exists/);
  assert.equal(line.includes(keys.secrets[0]?.toString('base64url') ?? '?'), false);
  assert.equal(readFileSync(path, 'utf8'), contents, 'the file is unchanged');
});

test('keys generate without --out prints a fresh key file on stdout', async (t) => {
  const dir = tempDir(t);
  const [a, b] = await Promise.all([
    runCLI(['keys', 'generate'], { cwd: dir }),
    runCLI(['keys', 'generate'], { cwd: dir }),
  ]);
  for (const result of [a, b]) {
    assert.ok(result);
    assertSuccess(result);
  }
  const secretOf = (text: string) =>
    (JSON.parse(text) as { secrets: { secret: string }[] }).secrets[0]?.secret;
  assert.equal(JSON.parse(a?.stdout ?? '').version, 1);
  assert.equal(Buffer.from(secretOf(a?.stdout ?? '') ?? '', 'base64url').length, 32);
  assert.notEqual(secretOf(a?.stdout ?? ''), secretOf(b?.stdout ?? ''), 'a new secret each time');
});

test('keys rotate adds a signing key first and keeps the old one verifying; list shows their status', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'keys.json');
  assertSuccess(await runCLI(['keys', 'generate', '--out', path], { cwd: dir }));
  const before = loadServerKeys(path, { environment: 'production', needSigningKeys: true });
  const oldKid = before.jwtKeys.signing?.kid;
  const rotated = await runCLI(['keys', 'rotate', '--keys', path, '--alg', 'ES256'], { cwd: dir });
  assertSuccess(rotated);
  assert.match(rotated.stdout, /^added ES256 key \S+, signing now\n$/);
  const after = loadServerKeys(path, { environment: 'production', needSigningKeys: true });
  assert.equal(after.jwtKeys.signing?.alg, 'ES256');
  assert.notEqual(after.jwtKeys.signing?.kid, oldKid);
  assert.ok(oldKid && after.jwtKeys.get(oldKid), 'the old key still verifies');
  assert.equal(after.jwtKeys.get(oldKid as string)?.signKey, undefined, 'but no longer signs');
  assert.deepEqual(after.secrets, before.secrets, 'the secrets are untouched');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const list = await runCLI(['keys', 'list', '--keys', path, '--json'], { cwd: dir });
  assertSuccess(list);
  const rows = JSON.parse(list.stdout) as { kid: string; status: string }[];
  assert.equal(rows[0]?.status, 'signing');
  assert.match(rows[1]?.status ?? '', /^verify-only until /);
});

test('keys rotate --delay publishes the new key before it signs', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'keys.json');
  assertSuccess(await runCLI(['keys', 'generate', '--out', path], { cwd: dir }));
  const oldKid = loadServerKeys(path, { environment: 'production', needSigningKeys: true }).jwtKeys.signing
    ?.kid;
  assertSuccess(await runCLI(['keys', 'rotate', '--keys', path, '--delay', '10m'], { cwd: dir }));
  const keys = loadServerKeys(path, { environment: 'production', needSigningKeys: true });
  assert.equal(keys.jwtKeys.signing?.kid, oldKid, 'the old key signs until the new one activates');
  assert.equal(keys.jwtKeys.toJWKS().keys.length, 2, 'both are published');
  const later = loadServerKeys(path, {
    environment: 'production',
    needSigningKeys: true,
    now: Date.now() + 11 * 60_000,
  });
  assert.notEqual(later.jwtKeys.signing?.kid, oldKid, 'after the delay the new key signs');
});

test('keys rotate on a missing file, or with a bad algorithm, fails with one line', async (t) => {
  const dir = tempDir(t);
  const missing = await runCLI(['keys', 'rotate', '--keys', join(dir, 'nope.json')], { cwd: dir });
  assert.match(assertOneLineFailure(missing, [1]), /does not exist/);
  assertSuccess(await runCLI(['keys', 'generate', '--out', join(dir, 'k.json')], { cwd: dir }));
  const bad = await runCLI(['keys', 'rotate', '--keys', join(dir, 'k.json'), '--alg', 'none'], { cwd: dir });
  assert.match(assertOneLineFailure(bad, [2]), /--alg must be one of/);
});
