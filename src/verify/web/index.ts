// keycard/verify in Cloudflare Workers, browsers and other Web runtimes (export conditions `workerd`,
// `worker`, `browser`): the verifier on WebCrypto, with no `node:` module in its import graph.

export type { TokenVerification, VerifyFailureCode } from '../policy.js';
export type { AuthenticationFailureCode, RequestAuthentication, RequestLike } from '../request-auth.js';
export {
  createVerifier,
  type WebVerifier as Verifier,
  type WebVerifierOptions as VerifierOptions,
} from './verifier.js';
