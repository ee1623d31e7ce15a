/**
 * A Cloudflare Worker that only verifies keycard access tokens: `keycard/verify` resolves to its WebCrypto
 * build here (export condition `workerd`), so the Worker needs no Node compatibility flag. It answers 401
 * (with the RFC 6750 challenge) without a valid Bearer token, and 200 with who is calling otherwise.
 *
 * Configuration (wrangler.toml `[vars]`, or `wrangler secret put` for the key):
 * - JWKS_URL: the auth service's /.well-known/jwks.json (EdDSA, ES256 or RS256 keys), or
 * - SHARED_KEY: an HS256 secret as a JWK, `{"kty":"oct","k":"…"}` (keep it a secret, never a var);
 * - ISSUER, AUDIENCE: what tokens must carry (default 'keycard').
 */
import { createVerifier, type Verifier } from 'keycard/verify';

export interface Env {
  JWKS_URL?: string;
  SHARED_KEY?: string;
  ISSUER?: string;
  AUDIENCE?: string;
}

// One verifier per isolate: its keys are imported once and reused by every request it serves.
let verifier: Verifier | undefined;

function verifierFor(env: Env): Verifier {
  verifier ??= createVerifier({
    ...(env.JWKS_URL ? { jwksURL: env.JWKS_URL } : { keys: [JSON.parse(env.SHARED_KEY ?? 'null')] }),
    issuer: env.ISSUER ?? 'keycard',
    audience: env.AUDIENCE ?? 'keycard',
    onError: (error) => console.error('keycard/verify:', error),
  });
  return verifier;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const result = await verifierFor(env).authenticate(request);
    if (!result.ok) {
      return Response.json(result.body, {
        status: result.status,
        headers: { 'www-authenticate': result.challenge },
      });
    }
    return Response.json({ sub: result.claims.sub, kind: result.kind, role: result.claims.role ?? null });
  },
};
