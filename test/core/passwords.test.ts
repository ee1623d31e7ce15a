import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as argon2 from 'argon2';
import bcrypt from 'bcryptjs';
import {
  BCRYPT_MAX_BYTES,
  createPasswordHasher,
  normalizePassword,
  OWASP_ARGON2ID,
} from '../../src/core/passwords/hash.js';
import { expectKeycardError, FAST_ARGON2, thrown } from './support.js';

const hasher = createPasswordHasher(FAST_ARGON2);

/** The parts of a PHC string: `$id$v=19$m=…,t=…,p=…$salt$hash` (parameter order is the binding's choice). */
function phc(hash: string): { id: string; version: string; params: Record<string, number>; parts: number } {
  const parts = hash.split('$');
  const params: Record<string, number> = {};
  for (const pair of (parts[3] ?? '').split(',')) {
    const [key = '', value = ''] = pair.split('=');
    params[key] = Number(value);
  }
  return { id: parts[1] ?? '', version: parts[2] ?? '', params, parts: parts.length };
}

describe('password hashing with the default (OWASP) parameters', () => {
  test('hashes to an Argon2id PHC string with m=19456, t=2, p=1, which verifies', async () => {
    assert.deepEqual({ ...OWASP_ARGON2ID }, { memoryKiB: 19_456, iterations: 2, parallelism: 1 });
    const defaults = createPasswordHasher();
    const hash = await defaults.hash('correct horse battery staple');
    assert.deepEqual(phc(hash), {
      id: 'argon2id',
      version: 'v=19',
      params: { m: 19_456, t: 2, p: 1 },
      parts: 6,
    });
    assert.equal(await defaults.verify(hash, 'correct horse battery staple'), true);
    assert.equal(await defaults.verify(hash, 'correct horse battery stapl'), false);
    assert.equal(defaults.needsRehash(hash), false);
    assert.equal(hasher.needsRehash(hash), true, 'the fast hasher sees other parameters');
  });
});

