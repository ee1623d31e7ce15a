/**
 * Every setting of `keycard serve`, in one table: its config-file key, schema, flag, environment
 * variable, default and meaning. The loader (config.ts) reads its defaults from here, the CLI builds its
 * flags and `keycard serve --help` from it, and docs/server.md's option table is generated from it
 * (`scripts/server-docs.ts`; a test fails when the doc is out of date). The lists of choices come from the
 * tables the code validates with (PRESET_NAMES, STRATEGY_NAMES, …), so a new preset shows up everywhere.
 *
 * Each setting's `schema` (TypeBox, so plain JSON Schema) says what a valid value is, as it is written in
 * the config file: the loader checks every source against it (flags and environment variables converted
 * from text first, config-schema.ts), and config.schema.json, published in the package, is built from it.
 * The table stays the one place a setting is declared; rules that span settings or need parsing (both
 * admin settings or neither, proxy addresses, the store URL) are code in config.ts.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import { ALGORITHMS, PRESET_NAMES, SIGNUP_MODES, STRATEGY_NAMES, TRANSPORT_NAMES } from 'keycard';
import { DEFAULT_STORE_URL } from 'keycard/stores';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface SettingSpec {
  /** A valid value, as a JSON config file holds it. */
  schema: TSchema;
  /** What a bad value is told is expected, when the schema alone does not say it well. */
  expected?: string;
  /** `--flag` (without the dashes). */
  flag: string;
  env: string;
  /** The value's placeholder in --help (`N`, `URL`); absent for an on/off flag. */
  value?: string;
  /** Repeatable flag; comma-separated in the environment; a list in the config file. */
  list?: boolean;
  /** What it does: one sentence, for --help and the docs. */
  help: string;
  /** The default the loader uses; undefined when there is none (or it is another setting's). */
  default: string | number | boolean | undefined;
  /** How the default is shown when `default` is undefined or needs words. */
  defaultText?: string;
}

const or = (names: readonly string[]): string =>
  names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;

/** One of a closed set of names. */
const oneOf = (names: readonly string[]) => Type.Union(names.map((name) => Type.Literal(name)));
const NON_EMPTY = Type.String({ minLength: 1 });
const NON_EMPTY_LIST = Type.Array(NON_EMPTY, { minItems: 1 });
const PORT_SCHEMA = Type.Integer({ minimum: 0, maximum: 65_535 });

