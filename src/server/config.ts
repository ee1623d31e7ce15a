/**
 * The server's configuration, from (lowest to highest precedence) defaults, a JSON config file,
 * environment variables and command-line flags. Every value is checked against its setting's schema
 * (settings.ts), then the rules a schema cannot say are checked here; every error is collected, each
 * naming the setting, where it came from and what is expected.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Value } from '@sinclair/typebox/value';
import {
  type Algorithm,
  configurationError,
  type Duration,
  normalizeUsername,
  type Preset,
  type SignupMode,
  type Strategy,
  type Transport,
} from 'keycard';
import { smtpMailer } from 'keycard/mail';
import { parseStoreURL } from 'keycard/stores';
import { checkBaseUrl } from '../core/accounts/service.js';
import { expectedText, fromText } from './config-schema.js';
import { type LogLevel, SETTINGS, type SettingKey, type SettingSpec } from './settings.js';

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
  /** Who may sign up. */
  signup: SignupMode;
  /** Roles that must have a second factor (docs/mfa.md); undefined: none. */
  mfaRequiredRoles: string[] | undefined;
  /** How recent a proof sensitive actions need. */
  stepUpWindow: Duration;
  /** Account mail (smtp, mailFrom and publicUrl together); undefined: no mail. */
  mail: MailConfig | undefined;
  /** The origin the pages are served from, for passkeys (its host is the relying party ID); undefined: off. */
  passkeyOrigin: string | undefined;
}

export interface MailConfig {
  /** The SMTP server's URL (it may hold a password: never logged). */
  smtp: string;
  from: string;
  /** Where mailed links point. */
  publicUrl: string;
}

export interface FirstAdminConfig {
  username: string;
  /** A file holding the password, or `-` for stdin. */
  passwordFile: string;
  /** Where each came from (`KEYCARD_ADMIN_USERNAME`, `--admin-password-file`, …), for the log. */
  usernameFrom: string;
  passwordFrom: string;
}

/** Every ServerConfig field but the composites firstAdmin and mail is one setting. */
type Key =
  | Exclude<keyof ServerConfig, 'firstAdmin' | 'mail'>
  | 'adminUsername'
  | 'adminPasswordFile'
  | 'smtp'
  | 'mailFrom'
  | 'publicUrl';
// Checked both ways: every setting is a config key, every config key a setting.
const KEYS_MATCH: [Key, SettingKey] extends [SettingKey, Key] ? true : never = true;
void KEYS_MATCH;

/** Where a setting's value came from. */
export type SettingSource = 'default' | 'file' | 'env' | 'flag';

export interface SettingValue {
  /** As given (flags and environment variables converted from text); undefined: not set, no default. */
  value: unknown;
  source: SettingSource;
  /** As errors name it: `--port`, `PORT`, `port in ./keycard.json`, `port` (the default). */
  from: string;
}

/** What `keycard config check` reports: every setting's value and source, every error, the result. */
export interface ConfigCheck {
  /** The config file read, if any. */
  file: string | undefined;
  settings: Record<SettingKey, SettingValue>;
  /** Every problem found, each one line; empty when `config` is set. */
  errors: string[];
  config: ServerConfig | null;
}

export interface ConfigSources {
  /** Parsed flags by flag name (as `SETTINGS[key].flag`). */
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file. */
  file?: string;
}

/** The file's settings, or why it cannot be read; unknown keys are errors (`$schema` is for editors). */
function readConfigFile(path: string, errors: string[]): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    // JSON.parse's message is not shown: it quotes the text, which may hold a store URL's password.
    const reason = (error as { code?: string }).code === 'ENOENT' ? 'does not exist' : 'is not valid JSON';
    errors.push(`config file ${path} ${reason}`);
    return {};
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    errors.push(`config file ${path} must hold a JSON object`);
    return {};
  }
  for (const key of Object.keys(json)) {
    if (key === '$schema') {
      if (typeof (json as { $schema: unknown }).$schema !== 'string')
        errors.push(`$schema in ${path}: expected a string`);
    } else if (!Object.hasOwn(SETTINGS, key)) {
      errors.push(
        `config file ${path}: unknown setting '${key}'; known: ${Object.keys(SETTINGS).join(', ')}`,
      );
    }
  }
  return json as Record<string, unknown>;
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

