/**
 * The server's configuration, from (lowest to highest precedence) defaults, a JSON config file,
 * environment variables and command-line flags. Validated in one place, with messages that name the
 * setting, where it came from and what is expected.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import {
  ALGORITHMS,
  type Algorithm,
  configurationError,
  normalizeUsername,
  PRESET_NAMES,
  type Preset,
  STRATEGY_NAMES,
  type Strategy,
  TRANSPORT_NAMES,
  type Transport,
} from 'keycard';
import { parseStoreURL } from 'keycard/stores';
import { LOG_LEVELS, type LogLevel, SETTINGS, type SettingKey } from './settings.js';

export type { LogLevel } from './settings.js';

export interface ServerConfig {
  port: number;
  host: string;
  /** Store URL: sqlite:./keycard.db, memory:, … */
  store: string;
  /** Undefined: the preset's. */
  strategy: Strategy | undefined;
  preset: Preset;
  /** jwt: cookie or header; undefined: the preset's. */
  transport: Transport | undefined;
  /** jwt: `iss` of tokens (default 'keycard'). */
  issuer: string | undefined;
  /** jwt: `aud` of tokens (default 'keycard'). */
  audience: string | undefined;
  /** Algorithm of signing keys generated in development. */
  keyAlgorithm: Algorithm;
  environment: 'development' | 'production';
  keysFile: string;
  /**
   * Which proxies in front to believe about X-Forwarded-For/-Proto (only ones you run): false (none), the
   * proxies' addresses or CIDR ranges, or true (every hop: then a client can choose its own address when
   * the proxy appends to X-Forwarded-For).
   */
  trustProxy: boolean | string[];
  /** Extra origins allowed to make cookie-authenticated unsafe requests. */
  trustedOrigins: string[] | undefined;
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes: number;
  /** Largest request header section (request line and headers) accepted, in bytes; beyond it, 431. */
  maxHeaderBytes: number;
  logLevel: LogLevel;
  /**
   * One log line per request (method, URL, status, time). Off by default: the proxy in front keeps the
   * access log, and per-request lines cost on every request. Audit events and errors are always logged.
   */
  logRequests: boolean;
  /**
   * The admin to create at start-up when the store has no users yet (adminUsername and adminPasswordFile):
   * how containers and the in-process `memory:` store get their first user. Never changes a user.
   */
  firstAdmin: FirstAdminConfig | undefined;
  /** Port of the management listener serving GET /metrics; undefined: no metrics. */
  metricsPort: number | undefined;
  /** Interface the metrics listener binds. */
  metricsHost: string;
  /** Seconds requests in flight get to finish after SIGTERM/SIGINT. */
  shutdownTimeout: number;
}

export interface FirstAdminConfig {
  username: string;
  /** A file holding the password, or `-` for stdin. */
  passwordFile: string;
  /** Where each came from (`KEYCARD_ADMIN_USERNAME`, `--admin-password-file`, …), for the log. */
  usernameFrom: string;
  passwordFrom: string;
}

/** Every ServerConfig field but the composite firstAdmin is one setting. */
type Key = Exclude<keyof ServerConfig, 'firstAdmin'> | 'adminUsername' | 'adminPasswordFile';
// Checked both ways: every setting is a config key, every config key a setting.
const KEYS_MATCH: [Key, SettingKey] extends [SettingKey, Key] ? true : never = true;
void KEYS_MATCH;

type Raw = Partial<Record<Key, unknown>>;

export interface ConfigSources {
  /** Parsed flags by flag name (as `SETTINGS[key].flag`). */
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file. */
  file?: string;
}

