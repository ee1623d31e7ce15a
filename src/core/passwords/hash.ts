/**
 * Password hashing: Argon2id with OWASP's parameters by default; bcrypt hashes from an earlier system are
 * verified and reported as needing a rehash, so they are upgraded at the next successful login.
 *
 * Hashing runs on libuv's thread pool (the argon2 binding), so a login flood does not block the event loop.
 */
import * as argon2 from 'argon2';
import bcrypt from 'bcryptjs';
import { configurationError } from '../errors.js';

export interface Argon2Parameters {
  /** Memory in KiB. */
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1. */
export const OWASP_ARGON2ID: Readonly<Argon2Parameters> = Object.freeze({
  memoryKiB: 19_456,
  iterations: 2,
  parallelism: 1,
});

/** bcrypt reads at most 72 bytes of its input; longer passwords are refused rather than truncated. */
export const BCRYPT_MAX_BYTES = 72;

const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const ARGON2_HASH = /^\$argon2(id|i|d)\$/;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a hash this hasher cannot read; never throws on bad input. */
  verify(hash: string, password: string): Promise<boolean>;
  /** True for bcrypt hashes and for Argon2 hashes made with other parameters. */
  needsRehash(hash: string): boolean;
  /**
   * Spends the time of one verification and returns false: used for unknown users, so that "no such user"
   * and "wrong password" cannot be told apart by timing.
   */
  verifyDummy(password: string): Promise<false>;
}

/**
 * NIST SP 800-63B §3.1.1.2: normalise Unicode passwords before hashing (NFKC), so that the same password
 * typed on two keyboards produces the same hash.
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

export function createPasswordHasher(parameters: Argon2Parameters = OWASP_ARGON2ID): PasswordHasher {
  if (
    parameters.memoryKiB < 8 * parameters.parallelism ||
    parameters.iterations < 1 ||
    parameters.parallelism < 1
  ) {
    throw configurationError(
      'Argon2 parameters are out of range: memoryKiB >= 8 × parallelism, iterations >= 1',
    );
  }
  const options = {
    type: argon2.argon2id,
    memoryCost: parameters.memoryKiB,
    timeCost: parameters.iterations,
    parallelism: parameters.parallelism,
  } as const;
  let dummyHash: Promise<string> | undefined;

  const hash = (password: string): Promise<string> => argon2.hash(normalizePassword(password), options);

  const verify = async (stored: string, password: string): Promise<boolean> => {
    if (ARGON2_HASH.test(stored)) {
      try {
        return await argon2.verify(stored, normalizePassword(password));
      } catch {
        return false;
      }
    }
    if (BCRYPT_HASH.test(stored)) {
      // Legacy systems hashed the password as typed; bcrypt would silently ignore bytes past 72.
      if (Buffer.byteLength(password) > BCRYPT_MAX_BYTES) return false;
      return bcrypt.compare(password, stored);
    }
    return false;
  };

  return {
    hash,
    verify,
    needsRehash(stored: string): boolean {
      if (!stored.startsWith('$argon2id$')) return true;
      try {
        return argon2.needsRehash(stored, {
          memoryCost: options.memoryCost,
          timeCost: options.timeCost,
          parallelism: options.parallelism,
        });
      } catch {
        return true;
      }
    },
    async verifyDummy(password: string): Promise<false> {
      dummyHash ??= hash('keycard-dummy-password-for-timing');
      await verify(await dummyHash, password);
      return false;
    },
  };
}