/** Each setting's value by precedence (flag, environment, file, default), checked against its schema. */
function gather(
  sources: ConfigSources,
  env: NodeJS.ProcessEnv,
  file: string | undefined,
  errors: string[],
): { settings: Record<SettingKey, SettingValue>; valid: Set<SettingKey> } {
  const flags = sources.flags ?? {};
  const fromFile = file ? readConfigFile(file, errors) : {};
  const settings = {} as Record<SettingKey, SettingValue>;
  const valid = new Set<SettingKey>();
  for (const [key, spec] of Object.entries(SETTINGS) as [SettingKey, SettingSpec][]) {
    const flag = flags[spec.flag];
    const variable = env[spec.env];
    const setting: SettingValue =
      flag !== undefined
        ? { value: fromText(spec, flag), source: 'flag', from: `--${spec.flag}` }
        : variable !== undefined && variable !== ''
          ? { value: fromText(spec, variable), source: 'env', from: spec.env }
          : fromFile[key] !== undefined
            ? { value: fromFile[key], source: 'file', from: `${key} in ${file}` }
            : { value: spec.default, source: 'default', from: key };
    settings[key] = setting;
    if (setting.value === undefined || Value.Check(spec.schema, setting.value)) valid.add(key);
    else errors.push(`${setting.from}: expected ${expectedText(spec, setting.value)}`);
  }
  return { settings, valid };
}

/**
 * Reads and checks the configuration, collecting every error rather than stopping at the first: what
 * `keycard config check` prints. `loadServerConfig` is the same, throwing.
 */
export function checkServerConfig(sources: ConfigSources = {}): ConfigCheck {
  const env = sources.env ?? process.env;
  const file = sources.file ?? env.KEYCARD_CONFIG;
  const errors: string[] = [];
  // Environment variables leak (process listings, `docker inspect`, crash reports): a password is read
  // from a file or stdin only. Refused rather than ignored, so that the server does not start without
  // the admin its operator meant to create.
  if (env.KEYCARD_ADMIN_PASSWORD !== undefined) {
    errors.push(
      `KEYCARD_ADMIN_PASSWORD is not read, since environment variables leak: put the password in a file and set ${SETTINGS.adminPasswordFile.env} to its path`,
    );
  }
  const { settings, valid } = gather(sources, env, file, errors);
  const value = <T>(key: SettingKey): T => settings[key].value as T;
  const where = (key: SettingKey): string => settings[key].from;
  // The rules below span settings or parse a value; each runs only on values that passed their schema.
  const ok = (...keys: SettingKey[]): boolean => keys.every((key) => valid.has(key));

  if (ok('store')) {
    try {
      parseStoreURL(value('store'));
    } catch (error) {
      errors.push((error as Error).message);
    }
  }

  /**
   * Fastify's `trustProxy`. A list names the proxies: the client address is then the nearest address in
   * X-Forwarded-For that is not one of them, which a client cannot forge. (Hop counts are not offered:
   * Fastify refuses them, since they cannot check that the peer is a proxy at all.)
   */
  const trustProxy = value<boolean | string[]>('trustProxy');
  if (ok('trustProxy') && Array.isArray(trustProxy) && !trustProxy.every(isProxyAddress))
    errors.push(`${where('trustProxy')}: expected ${SETTINGS.trustProxy.expected}`);

  /** Never the public port: metrics describe the server to its operator, not to the internet. */
  const metricsPort = value<number | undefined>('metricsPort');
  if (
    ok('metricsPort', 'port') &&
    metricsPort !== undefined &&
    metricsPort !== 0 &&
    metricsPort === value('port')
  )
    errors.push(`${where('metricsPort')}: must differ from the public port (${metricsPort})`);

  const firstAdmin = ok('adminUsername', 'adminPasswordFile') ? checkFirstAdmin(settings, errors) : undefined;
  const mail = ok('smtp', 'mailFrom', 'publicUrl') ? checkMail(settings, errors) : undefined;
  const passkeyOrigin = value<string | undefined>('passkeyOrigin');
  if (ok('passkeyOrigin') && passkeyOrigin !== undefined && !isPasskeyOrigin(passkeyOrigin))
    errors.push(
      `${where('passkeyOrigin')}: expected the origin of this server's pages, such as https://auth.example.com (http only for localhost; no path)`,
    );

  if (errors.length > 0) return { file, settings, errors, config: null };
  const config = Object.fromEntries(
    Object.entries(settings).map(([key, setting]) => [key, setting.value]),
  ) as unknown as ServerConfig &
    Record<'adminUsername' | 'adminPasswordFile' | 'smtp' | 'mailFrom' | 'publicUrl', unknown>;
  delete config.adminUsername;
  delete config.adminPasswordFile;
  delete config.smtp;
  delete config.mailFrom;
  delete config.publicUrl;
  config.mail = mail;
  config.environment = value('environment') === 'production' ? 'production' : 'development';
  config.firstAdmin = firstAdmin;
  return { file, settings, errors, config };
}

