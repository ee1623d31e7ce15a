/**
 * keycard's public surface for the core: what `import … from 'keycard'` offers. Each name is listed on
 * purpose, and test/package/exports.test.ts holds the list, so adding or removing one is a choice.
 *
 * The rule. A name is here when
 *   1. an application needs it: createKeycard, its options and presets, and what it hands back (Keycard
 *      and the types of its parts, AuthContext, users, events); the errors; the Store contract (to write
 *      a store); keys and JWT verification (services and operators); RequestInfo and `authorize` (to write
 *      an adapter); or
 *   2. keycard's own verify, adapters, server or CLI need it. They import 'keycard' by package name, as an
 *      application would, so what they need is public by construction (the server proves the API enough).
 * Nothing else: helpers only core uses (cookie parsing, origin checks, throttle buckets, revocation lists,
 * session-data patches, random tokens) stay internal; stores and tests import them by relative path.
 */

export { normalizeEmail } from './core/accounts/email.js';
export {
  type AccountMailOptions,
  type AccountService,
  LINK_PATHS,
} from './core/accounts/service.js';
export { type Invitation, SIGNUP_MODES, type SignupInput, type SignupMode } from './core/accounts/signup.js';
export type { AuditLog, AuditOptions } from './core/audit/log.js';
export { type AuthorizeOptions, authorize } from './core/auth/authorize.js';
export {
  AuthContext,
  type AuthProblem,
  type IssuedTokens,
  type LoginOptions,
  type RefreshOutcome,
  type SessionObject,
} from './core/auth/context.js';
export {
  CLIENT_TOKEN_TYPE,
  type ClientAuthentication,
  type ClientOptions,
  type ClientService,
  type ClientTokenResult,
  type PublicClient,
  toPublicClient,
} from './core/clients/service.js';
export { type Clock, systemClock } from './core/clock.js';
export type { SameSite } from './core/cookies/serialize.js';
export { type Duration, parseDuration } from './core/duration.js';
export {
  configurationError,
  type ErrorCode,
  emailTaken,
  isKeycardError,
  KeycardError,
  usernameTaken,
} from './core/errors.js';
export type { AuthEvent, CSRFRejectReason, EventContext, EventType, RevokeReason } from './core/events.js';
export { type CORSDecision, decideCORS } from './core/http/cors.js';
export type { RequestInfo } from './core/http/request.js';
export { ALGORITHMS, type Algorithm, isAlgorithm } from './core/jwt/algorithms.js';
export { VerifiedTokenCache } from './core/jwt/cache.js';
export {
  createKeySet,
  createMutableKeySet,
  exportPrivateJWK,
  generateJWTKey,
  importJWK,
  type JWTKey,
  type KeySet,
  type MutableKeySet,
  type PublicJWK,
} from './core/jwt/keys.js';
export { type ExtraClaims, type JWTOptions, TRANSPORT_NAMES, type Transport } from './core/jwt/options.js';
export { ACCESS_TOKEN_TYPE, type TokenService, userFromClaims } from './core/jwt/token-service.js';
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
export type { Authentication, AuthMethod } from './core/logins/authentication.js';
export type {
  LoginPage,
  LoginPolicy,
  LoginRegistry,
  SessionManager,
  SessionPolicy,
  Validation,
} from './core/logins/registry.js';
export { checkMessage, isMailAddress, type Mailer, type MailMessage } from './core/mail/message.js';
export {
  DEFAULT_TEMPLATES,
  escapeHTML,
  MAIL_KINDS,
  type MailContent,
  type MailContext,
  type MailKind,
  type MailTemplate,
  renderMail,
} from './core/mail/templates.js';
export type { PublicFactor } from './core/mfa/factors.js';
export type { MfaOptions } from './core/mfa/options.js';
export type { ClientIdentity, MfaService, PasskeyVerifier, PendingSignIn } from './core/mfa/service.js';
export {
  type KeycardOptions,
  PRESET_NAMES,
  type Preset,
  presetStrategy,
  type ResolvedOptions,
  STRATEGY_NAMES,
  type Strategy,
} from './core/options.js';
export type { Argon2Parameters, PasswordHasher } from './core/passwords/hash.js';
export {
  checkNewPassword,
  type NewPasswordContext,
  type PasswordPolicy,
} from './core/passwords/policy.js';
export {
  type FeedObserver,
  type FeedState,
  RevocationMonitor,
  type RevocationMonitorOptions,
} from './core/revocation/monitor.js';
export type {
  AccountTokenKind,
  AccountTokenRecord,
  AccountTokenStore,
  AuditQuery,
  AuditRecord,
  AuditStore,
  AuditValue,
  AuthUser,
  ClientRecord,
  ClientStore,
  ClientUpdate,
  CounterStore,
  CounterValue,
  DataPatch,
  FactorAdvance,
  FactorKind,
  FactorRecord,
  FactorStore,
  ListUsersOptions,
  LoginPageOptions,
  LoginRecord,
  LoginStore,
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
export {
  instrumentStore,
  STORE_OPERATIONS,
  type StoreCall,
  type StoreCallHook,
  type StoreCapability,
} from './core/telemetry/store-calls.js';
export type { RequestOutcome } from './core/telemetry/tracing.js';
export type { ThrottleOptions, ThrottlePolicy } from './core/throttle/options.js';
export type {
  LoginReservation,
  LoginTicket,
  Throttle,
  ThrottleScope,
  ThrottleVerdict,
} from './core/throttle/throttle.js';
export { DEFAULT_ROLES } from './core/users/roles.js';
export {
  type CredentialCheck,
  type NewUser,
  type PublicUser,
  toAuthUser,
  toPublicUser,
  type UserService,
} from './core/users/service.js';
export { normalizeUsername, type UsernameCheck } from './core/users/username.js';
