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