/** An origin a browser runs WebAuthn on: https, or http on localhost; nothing after the host and port. */
function isPasskeyOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    const secure = url.protocol === 'https:' || (url.protocol === 'http:' && url.hostname === 'localhost');
    return secure && url.origin === value && /^[a-z0-9.-]+$/.test(url.hostname);
  } catch {
    return false;
  }
}

/** The three mail settings together or none; each checked as the server will use it. */
function checkMail(settings: Record<SettingKey, SettingValue>, errors: string[]): MailConfig | undefined {
  const smtp = settings.smtp.value as string | undefined;
  const from = settings.mailFrom.value as string | undefined;
  const publicUrl = settings.publicUrl.value as string | undefined;
  if (smtp === undefined) {
    if (from !== undefined)
      errors.push(
        `${settings.mailFrom.from} is set but ${SETTINGS.smtp.env} is not: mail needs an SMTP server`,
      );
    // A public URL alone is fine: nothing uses it without mail.
    return undefined;
  }
  const missing = [
    from === undefined && SETTINGS.mailFrom.env,
    publicUrl === undefined && SETTINGS.publicUrl.env,
  ].filter(Boolean);
  if (missing.length > 0) {
    errors.push(
      `${settings.smtp.from} needs ${missing.join(' and ')} too: the sender, and where mailed links point`,
    );
    return undefined;
  }
  const before = errors.length;
  try {
    smtpMailer({ url: smtp, from: from as string });
  } catch (error) {
    errors.push(`${settings.smtp.from}: ${(error as Error).message}`);
  }
  try {
    checkBaseUrl(publicUrl);
  } catch {
    errors.push(
      `${settings.publicUrl.from}: expected the https URL of this server's pages, such as https://auth.example.com (http only for localhost)`,
    );
  }
  return errors.length === before
    ? { smtp, from: from as string, publicUrl: publicUrl as string }
    : undefined;
}

/** Both admin settings or neither; the username must be one keycard accepts. */
function checkFirstAdmin(
  settings: Record<SettingKey, SettingValue>,
  errors: string[],
): FirstAdminConfig | undefined {
  const username = settings.adminUsername.value as string | undefined;
  const passwordFile = settings.adminPasswordFile.value as string | undefined;
  const usernameFrom = settings.adminUsername.from;
  const passwordFrom = settings.adminPasswordFile.from;
  if (username === undefined && passwordFile === undefined) return undefined;
  if (username === undefined) {
    errors.push(
      `${passwordFrom} is set but ${SETTINGS.adminUsername.env} is not: set both to create the first admin`,
    );
    return undefined;
  }
  if (passwordFile === undefined) {
    errors.push(
      `${usernameFrom} needs the password too: set ${SETTINGS.adminPasswordFile.env} to a file holding it (or --${SETTINGS.adminPasswordFile.flag} - to read stdin)`,
    );
    return undefined;
  }
  const name = normalizeUsername(username);
  if (!name.ok) {
    errors.push(`${usernameFrom}: ${name.reason}`);
    return undefined;
  }
  return { username: name.username, passwordFile, usernameFrom, passwordFrom };
}

/** The configuration, or a configuration error naming every problem found (separated by `; `). */
export function loadServerConfig(sources: ConfigSources = {}): ServerConfig {
  const { errors, config } = checkServerConfig(sources);
  if (!config) throw configurationError(errors.join('; '));
  return config;
}
