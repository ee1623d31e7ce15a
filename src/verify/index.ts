// keycard/verify: token verification for services that only check tokens.
export { createRemoteKeySet, type RemoteKeySet, type RemoteKeySetOptions } from './jwks.js';
export {
  requireScopeExpress,
  requireScopeFastify,
  type VerifiedToken,
  verifyBearer,
  verifyExpress,
  verifyFastify,
} from './middleware.js';
export {
  createVerifier,
  type TokenVerification,
  type Verifier,
  type VerifierOptions,
  type VerifyFailureCode,
} from './verifier.js';
