/**
 * keycard's options: one object, secure defaults in one place, presets for the decision table in DESIGN.md.
 * Everything is validated here, at construction, with messages that say what to do.
 */
import { randomBytes } from 'node:crypto';
import type { AccountMailOptions } from './accounts/service.js';
import { SIGNUP_MODES, type SignupMode } from './accounts/signup.js';
import type { AuditOptions } from './audit/log.js';
import type { ClientOptions } from './clients/service.js';
import { type Clock, systemClock } from './clock.js';
import type { SameSite } from './cookies/serialize.js';
import { type Duration, parseDuration } from './duration.js';
import { configurationError } from './errors.js';
import type { AuthEvent } from './events.js';
import type { KeySet } from './jwt/keys.js';
import {
  type JWTDefaults,
  type JWTOptions,
  type ResolvedJWTOptions,
  resolveJWTOptions,
} from './jwt/options.js';
import { type MfaOptions, type ResolvedMfaOptions, resolveMfaOptions } from './mfa/options.js';
import { type Argon2Parameters, OWASP_ARGON2ID } from './passwords/hash.js';
import { type PasswordPolicy, resolvePasswordPolicy } from './passwords/policy.js';
import type { Store } from './store.js';
import { resolveThrottleOptions, type ThrottleOptions, type ThrottlePolicy } from './throttle/options.js';
import { resolveRoles } from './users/roles.js';

export type Preset = 'web-app' | 'banking' | 'spa' | 'api' | 'microservices' | 'mobile';
export type Strategy = 'session' | 'jwt' | 'hybrid';

/** Every strategy, for validation and for listing the choices (`keycard serve --help`). */
export const STRATEGY_NAMES: readonly Strategy[] = ['session', 'jwt', 'hybrid'];

export interface KeycardOptions {
  store: Store;
  /** Sets strategy, cookie and lifetimes from DESIGN.md's table; any option below overrides it. */
  preset?: Preset;
  strategy?: Strategy;
  session?: {
    /** A session unused this long ends. */
    idleTimeout?: Duration;
    /** A session ends this long after login, however active. */
    absoluteTimeout?: Duration;
    /** Activity is written back at most this often (default: a tenth of the idle timeout). */
    touchInterval?: Duration;
    /** Largest session data, in bytes of JSON (default 16384). */
    maxDataBytes?: number;
  };
  /** Logins (sessions, and the token strategies' logins) of one user. */
  logins?: {
    /**
     * How many one user may hold at once (default 100). A login beyond it ends the user's oldest, with a
     * `session_revoked` event (`by: 'limit'`), so no one can grow a user's records without bound.
     */
    maxPerUser?: number;
  };
  /** The jwt and hybrid strategies' keys, lifetimes and transport (see jwt/options.ts). */
  jwt?: JWTOptions;
  /**
   * CSRF tokens for cookie-authenticated unsafe browser requests and browser logins. `secrets` (≥ 32
   * bytes, newest first) sign them; every instance must share them. Default: random per process.
   */
  csrf?: { enabled?: boolean; secrets?: Buffer[] };
  /**
   * API clients (client credentials). Their tokens are signed with `jwt.keys` for the token strategies,
   * or with `keys` here (the session strategy has none of its own).
   */
  clients?: ClientOptions & { keys?: KeySet; issuer?: string; audience?: string };
  /** Hybrid strategy: the revocation feed's hooks and timings. */
  revocation?: {
    onStateChange?: (state: 'starting' | 'synced' | 'unsynced' | 'closed') => void;
    onError?: (error: unknown) => void;
    /** Wait before reloading after a failed reload (ms, default 1000). */
    retryMs?: number;
  };
  cookie?: {
    /** Base name; `__Host-` is prepended whenever the cookie is Secure. Default `keycard_session`. */
    name?: string;
    sameSite?: Exclude<SameSite, 'none'>;
    /**
     * `'auto'` (default): Secure, with the `__Host-` prefix, except on plain-http localhost during
     * development. `false` is refused in production.
     */
    secure?: 'auto' | boolean;
    /** Only when sibling subdomains must share the login; uses `__Secure-` instead of `__Host-`. */
    domain?: string;
    /** A persistent cookie (Max-Age = the absolute timeout) or a browser-session cookie. */
    persistent?: boolean;
  };
  /**
   * Origins besides the request's own (from its Host header and scheme) that may send cookie-authenticated
   * unsafe requests, such as a front end on another host: `https://app.example.com`. The same list is
   * the CORS allow-list of `keycard serve` and `keycard/fetch` (`decideCORS`; docs/spa.md).
   */
  trustedOrigins?: string[];
  passwords?: Partial<PasswordPolicy> & { argon2?: Argon2Parameters };
  /**
   * The roles users may have: a closed set, `['user', 'admin']` by default (`admin` opens the server's
   * admin API and page). Creating a user or changing a role to anything else is refused.
   */
  roles?: readonly string[];
  /**
   * Brute-force throttling of logins (per account and per client address) and refreshes (per address),
   * on the store's counters so that every instance agrees. Defaults in throttle/options.ts and
   * docs/security.md; `false` turns it off.
   */
  throttle?: ThrottleOptions | false;
  /**
   * The audit log: every event also appended to the store's audit log, kept `retention` (default 90
   * days), read with `keycard.audit.list`. On by default; `false` turns it off (docs/accounts.md).
   */
  audit?: AuditOptions | false;
  /**
   * Mail for account links — email verification and password reset (docs/accounts.md): a mailer and the
   * public URL the links point to. Without it, those routes answer `mail_unavailable` (503).
   */
  mail?: AccountMailOptions;
  /**
   * Second factors (docs/mfa.md): `secrets` to encrypt TOTP secrets at rest (the server passes its key
   * file's), the step-up window, roles that must have a factor, and passkeys' relying party.
   */
  mfa?: MfaOptions;
  /**
   * Who may create an account for themselves: `closed` (the default: admins and the CLI create users),
   * `invite` (with a single-use invitation an admin creates), or `open` (anyone; throttled per client).
   */
  signup?: SignupMode;
  /** `production` makes weak settings start-up errors. Default: from NODE_ENV. */
  environment?: 'development' | 'production';
  clock?: Clock;
  /**
   * Receives every audit event; must not throw (errors are swallowed and reported to `onHookError`, as are
   * failed audit-log appends and prunes).
   */
  onEvent?: (event: AuthEvent) => void;
  onHookError?: (error: unknown) => void;
}

