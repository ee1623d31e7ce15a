/**
 * The JWS algorithms keycard knows, by name only: no crypto here, so the Web verifier (keycard/verify in
 * Workers) and the node:crypto one (algorithms.ts) share one list.
 */

export type Algorithm = 'EdDSA' | 'ES256' | 'RS256' | 'HS256';

export const ALGORITHMS: readonly Algorithm[] = ['EdDSA', 'ES256', 'RS256', 'HS256'];

export function isAlgorithm(value: unknown): value is Algorithm {
  return value === 'EdDSA' || value === 'ES256' || value === 'RS256' || value === 'HS256';
}
