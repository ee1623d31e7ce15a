// keycard/verify: token verification for services that only check tokens.
export { createRemoteKeySet, type RemoteKeySet, type RemoteKeySetOptions } from './jwks.js';
export {
  requireScopeExpress,
  requireScopeFastify,
  type VerifiedExpressRequest,
  type VerifiedFastifyRequest,
  type VerifiedToken,
  verifyBearer,
  verifyExpress,
  verifyFastify,
  withTokenExpress,
  withTokenFastify,
} from './middleware.js';
export {
  createVerifier,
  type TokenVerification,
  type Verifier,
  type VerifierOptions,
  type VerifyFailureCode,
} from './verifier.js';
