/**
 * `keycard serve` refuses, at start-up, an HS256 signing key that is short or a well-known placeholder
 * (issue 4): the server never starts signing with a guessable secret, and its error names the key, never
 * the secret.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { generateKeyFile, loadServerConfig, startServer, writeKeyFile } from '../../src/server/index.js';

const dir = mkdtempSync(join(tmpdir(), 'keycard-keys-startup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A key file whose one signing key is an HS256 JWK with this secret. */
function keyFileWithSecret(name: string, secret: Buffer): string {
  const file = generateKeyFile('HS256');
  const entry = file.signingKeys[0] as (typeof file.signingKeys)[number];
  entry.jwk = { ...entry.jwk, k: secret.toString('base64url') };
  const path = join(dir, `${name}.json`);
  writeKeyFile(path, file);
  return path;
}

function start(keys: string) {
  const config = loadServerConfig({
    flags: {
      port: '0',
      host: '127.0.0.1',
      strategy: 'jwt',
      environment: 'production',
      store: `sqlite:${join(dir, 'keycard.db')}`,
      keys,
    },
    env: {},
  });
  return startServer(config);
}

describe('keycard serve with an HS256 key', () => {
  const refused: [string, Buffer, RegExp][] = [
    ['a 31-byte secret', Buffer.alloc(31, 7), /has 31 bytes; an HS256 secret needs at least 32 random bytes/],
    ['a placeholder', Buffer.from('your-256-bit-secret-your-256-bit-secret'), /well-known placeholder/],
    ['one repeated character', Buffer.alloc(48, 'a'), /well-known placeholder/],
  ];
  for (const [label, secret, message] of refused) {
    test(`refuses ${label} at start-up, without echoing it`, async () => {
      const error = await start(keyFileWithSecret(label.replaceAll(' ', '-'), secret)).then(
        (server) => {
          void server.close();
          return undefined;
        },
        (caught: Error) => caught,
      );
      assert.ok(error, 'the server did not start');
      assert.match(error.message, message);
      assert.ok(!error.message.includes(secret.toString('latin1')), 'the secret is not in the message');
      assert.ok(!error.message.includes(secret.toString('base64url')), 'nor its encoding');
    });
  }

  test('starts with a random 32-byte secret (the control)', async () => {
    const server = await start(keyFileWithSecret('random', generateKeyFileSecret()));
    await server.close();
  });
});

function generateKeyFileSecret(): Buffer {
  const jwk = generateKeyFile('HS256').signingKeys[0]?.jwk as { k: string };
  return Buffer.from(jwk.k, 'base64url');
}
