// keycard's public surface for the core. Each name is listed on purpose; internals are not exported.

export { type AuthorizeOptions, authorize, unauthenticatedError } from './core/auth/authorize.js';
export {
  AuthContext,
  type AuthProblem,
  type IssuedTokens,
  type LoginOptions,
  type RefreshOutcome,
  type SessionObject,
} from './core/auth/context.js';
export { RESERVED_DATA_KEYS } from './core/auth/session-object.js';
export {
  CLIENT_TOKEN_TYPE,
  type ClientAuthentication,
  type ClientOptions,
  type ClientService,
  type ClientTokenResult,
  checkScopes,
  type PublicClient,
  toPublicClient,
} from './core/clients/service.js';
export { type Clock, systemClock } from './core/clock.js';
export {
  type CookieRead,
  checkCookieHeader,
  MAX_COOKIE_HEADER_BYTES,
  MAX_COOKIES,
  parseCookieHeader,
  readCookie,
} from './core/cookies/parse.js';
export {
  type CookieAttributes,
  MAX_SET_COOKIE_BYTES,
  type SameSite,
  serializeCookie,
} from './core/cookies/serialize.js';
export { type Duration, parseDuration } from './core/duration.js';
export {
  configurationError,
  type ErrorCode,
  errorStatus,
  isKeycardError,
  KeycardError,
  storeUnavailable,
  tooManyRequests,
  usernameTaken,
} from './core/errors.js';
export type { AuthEvent, CSRFRejectReason, EventContext, EventType, RevokeReason } from './core/events.js';
export { checkRequestOrigin, type OriginVerdict } from './core/http/origin.js';
export { isLocalhost, isSafeMethod, type RequestInfo } from './core/http/request.js';
export { ALGORITHMS, type Algorithm, isAlgorithm } from './core/jwt/algorithms.js';
export { VerifiedTokenCache } from './core/jwt/cache.js';
export {
  createKeySet,
  createMutableKeySet,
  exportPrivateJWK,
  exportPublicJWK,
  generateJWTKey,
  importJWK,
  type JWTKey,
  type KeySet,
  type MutableKeySet,
  type PublicJWK,
} from './core/jwt/keys.js';
export { type ExtraClaims, type JWTOptions, TRANSPORT_NAMES, type Transport } from './core/jwt/options.js';
export { signJWT } from './core/jwt/sign.js';
export { ACCESS_TOKEN_TYPE, type TokenService, userFromClaims } from './core/jwt/tokens.js';
export {
  type JWTClaims,
  type JWTHeader,
  type KeyResolver,
  keySetResolver,
  type VerifyOptions,
  type VerifyResult,
  verifyJWT,
} from './core/jwt/verify.js';
export { createKeycard, type Keycard, type SignInResult } from './core/keycard.js';
export {
  type KeycardOptions,
  PRESET_NAMES,
  type Preset,
  presetStrategy,
  type ResolvedOptions,
  STRATEGY_NAMES,
  type Strategy,
} from './core/options.js';
export {
  type Argon2Parameters,
  createPasswordHasher,
  OWASP_ARGON2ID,
  type PasswordHasher,
} from './core/passwords/hash.js';
export {
  checkNewPassword,
  type NewPasswordContext,
  type PasswordPolicy,
} from './core/passwords/policy.js';
export { RevocationList } from './core/revocation/list.js';
export {
  type FeedState,
  RevocationMonitor,
  type RevocationMonitorOptions,
} from './core/revocation/monitor.js';
export { applyPatch } from './core/session/data.js';
export type { LoginPage, SessionManager, SessionPolicy, Validation } from './core/session/manager.js';
export type {
  AuthUser,
  ClientRecord,
  ClientStore,
  ClientUpdate,
  CounterStore,
  CounterValue,
  DataPatch,
  ListUsersOptions,
  LoginPageOptions,
  PatchOptions,
  PatchResult,
  RefreshState,
  RevocationListener,
  RevocationRecord,
  RevocationStore,
  RevocationSubscription,
  SessionData,
  SessionRecord,
  SessionStore,
  Store,
  UserRecord,
  UserStore,
  UserUpdate,
} from './core/store.js';
export { addressBucket } from './core/throttle/address.js';
export { DEFAULT_THROTTLE, type ThrottleOptions, type ThrottlePolicy } from './core/throttle/options.js';
export {
  createThrottle,
  type LoginReservation,
  type LoginTicket,
  type Throttle,
  type ThrottleScope,
  type ThrottleVerdict,
} from './core/throttle/throttle.js';
export { generateToken, hashToken } from './core/tokens.js';
export { DEFAULT_ROLES } from './core/users/roles.js';
export {
  type CredentialCheck,
  type NewUser,
  type PublicUser,
  toAuthUser,
  toPublicUser,
  type UserService,
} from './core/users/service.js';
export { isValidRole, normalizeUsername, type UsernameCheck } from './core/users/username.js';
