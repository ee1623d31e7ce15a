/**
 * TOTP (RFC 6238 over RFC 4226's HOTP): HMAC-SHA-1, 6 digits, 30-second steps, as every authenticator
 * app does by default. A code is accepted for the current step and one step either side (clock skew),
 * and only for a step later than the last one accepted, so a code — even a still-valid one — passes once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps either side of now that are accepted: ±1 is ±30 s of clock skew. */
export const TOTP_WINDOW = 1;

/** The time step of `nowMs` (T in RFC 6238 §4.2). */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS);
}

/** HOTP(secret, counter) as a zero-padded decimal string (RFC 4226 §5.3). */
export function hotp(secret: Uint8Array, counter: number): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(message).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** TOTP_DIGITS).padStart(TOTP_DIGITS, '0');
}

/** True when `code` looks like a TOTP code (six digits, spaces allowed as apps show them). */
export function isTotpCode(code: string): boolean {
  return /^\d{6}$/.test(code.replace(/\s+/g, ''));
}

/**
 * The step `code` is valid for — within the window around `nowMs` and after `lastStep` — or null. Every
 * candidate step is compared in constant time, whichever matches.
 */
export function matchTotp(secret: Uint8Array, code: string, nowMs: number, lastStep: number): number | null {
  const typed = Buffer.from(code.replace(/\s+/g, ''));
  if (typed.length !== TOTP_DIGITS) return null;
  const current = totpStep(nowMs);
  let matched: number | null = null;
  for (let step = current - TOTP_WINDOW; step <= current + TOTP_WINDOW; step++) {
    const equal = timingSafeEqual(Buffer.from(hotp(secret, step)), typed);
    if (equal && step > lastStep && matched === null) matched = step;
  }
  return matched;
}

/** The `otpauth://` URI authenticator apps read from a QR code (Google Authenticator's key-uri format). */
export function otpauthURI(secretBase32: string, issuer: string, account: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = new URLSearchParams({
    secret: secretBase32,
    issuer,
    algorithm: 'SHA1',
    digits: String(TOTP_DIGITS),
    period: String(TOTP_PERIOD_SECONDS),
  });
  return `otpauth://totp/${label}?${query}`;
}
