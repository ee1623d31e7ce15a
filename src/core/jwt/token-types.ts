/**
 * The `typ` header values of keycard's access tokens (RFC 9068 §2.1 names `at+jwt`): a user's access token
 * and an API client's token are typed apart, so neither can pass where the other is required (RFC 8725
 * §3.11). Crypto-free, for the node:crypto and the Web verifier alike.
 */

/** A user's access token. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** An API client's token (client-credentials grant). */
export const CLIENT_TOKEN_TYPE = 'client-at+jwt';

/** A `typ` as compared: case-insensitive, with or without the `application/` prefix (RFC 7515 §4.1.9). */
export function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice(12) : lower;
}