function readConfigFile(path: string): Raw {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason = (error as { code?: string }).code === 'ENOENT' ? 'does not exist' : 'is not valid JSON';
    throw configurationError(`config file ${path} ${reason}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw configurationError(`config file ${path} must hold a JSON object`);
  for (const key of Object.keys(json)) {
    if (!Object.hasOwn(SETTINGS, key)) {
      throw configurationError(
        `config file ${path}: unknown setting '${key}'; known: ${Object.keys(SETTINGS).join(', ')}`,
      );
    }
  }
  return json as Raw;
}

/** An IP address, a CIDR range, or one of proxy-addr's names for reserved ranges. */
function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

export function loadServerConfig(sources: ConfigSources = {}): ServerConfig {
  const env = sources.env ?? process.env;
  const flags = sources.flags ?? {};
  const file = sources.file ?? env.KEYCARD_CONFIG;
  const fromFile: Raw = file ? readConfigFile(file) : {};
  const origin = new Map<Key, string>();
  const pick = (key: Key): unknown => {
    const setting = SETTINGS[key];
    if (flags[setting.flag] !== undefined) {
      origin.set(key, `--${setting.flag}`);
      return flags[setting.flag];
    }
    if (env[setting.env] !== undefined && env[setting.env] !== '') {
      origin.set(key, setting.env);
      return env[setting.env];
    }
    if (fromFile[key] !== undefined) {
      origin.set(key, `${key} in ${file}`);
      return fromFile[key];
    }
    return undefined;
  };
  const where = (key: Key) => origin.get(key) ?? key;
  const bad = (key: Key, expected: string) => configurationError(`${where(key)}: expected ${expected}`);

  const fallback = (key: Key): unknown => (SETTINGS[key] as { default: unknown }).default;
  const integer = (key: Key, min: number, max: number): number => {
    const value = pick(key) ?? fallback(key);
    const number =
      typeof value === 'number' ? value : /^\d+$/.test(String(value)) ? Number(value) : Number.NaN;
    if (!Number.isInteger(number) || number < min || number > max)
      throw bad(key, `a whole number from ${min} to ${max}`);
    return number;
  };
  const boolean = (key: Key): boolean => {
    const value = pick(key) ?? fallback(key);
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    throw bad(key, 'true or false');
  };
  const string = (key: Key): string => {
    const value = pick(key) ?? fallback(key);
    if (typeof value !== 'string' || value === '') throw bad(key, 'a non-empty string');
    return value;
  };
  const optionalInteger = (key: Key, min: number, max: number): number | undefined =>
    pick(key) === undefined ? undefined : integer(key, min, max);
  const optionalString = (key: Key): string | undefined =>
    pick(key) === undefined ? undefined : string(key);
  const oneOf = <T extends string>(key: Key, choices: readonly T[]): T => {
    const value = string(key);
    if (!choices.includes(value as T)) throw bad(key, `one of ${choices.join(', ')} (got '${value}')`);
    return value as T;
  };
  const optionalOneOf = <T extends string>(key: Key, choices: readonly T[]): T | undefined =>
    pick(key) === undefined ? undefined : oneOf(key, choices);

  /**
   * Fastify's `trustProxy`. A list names the proxies: the client address is then the nearest address in
   * X-Forwarded-For that is not one of them, which a client cannot forge. (Hop counts are not offered:
   * Fastify refuses them, since they cannot check that the peer is a proxy at all.)
   */
  const proxyTrust = (): boolean | string[] => {
    const value = pick('trustProxy') ?? false;
    if (typeof value === 'boolean' || ['true', 'false', '1', '0'].includes(String(value))) {
      return boolean('trustProxy');
    }
    const list = (Array.isArray(value) ? value.map(String) : String(value).split(','))
      .map((entry) => entry.trim())
      .filter(Boolean);
    if (list.length === 0 || !list.every(isProxyAddress)) {
      throw bad(
        'trustProxy',
        'true, false, or the proxies’ addresses or CIDR ranges separated by commas (such as 10.0.0.0/8)',
      );
    }
    return list;
  };

  /** Both admin settings or neither; the username must be one keycard accepts. */
  const firstAdmin = (): FirstAdminConfig | undefined => {
    const username = optionalString('adminUsername');
    const passwordFile = optionalString('adminPasswordFile');
    if (username === undefined && passwordFile === undefined) return undefined;
    if (username === undefined) {
      throw configurationError(
        `${where('adminPasswordFile')} is set but ${SETTINGS.adminUsername.env} is not: set both to create the first admin`,
      );
    }
    if (passwordFile === undefined) {
      throw configurationError(
        `${where('adminUsername')} needs the password too: set ${SETTINGS.adminPasswordFile.env} to a file holding it (or --${SETTINGS.adminPasswordFile.flag} - to read stdin)`,
      );
    }
    const name = normalizeUsername(username);
    if (!name.ok) throw configurationError(`${where('adminUsername')}: ${name.reason}`);
    return {
      username: name.username,
      passwordFile,
      usernameFrom: where('adminUsername'),
      passwordFrom: where('adminPasswordFile'),
    };
  };

  // Environment variables leak (process listings, `docker inspect`, crash reports): a password is read
  // from a file or stdin only. Refused rather than ignored, so that the server does not start without
  // the admin its operator meant to create.
  if (env.KEYCARD_ADMIN_PASSWORD !== undefined) {
    throw configurationError(
      `KEYCARD_ADMIN_PASSWORD is not read, since environment variables leak: put the password in a file and set ${SETTINGS.adminPasswordFile.env} to its path`,
    );
  }

  const store = string('store');
  parseStoreURL(store);
  const rawEnvironment = string('environment');
  const environment = rawEnvironment === 'production' ? 'production' : 'development';
  const origins = pick('trustedOrigins');
  const trustedOrigins =
    origins === undefined
      ? undefined
      : Array.isArray(origins)
        ? origins.map(String)
        : String(origins)
            .split(',')
            .map((entry) => entry.trim())
            .filter(Boolean);

  const port = integer('port', 0, 65_535);
  /** Never the public port: metrics describe the server to its operator, not to the internet. */
  const metricsPort = (): number | undefined => {
    const value = optionalInteger('metricsPort', 0, 65_535);
    if (value !== undefined && value !== 0 && value === port) {
      throw configurationError(`${where('metricsPort')}: must differ from the public port (${port})`);
    }
    return value;
  };

  return {
    port,
    host: string('host'),
    store,
    strategy: optionalOneOf('strategy', STRATEGY_NAMES),
    preset: oneOf('preset', PRESET_NAMES),
    transport: optionalOneOf('transport', TRANSPORT_NAMES),
    issuer: optionalString('issuer'),
    audience: optionalString('audience'),
    keyAlgorithm: oneOf('keyAlgorithm', ALGORITHMS),
    environment,
    keysFile: string('keysFile'),
    trustProxy: proxyTrust(),
    trustedOrigins,
    bodyLimitBytes: integer('bodyLimitBytes', 1024, 1_048_576),
    maxHeaderBytes: integer('maxHeaderBytes', 4096, 1_048_576),
    logLevel: oneOf('logLevel', LOG_LEVELS),
    logRequests: boolean('logRequests'),
    firstAdmin: firstAdmin(),
    metricsPort: metricsPort(),
    metricsHost: string('metricsHost'),
    shutdownTimeout: integer('shutdownTimeout', 0, 600),
  };
}