export const SETTINGS = {
  port: {
    schema: PORT_SCHEMA,
    flag: 'port',
    env: 'PORT',
    value: 'N',
    help: 'port to listen on',
    default: 3000,
  },
  host: {
    schema: NON_EMPTY,
    flag: 'host',
    env: 'HOST',
    value: 'HOST',
    help: 'interface to bind',
    default: 'localhost',
  },
  store: {
    schema: NON_EMPTY,
    flag: 'store',
    env: 'KEYCARD_STORE',
    value: 'URL',
    help: 'where users and logins live: sqlite:FILE, memory: (this process only), redis://…, rediss://…, redis+cluster://h:p,h:p, redis+sentinel://h:p,h:p/name, postgres://… or mongodb://…',
    default: DEFAULT_STORE_URL,
  },
  preset: {
    schema: oneOf(PRESET_NAMES),
    flag: 'preset',
    env: 'KEYCARD_PRESET',
    value: 'NAME',
    help: `the use case, which picks strategy, transport and lifetimes: ${or(PRESET_NAMES)}`,
    default: 'web-app',
  },
  strategy: {
    schema: oneOf(STRATEGY_NAMES),
    flag: 'strategy',
    env: 'KEYCARD_STRATEGY',
    value: 'NAME',
    help: `${or(STRATEGY_NAMES)}`,
    default: undefined,
    defaultText: "the preset's",
  },
  transport: {
    schema: oneOf(TRANSPORT_NAMES),
    flag: 'transport',
    env: 'KEYCARD_TRANSPORT',
    value: 'NAME',
    help: `jwt and hybrid: where tokens travel, ${or(TRANSPORT_NAMES)}`,
    default: undefined,
    defaultText: "the preset's",
  },
  issuer: {
    schema: NON_EMPTY,
    flag: 'issuer',
    env: 'KEYCARD_ISSUER',
    value: 'NAME',
    help: 'jwt and hybrid: the iss of tokens',
    default: undefined,
    defaultText: 'keycard',
  },
  audience: {
    schema: NON_EMPTY,
    flag: 'audience',
    env: 'KEYCARD_AUDIENCE',
    value: 'NAME',
    help: 'jwt and hybrid: the aud of tokens',
    default: undefined,
    defaultText: 'keycard',
  },
  keyAlgorithm: {
    schema: oneOf(ALGORITHMS),
    flag: 'key-algorithm',
    env: 'KEYCARD_KEY_ALGORITHM',
    value: 'ALG',
    help: `algorithm of signing keys generated in development: ${or(ALGORITHMS)}`,
    default: 'EdDSA',
  },
  keysFile: {
    schema: NON_EMPTY,
    flag: 'keys',
    env: 'KEYCARD_KEYS_FILE',
    value: 'FILE',
    help: 'key file (secrets and signing keys): generated in development once every other start-up check has passed, required in production',
    default: './keycard.keys.json',
  },
  environment: {
    schema: NON_EMPTY,
    flag: 'env',
    env: 'NODE_ENV',
    value: 'NAME',
    help: 'development or production; production refuses generated keys and weak settings',
    default: 'development',
  },
  trustProxy: {
    schema: Type.Union([Type.Boolean(), NON_EMPTY_LIST]),
    expected:
      'true, false, or the proxies’ addresses or CIDR ranges separated by commas (such as 10.0.0.0/8)',
    flag: 'trust-proxy',
    env: 'KEYCARD_TRUST_PROXY',
    value: 'LIST',
    help: "the proxies in front, as addresses or CIDR ranges such as 10.0.0.0/8,::1: only then is X-Forwarded-For believed; 'true' trusts any, avoid it",
    default: false,
    defaultText: 'none',
  },
  trustedOrigins: {
    schema: NON_EMPTY_LIST,
    flag: 'trusted-origin',
    env: 'KEYCARD_TRUSTED_ORIGINS',
    value: 'URL',
    list: true,
    help: 'a front end on another origin, trusted with credentials: CORS and the cross-site check (docs/spa.md); repeat the flag, or separate them by commas',
    default: undefined,
    defaultText: 'none',
  },
  bodyLimitBytes: {
    schema: Type.Integer({ minimum: 1024, maximum: 1_048_576 }),
    flag: 'body-limit',
    env: 'KEYCARD_BODY_LIMIT',
    value: 'BYTES',
    help: 'largest request body; larger gets 413',
    default: 16_384,
  },
  maxHeaderBytes: {
    schema: Type.Integer({ minimum: 4096, maximum: 1_048_576 }),
    flag: 'max-header-bytes',
    env: 'KEYCARD_MAX_HEADER_BYTES',
    value: 'N',
    help: 'largest request line and headers; larger gets 431',
    default: 16_384,
  },
  logLevel: {
    schema: oneOf(LOG_LEVELS),
    flag: 'log-level',
    env: 'KEYCARD_LOG_LEVEL',
    value: 'LEVEL',
    help: or(LOG_LEVELS),
    default: 'info',
  },
  logRequests: {
    schema: Type.Boolean(),
    flag: 'log-requests',
    env: 'KEYCARD_LOG_REQUESTS',
    help: 'log every request: method, path, status, time',
    default: false,
  },
  metricsPort: {
    schema: PORT_SCHEMA,
    flag: 'metrics-port',
    env: 'KEYCARD_METRICS_PORT',
    value: 'N',
    help: 'serve Prometheus metrics at GET /metrics on this port, a management listener apart from the public one (docs/operations.md)',
    default: undefined,
    defaultText: 'off',
  },
  metricsHost: {
    schema: NON_EMPTY,
    flag: 'metrics-host',
    env: 'KEYCARD_METRICS_HOST',
    value: 'HOST',
    help: 'interface the metrics listener binds; keep it off the public network',
    default: '127.0.0.1',
  },
  shutdownTimeout: {
    schema: Type.Integer({ minimum: 0, maximum: 600 }),
    flag: 'shutdown-timeout',
    env: 'KEYCARD_SHUTDOWN_TIMEOUT',
    value: 'SECONDS',
    help: 'on SIGTERM or SIGINT, how long requests in flight may take to finish before their connections are closed',
    default: 10,
  },
  signup: {
    schema: oneOf(SIGNUP_MODES),
    flag: 'signup',
    env: 'KEYCARD_SIGNUP',
    value: 'MODE',
    help: 'who may create an account: closed (admins and the CLI only), invite (with an invitation an admin creates) or open (anyone, throttled per client address) (docs/accounts.md)',
    default: 'closed',
  },
  mfaRequiredRoles: {
    schema: NON_EMPTY_LIST,
    flag: 'mfa-required-role',
    env: 'KEYCARD_MFA_REQUIRED_ROLES',
    value: 'ROLE',
    list: true,
    help: 'users of this role must have a second factor before any sensitive action (admin actions, password, email, factors); they may sign in and enroll one (docs/mfa.md)',
    default: undefined,
    defaultText: 'none',
  },
  stepUpWindow: {
    schema: Type.String({ pattern: '^[1-9][0-9]{0,8}[smhd]$' }),
    expected: "a duration such as '10m'",
    flag: 'step-up-window',
    env: 'KEYCARD_STEP_UP_WINDOW',
    value: 'DURATION',
    help: 'how recent a second factor (or, without one, the password) a sensitive action needs; older, it answers 403 step_up_required (docs/mfa.md)',
    default: '10m',
  },
  smtp: {
    schema: NON_EMPTY,
    flag: 'smtp',
    env: 'KEYCARD_SMTP',
    value: 'URL',
    help: 'send account mail (password reset, email verification) through this SMTP server: smtp://user:pass@host:587 (STARTTLS when offered; ?starttls=required to insist) or smtps://host:465; needs --mail-from and --public-url (docs/accounts.md)',
    default: undefined,
    defaultText: 'no mail',
  },
  mailFrom: {
    schema: NON_EMPTY,
    flag: 'mail-from',
    env: 'KEYCARD_MAIL_FROM',
    value: 'ADDRESS',
    help: 'the sender of account mail: no-reply@example.com or "Acme" <no-reply@acme.example>',
    default: undefined,
    defaultText: 'none',
  },
  publicUrl: {
    schema: NON_EMPTY,
    flag: 'public-url',
    env: 'KEYCARD_PUBLIC_URL',
    value: 'URL',
    help: "the URL people reach this server's pages at, which mailed links point to: https://auth.example.com (http only for localhost)",
    default: undefined,
    defaultText: 'none',
  },
  passkeyOrigin: {
    schema: NON_EMPTY,
    flag: 'passkey-origin',
    env: 'KEYCARD_PASSKEY_ORIGIN',
    value: 'URL',
    help: "turn passkeys on: the origin this server's pages are served from, https://auth.example.com (http only for localhost); its host name is the relying party ID, so a passkey works only there (docs/mfa.md)",
    default: undefined,
    defaultText: 'no passkeys',
  },
  adminUsername: {
    schema: NON_EMPTY,
    flag: 'admin-username',
    env: 'KEYCARD_ADMIN_USERNAME',
    value: 'NAME',
    help: 'create this admin at start-up if the store has no users yet, with the password from --admin-password-file; never changes an existing user',
    default: undefined,
    defaultText: 'none',
  },
  adminPasswordFile: {
    schema: NON_EMPTY,
    flag: 'admin-password-file',
    env: 'KEYCARD_ADMIN_PASSWORD_FILE',
    value: 'FILE',
    help: "the first admin's password: a file holding it (a trailing newline is ignored), or - for stdin, asked for in a terminal",
    default: undefined,
    defaultText: 'none',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;

/** The default as people read it: `3000`, `sqlite:./keycard.db`, `the preset's`, `none`. */
export function settingDefault(spec: SettingSpec): string {
  return spec.defaultText ?? String(spec.default);
}
