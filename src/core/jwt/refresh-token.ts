/**
 * Refresh tokens of the jwt and hybrid strategies: `loginId.generation.MAC`.
 *
 * - `loginId`: the login (the JWT `sid`), so a presented token leads to its one record;
 * - `generation`: 0 at login, one more at every rotation;
 * - `MAC`: HMAC-SHA256(refresh secret, "keycard-refresh" ‖ loginId ‖ generation ‖ the login's nonce),
 *   256 bits, base64url.
 *
 * Nothing of a token is stored: the login record keeps only its current generation and nonce. So a
 * login holds O(1) refresh state however often it refreshes, a leaked database yields no usable token
 * (the secret is not in it), the secret alone mints none (each login's nonce is only in the database),
 * and every token ever issued to the login stays recognisable: a spent one presented again is proven
 * genuine by its MAC — reuse, which revokes the family — while a forged one is merely invalid and can
 * revoke nothing.
 */
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../random-tokens.js';

/**
 * Canonical base64url only (RFC 4648 §3.5): a login id is 16 bytes (22 characters, the last carrying 2
 * bits, so one of A Q g w) and a MAC 32 bytes (43 characters, the last carrying 4 bits). A generation is
 * a decimal number without leading zeros.
 */
const REFRESH_TOKEN =
  /^([A-Za-z0-9_-]{21}[AQgw])\.(0|[1-9][0-9]{0,8})\.([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;

/** The longest refresh token keycard issues (22 + 1 + 9 + 1 + 43). */
export const MAX_REFRESH_TOKEN_LENGTH = 76;

export interface ParsedRefreshToken {
  loginId: string;
  generation: number;
  mac: string;
}

/** The parts of a well-formed refresh token, or null: checked before any store read. */
export function parseRefreshToken(token: string): ParsedRefreshToken | null {
  if (token.length > MAX_REFRESH_TOKEN_LENGTH) return null;
  const match = REFRESH_TOKEN.exec(token);
  if (!match) return null;
  return { loginId: match[1] as string, generation: Number(match[2]), mac: match[3] as string };
}

function refreshMAC(secret: Buffer, loginId: string, generation: number, nonce: string): string {
  // NUL separators: no field contains one, so no two field lists give the same input.
  return createHmac('sha256', secret)
    .update(`keycard-refresh\0${loginId}\0${generation}\0${nonce}`)
    .digest('base64url');
}

/** The refresh token of a login's `generation`, signed with `secret` (the newest refresh secret). */
export function formatRefreshToken(
  secret: Buffer,
  loginId: string,
  generation: number,
  nonce: string,
): string {
  return `${loginId}.${generation}.${refreshMAC(secret, loginId, generation, nonce)}`;
}

/** True when the token's MAC is right under any of `secrets` (newest first: rotation keeps older ones). */
export function isGenuineRefreshToken(
  secrets: readonly Buffer[],
  token: ParsedRefreshToken,
  nonce: string,
): boolean {
  let genuine = false;
  // Every secret is tried, so the time taken does not say which one matched.
  for (const secret of secrets) {
    if (constantTimeEqual(refreshMAC(secret, token.loginId, token.generation, nonce), token.mac))
      genuine = true;
  }
  return genuine;
}