export interface ResolvedOptions {
  store: Store;
  strategy: Strategy;
  preset: Preset;
  environment: 'development' | 'production';
  session: {
    idleTimeoutMs: number;
    absoluteTimeoutMs: number;
    touchIntervalMs: number;
    maxDataBytes: number;
    maxLoginsPerUser: number;
  };
  cookie: {
    name: string;
    sameSite: Exclude<SameSite, 'none'>;
    secure: 'auto' | boolean;
    domain: string | undefined;
    persistent: boolean;
  };
  csrf: { enabled: boolean; secrets: Buffer[] };
  /** Null for the session strategy. */
  jwt: ResolvedJWTOptions | null;
  trustedOrigins: ReadonlySet<string> | null;
  passwordPolicy: PasswordPolicy;
  argon2: Argon2Parameters;
  /** The closed set of roles, `user` first by default. */
  roles: readonly string[];
  /** Who may sign up: `closed` by default. */
  signup: SignupMode;
  mfa: ResolvedMfaOptions;
  /** Null when throttling is off. */
  throttle: ThrottlePolicy | null;
  clock: Clock;
  onEvent: ((event: AuthEvent) => void) | undefined;
  onHookError: (error: unknown) => void;
}

interface PresetValues {
  strategy: Strategy;
  idleTimeout: Duration;
  absoluteTimeout: Duration;
  sameSite: Exclude<SameSite, 'none'>;
  persistent: boolean;
  jwt: JWTDefaults;
}

const JWT_DEFAULTS: JWTDefaults = {
  transport: 'cookie',
  accessTokenTTL: '15m',
  refreshTokenTTL: '7d',
  loginTTL: '30d',
  requireAsymmetric: false,
};
const HEADER_JWT: JWTDefaults = { ...JWT_DEFAULTS, transport: 'header' };

