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
  PRESET_NAMES,
  type Preset,
  type Strategy,
  type Transport,
} from 'keycard';
import { DEFAULT_STORE_URL, parseStoreURL } from 'keycard/stores';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

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
}

/** Every setting: its config-file key, environment variable and flag. */
const SETTINGS = {
  port: { env: 'PORT', flag: 'port' },
  host: { env: 'HOST', flag: 'host' },
  store: { env: 'KEYCARD_STORE', flag: 'store' },
  strategy: { env: 'KEYCARD_STRATEGY', flag: 'strategy' },
  preset: { env: 'KEYCARD_PRESET', flag: 'preset' },
  transport: { env: 'KEYCARD_TRANSPORT', flag: 'transport' },
  issuer: { env: 'KEYCARD_ISSUER', flag: 'issuer' },
  audience: { env: 'KEYCARD_AUDIENCE', flag: 'audience' },
  keyAlgorithm: { env: 'KEYCARD_KEY_ALGORITHM', flag: 'key-algorithm' },
  environment: { env: 'NODE_ENV', flag: 'env' },
  keysFile: { env: 'KEYCARD_KEYS_FILE', flag: 'keys' },
  trustProxy: { env: 'KEYCARD_TRUST_PROXY', flag: 'trust-proxy' },
  trustedOrigins: { env: 'KEYCARD_TRUSTED_ORIGINS', flag: 'trusted-origin' },
  bodyLimitBytes: { env: 'KEYCARD_BODY_LIMIT', flag: 'body-limit' },
  maxHeaderBytes: { env: 'KEYCARD_MAX_HEADER_BYTES', flag: 'max-header-bytes' },
  logLevel: { env: 'KEYCARD_LOG_LEVEL', flag: 'log-level' },
  logRequests: { env: 'KEYCARD_LOG_REQUESTS', flag: 'log-requests' },
} as const satisfies Record<keyof ServerConfig, { env: string; flag: string }>;

type Key = keyof ServerConfig;
type Raw = Partial<Record<Key, unknown>>;

export interface ConfigSources {
  /** Parsed flags by flag name (as `SETTINGS[key].flag`). */
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file. */
  file?: string;
}

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

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
    if (!(key in SETTINGS)) {
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

  const integer = (key: Key, fallback: number, min: number, max: number): number => {
    const value = pick(key) ?? fallback;
    const number =
      typeof value === 'number' ? value : /^\d+$/.test(String(value)) ? Number(value) : Number.NaN;
    if (!Number.isInteger(number) || number < min || number > max)
      throw bad(key, `a whole number from ${min} to ${max}`);
    return number;
  };
  const boolean = (key: Key, fallback: boolean): boolean => {
    const value = pick(key) ?? fallback;
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    throw bad(key, 'true or false');
  };
  const string = (key: Key, fallback: string): string => {
    const value = pick(key) ?? fallback;
    if (typeof value !== 'string' || value === '') throw bad(key, 'a non-empty string');
    return value;
  };
  const oneOf = <T extends string>(key: Key, fallback: T, choices: readonly T[]): T => {
    const value = string(key, fallback);
    if (!choices.includes(value as T)) throw bad(key, `one of ${choices.join(', ')} (got '${value}')`);
    return value as T;
  };

  /**
   * Fastify's `trustProxy`. A list names the proxies: the client address is then the nearest address in
   * X-Forwarded-For that is not one of them, which a client cannot forge. (Hop counts are not offered:
   * Fastify refuses them, since they cannot check that the peer is a proxy at all.)
   */
  const proxyTrust = (): boolean | string[] => {
    const value = pick('trustProxy') ?? false;
    if (typeof value === 'boolean' || ['true', 'false', '1', '0'].includes(String(value))) {
      return boolean('trustProxy', false);
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

  const store = string('store', DEFAULT_STORE_URL);
  parseStoreURL(store);
  const rawEnvironment = string('environment', 'development');
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

  return {
    port: integer('port', 3000, 0, 65_535),
    host: string('host', 'localhost'),
    store,
    strategy:
      pick('strategy') === undefined
        ? undefined
        : oneOf('strategy', 'session', ['session', 'jwt', 'hybrid'] as const),
    preset: oneOf('preset', 'web-app', PRESET_NAMES),
    transport:
      pick('transport') === undefined
        ? undefined
        : oneOf('transport', 'cookie', ['cookie', 'header'] as const),
    issuer: pick('issuer') === undefined ? undefined : string('issuer', ''),
    audience: pick('audience') === undefined ? undefined : string('audience', ''),
    keyAlgorithm: oneOf('keyAlgorithm', 'EdDSA', ALGORITHMS),
    environment,
    keysFile: string('keysFile', './keycard.keys.json'),
    trustProxy: proxyTrust(),
    trustedOrigins,
    bodyLimitBytes: integer('bodyLimitBytes', 16_384, 1024, 1_048_576),
    maxHeaderBytes: integer('maxHeaderBytes', 16_384, 4096, 1_048_576),
    logLevel: oneOf('logLevel', 'info', LOG_LEVELS),
    logRequests: boolean('logRequests', false),
  };
}
