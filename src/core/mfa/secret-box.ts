/**
 * Encryption at rest for TOTP secrets: AES-256-GCM under a key derived (HKDF-SHA-256) from the server's
 * secret — the key file's `secrets`, newest first. A sealed value names the key it was sealed with by a
 * short fingerprint, so secrets can rotate: values sealed with an older secret still open while that
 * secret is listed, and are sealed again with the newest when next used. A leaked database alone opens
 * nothing, and a sealed value is bound to what it belongs to (`bind`, the user's id, authenticated with
 * it), so one copied onto another row does not open there.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

const INFO = 'keycard mfa secret v1';
const PREFIX = 'v1';

interface BoxKey {
  id: string;
  key: Buffer;
}

export interface SecretBox {
  seal(plain: Buffer, bind: string): string;
  /** The plain bytes, or null when no listed secret opens it (rotated away, tampered with, or another `bind`). */
  open(sealed: string, bind: string): Buffer | null;
  /** True when `sealed` was sealed with the newest secret. */
  isCurrent(sealed: string): boolean;
}

function deriveKey(secret: Buffer): BoxKey {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), INFO, 32));
  const id = createHash('sha256').update(key).digest('base64url').slice(0, 8);
  return { id, key };
}

export function createSecretBox(secrets: readonly Buffer[]): SecretBox {
  const keys = secrets.map(deriveKey);
  const newest = keys[0];
  if (!newest) throw new Error('createSecretBox needs at least one secret');
  return {
    seal(plain, bind) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', newest.key, iv);
      cipher.setAAD(Buffer.from(`${PREFIX}.${newest.id}\0${bind}`));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      const parts = [iv, body, cipher.getAuthTag()].map((part) => part.toString('base64url'));
      return [PREFIX, newest.id, ...parts].join('.');
    },
    open(sealed, bind) {
      const [prefix, id, iv, body, tag, extra] = sealed.split('.');
      if (prefix !== PREFIX || extra !== undefined || !iv || !body || !tag) return null;
      const entry = keys.find((candidate) => candidate.id === id);
      if (!entry) return null;
      try {
        const decipher = createDecipheriv('aes-256-gcm', entry.key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(`${PREFIX}.${entry.id}\0${bind}`));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
      } catch {
        return null;
      }
    },
    isCurrent: (sealed) => sealed.startsWith(`${PREFIX}.${newest.id}.`),
  };
}