const PRESETS: Readonly<Record<Preset, PresetValues>> = Object.freeze({
  'web-app': {
    strategy: 'session',
    idleTimeout: '24h',
    absoluteTimeout: '7d',
    sameSite: 'lax',
    persistent: true,
    jwt: JWT_DEFAULTS,
  },
  banking: {
    strategy: 'session',
    idleTimeout: '15m',
    absoluteTimeout: '8h',
    sameSite: 'strict',
    persistent: false,
    jwt: { ...JWT_DEFAULTS, accessTokenTTL: '5m', refreshTokenTTL: '15m', loginTTL: '8h' },
  },
  spa: {
    strategy: 'hybrid',
    idleTimeout: '24h',
    absoluteTimeout: '7d',
    sameSite: 'lax',
    persistent: true,
    jwt: JWT_DEFAULTS,
  },
  // The rest are the token presets of DESIGN.md's table; session lifetimes apply only if you switch
  // their strategy to session.
  api: {
    strategy: 'jwt',
    idleTimeout: '24h',
    absoluteTimeout: '7d',
    sameSite: 'lax',
    persistent: true,
    jwt: HEADER_JWT,
  },
  microservices: {
    strategy: 'jwt',
    idleTimeout: '24h',
    absoluteTimeout: '7d',
    sameSite: 'lax',
    persistent: true,
    jwt: { ...HEADER_JWT, requireAsymmetric: true },
  },
  mobile: {
    strategy: 'jwt',
    idleTimeout: '24h',
    absoluteTimeout: '7d',
    sameSite: 'lax',
    persistent: true,
    jwt: { ...HEADER_JWT, refreshTokenTTL: '30d', loginTTL: '90d' },
  },
});

export const PRESET_NAMES = Object.keys(PRESETS) as Preset[];

/** The strategy a preset picks (the server decides from it whether signing keys are needed). */
export function presetStrategy(preset: Preset): Strategy {
  if (!Object.hasOwn(PRESETS, preset))
    throw configurationError(`preset '${preset}' is unknown; choose one of: ${PRESET_NAMES.join(', ')}`);
  return PRESETS[preset].strategy;
}

const COOKIE_BASE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Browsers match cookie prefixes case-insensitively (RFC 6265bis §4.1.3); keycard adds the prefix itself. */
const COOKIE_PREFIX = /^__(host|secure)-/i;
/** Host name labels (RFC 1123 §2.1), as the cookie serializer checks them: refused here, not at the first login. */
const COOKIE_DOMAIN = /^[.]?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?([.][a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function resolveSignup(mode: SignupMode | undefined): SignupMode {
  if (mode === undefined) return 'closed';
  if (!SIGNUP_MODES.includes(mode)) {
    throw configurationError(
      `signup must be one of ${SIGNUP_MODES.join(', ')} (got ${JSON.stringify(mode)})`,
    );
  }
  return mode;
}

function resolveOrigins(origins: string[] | undefined): ReadonlySet<string> | null {
  if (origins === undefined) return null;
  if (!Array.isArray(origins) || origins.length === 0) {
    throw configurationError(
      'trustedOrigins must be a non-empty list of origins such as https://app.example.com',
    );
  }
  const set = new Set<string>();
  for (const origin of origins) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw configurationError(
        `trustedOrigins: '${origin}' is not an origin such as https://app.example.com`,
      );
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== origin.replace(/\/$/, '')) {
      throw configurationError(
        `trustedOrigins: '${origin}' must be scheme://host[:port] only, with no path (did you mean '${url.origin}'?)`,
      );
    }
    set.add(url.origin);
  }
  return set;
}

function resolveCSRF(input: KeycardOptions['csrf']): ResolvedOptions['csrf'] {
  const secrets = input?.secrets ?? [randomBytes(32)];
  if (
    !Array.isArray(secrets) ||
    secrets.length === 0 ||
    secrets.some((s) => !Buffer.isBuffer(s) || s.length < 32)
  ) {
    throw configurationError('csrf.secrets must be a non-empty list of secrets of at least 32 bytes');
  }
  return { enabled: input?.enabled ?? true, secrets };
}

