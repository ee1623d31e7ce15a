// keycard/verify: token verification for services that only check tokens. (Workers and browsers get
// web/index.ts instead, by the package's export conditions.) The framework middleware on top of it is in
// keycard/express and keycard/fastify (verifyToken, withToken, requireScope).
export {
  type BearerOutcome,
  type BearerRefusal,
  scopeRequirement,
  type VerifiedToken,
  verifyBearer,
} from './bearer.js';
// Deprecated names of the adapters' middleware (see ./deprecated.ts).
export {
  requireScopeExpress,
  requireScopeFastify,
  type VerifiedExpressRequest,
  type VerifiedFastifyRequest,
  verifyExpress,
  verifyFastify,
  withTokenExpress,
  withTokenFastify,
} from './deprecated.js';
export { createRemoteKeySet, type RemoteKeySet, type RemoteKeySetOptions } from './jwks.js';
export type { AuthenticationFailureCode, RequestAuthentication, RequestLike } from './request-auth.js';
export {
  createVerifier,
  type TokenVerification,
  type Verifier,
  type VerifierOptions,
  type VerifyFailureCode,
} from './verifier.js';