describe('password hashing', () => {
  test('writes the configured parameters into the hash', async () => {
    const { id, params } = phc(await hasher.hash('password1'));
    assert.equal(id, 'argon2id');
    assert.deepEqual(params, { m: 1024, t: 1, p: 1 });
  });

  test('salts every hash', async () => {
    assert.notEqual(await hasher.hash('password1'), await hasher.hash('password1'));
  });

  test('verifies the right password and refuses a wrong one', async () => {
    const hash = await hasher.hash('Tr0ub4dor&3');
    assert.equal(await hasher.verify(hash, 'Tr0ub4dor&3'), true);
    assert.equal(await hasher.verify(hash, 'tr0ub4dor&3'), false);
    assert.equal(await hasher.verify(hash, 'Tr0ub4dor&3 '), false);
    assert.equal(await hasher.verify(hash, ''), false);
  });

  test('verifies a password typed with a composed or a decomposed é alike (NFKC)', async () => {
    const composed = 'caf\u00E9-au-lait';
    const decomposed = 'cafe\u0301-au-lait';
    assert.notEqual(composed, decomposed);
    assert.equal(await hasher.verify(await hasher.hash(composed), decomposed), true);
    assert.equal(await hasher.verify(await hasher.hash(decomposed), composed), true);
  });

  test('verifies a password typed with fullwidth letters against its ASCII form (NFKC)', async () => {
    assert.equal(await hasher.verify(await hasher.hash('password'), 'ｐａｓｓｗｏｒｄ'), true);
    assert.equal(normalizePassword('ｐａｓｓ'), 'pass');
  });

  test('reports a fresh hash as current and a hash with other Argon2 parameters as needing a rehash', async () => {
    assert.equal(hasher.needsRehash(await hasher.hash('password1')), false);
    const otherMemory = await argon2.hash('password1', {
      type: argon2.argon2id,
      memoryCost: 2048,
      timeCost: 1,
      parallelism: 1,
    });
    assert.equal(hasher.needsRehash(otherMemory), true);
    const otherTime = await argon2.hash('password1', {
      type: argon2.argon2id,
      memoryCost: 1024,
      timeCost: 2,
      parallelism: 1,
    });
    assert.equal(hasher.needsRehash(otherTime), true);
  });

  test('accepts an Argon2i hash but asks for a rehash to Argon2id', async () => {
    const argon2i = await argon2.hash('password1', {
      type: argon2.argon2i,
      memoryCost: 1024,
      timeCost: 1,
      parallelism: 1,
    });
    assert.equal(await hasher.verify(argon2i, 'password1'), true);
    assert.equal(hasher.needsRehash(argon2i), true);
  });

  const garbage = [
    '',
    'garbage',
    'password1',
    '$argon2id$',
    '$argon2id$v=19$m=1024,t=1,p=1$not-base64$!!!',
    '$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ',
    '$2b$04$short',
    `$2b$04$${'!'.repeat(53)}`,
    '$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA',
  ];
  for (const stored of garbage) {
    test(`answers false, never throws, for the stored hash ${JSON.stringify(stored)}`, async () => {
      assert.equal(await hasher.verify(stored, 'password1'), false);
      assert.doesNotThrow(() => hasher.needsRehash(stored));
    });
  }

  test('asks for a rehash of anything that is not an Argon2id hash, never throwing', () => {
    for (const stored of [
      '',
      'garbage',
      '$argon2id$',
      '$argon2id$v=19$m=x',
      '$2b$04$short',
      '$argon2i$v=19$m=1024,t=1,p=1$a$b',
    ]) {
      assert.equal(hasher.needsRehash(stored), true, stored);
    }
  });

  test('verifyDummy returns false, even for the password the dummy hash was made from', async () => {
    assert.equal(await hasher.verifyDummy('keycard-dummy-password-for-timing'), false);
    assert.equal(await hasher.verifyDummy('anything'), false);
  });

  test('refuses Argon2 parameters out of range', () => {
    for (const parameters of [
      { memoryKiB: 4, iterations: 1, parallelism: 1 },
      { memoryKiB: 15, iterations: 1, parallelism: 2 },
      { memoryKiB: 1024, iterations: 0, parallelism: 1 },
      { memoryKiB: 1024, iterations: 1, parallelism: 0 },
    ]) {
      const error = expectKeycardError(
        thrown(() => createPasswordHasher(parameters)),
        'invalid_configuration',
      );
      assert.match(error.message, /memoryKiB >= 8 × parallelism, iterations >= 1/);
    }
  });
});

describe('legacy bcrypt hashes', () => {
  const legacy = bcrypt.hashSync('legacy-password', 4);

  test('verifies a bcrypt hash and reports it as needing a rehash', async () => {
    assert.match(legacy, /^\$2[aby]\$04\$/);
    assert.equal(await hasher.verify(legacy, 'legacy-password'), true);
    assert.equal(await hasher.verify(legacy, 'legacy-passwore'), false);
    assert.equal(hasher.needsRehash(legacy), true);
  });

  test('never verifies a password over 72 bytes, even when its first 72 bytes match', async () => {
    const exactly72 = 'a'.repeat(BCRYPT_MAX_BYTES);
    const hash = bcrypt.hashSync(exactly72, 4);
    assert.equal(await hasher.verify(hash, exactly72), true);
    // bcrypt itself would accept it: the refusal is keycard's.
    assert.equal(bcrypt.compareSync(`${exactly72}b`, hash), true);
    assert.equal(await hasher.verify(hash, `${exactly72}b`), false);
  });

  test('counts the 72-byte limit in UTF-8 bytes, not characters', async () => {
    const seventyTwoBytes = '\u00E9'.repeat(36);
    const hash = bcrypt.hashSync(seventyTwoBytes, 4);
    assert.equal(await hasher.verify(hash, seventyTwoBytes), true);
    assert.equal(bcrypt.compareSync(`${seventyTwoBytes}x`, hash), true);
    assert.equal(await hasher.verify(hash, `${seventyTwoBytes}x`), false);
  });
});