export function resolveOptions(options: KeycardOptions): ResolvedOptions {
  if (!options || typeof options !== 'object')
    throw configurationError('createKeycard needs an options object');
  const { store } = options;
  if (!store || typeof store.getLogin !== 'function') {
    throw configurationError('options.store is required: pass a store such as new SQLiteStore({ path })');
  }
  const presetName = options.preset ?? 'web-app';
  // Own keys only: 'toString' or '__proto__' must not resolve to something inherited.
  const preset = Object.hasOwn(PRESETS, presetName) ? PRESETS[presetName] : undefined;
  if (!preset) {
    throw configurationError(`preset '${presetName}' is unknown; choose one of: ${PRESET_NAMES.join(', ')}`);
  }
  const strategy = options.strategy ?? preset.strategy;
  if (!STRATEGY_NAMES.includes(strategy)) {
    throw configurationError(
      `strategy '${String(strategy)}' is unknown; choose one of: ${STRATEGY_NAMES.join(', ')}`,
    );
  }
  const environment =
    options.environment ?? (process.env.NODE_ENV === 'production' ? 'production' : 'development');

  const idleTimeoutMs =
    parseDuration(options.session?.idleTimeout ?? preset.idleTimeout, 'session.idleTimeout') * 1000;
  const absoluteTimeoutMs =
    parseDuration(options.session?.absoluteTimeout ?? preset.absoluteTimeout, 'session.absoluteTimeout') *
    1000;
  if (idleTimeoutMs > absoluteTimeoutMs) {
    throw configurationError('session.idleTimeout must not be longer than session.absoluteTimeout');
  }
  const touchIntervalMs =
    options.session?.touchInterval === undefined
      ? Math.floor(idleTimeoutMs / 10)
      : parseDuration(options.session.touchInterval, 'session.touchInterval') * 1000;
  if (touchIntervalMs >= idleTimeoutMs) {
    throw configurationError('session.touchInterval must be shorter than session.idleTimeout');
  }
  const maxDataBytes = options.session?.maxDataBytes ?? 16_384;
  if (!Number.isInteger(maxDataBytes) || maxDataBytes < 2 || maxDataBytes > 1_048_576) {
    throw configurationError('session.maxDataBytes must be a whole number between 2 and 1048576');
  }

  const maxLoginsPerUser = options.logins?.maxPerUser ?? 100;
  if (!Number.isInteger(maxLoginsPerUser) || maxLoginsPerUser < 1 || maxLoginsPerUser > 100_000) {
    throw configurationError('logins.maxPerUser must be a whole number from 1 to 100000');
  }

  const name = options.cookie?.name ?? 'keycard_session';
  if (!COOKIE_BASE_NAME.test(name) || COOKIE_PREFIX.test(name)) {
    throw configurationError(
      'cookie.name must be 1–64 letters, digits, _ or -, without a __Host-/__Secure- prefix',
    );
  }
  const secure = options.cookie?.secure ?? 'auto';
  if (secure !== 'auto' && typeof secure !== 'boolean')
    throw configurationError("cookie.secure must be 'auto', true or false");
  if (secure === false && environment === 'production') {
    throw configurationError('cookie.secure: false is refused in production: session cookies must be Secure');
  }
  const sameSite = options.cookie?.sameSite ?? preset.sameSite;
  if (sameSite !== 'lax' && sameSite !== 'strict') {
    throw configurationError(
      "cookie.sameSite must be 'lax' or 'strict' (None would send the cookie cross-site)",
    );
  }
  const domain = options.cookie?.domain;
  if (domain !== undefined && (domain.length > 253 || !COOKIE_DOMAIN.test(domain))) {
    throw configurationError(`cookie.domain '${domain}' is not a host name`);
  }

  const roles = resolveRoles(options.roles);
  return {
    store,
    strategy,
    preset: presetName,
    environment,
    session: { idleTimeoutMs, absoluteTimeoutMs, touchIntervalMs, maxDataBytes, maxLoginsPerUser },
    cookie: { name, sameSite, secure, domain, persistent: options.cookie?.persistent ?? preset.persistent },
    jwt: strategy === 'session' ? null : resolveJWTOptions(options.jwt, preset.jwt, environment),
    csrf: resolveCSRF(options.csrf),
    trustedOrigins: resolveOrigins(options.trustedOrigins),
    passwordPolicy: resolvePasswordPolicy(options.passwords),
    argon2: options.passwords?.argon2 ?? OWASP_ARGON2ID,
    roles,
    signup: resolveSignup(options.signup),
    mfa: resolveMfaOptions(options.mfa, roles),
    throttle: resolveThrottleOptions(options.throttle),
    clock: options.clock ?? systemClock,
    onEvent: options.onEvent,
    onHookError: options.onHookError ?? ((error) => console.error('keycard: an onEvent hook threw', error)),
  };
}
