/**
 * The keycard options `keycard serve` runs with, built from its configuration and key file in this one
 * place, so that the CLI administers a store with the very keycard the servers on it use: the same
 * strategy, preset, lifetimes and keys. That is what makes a revoking command safe — with another
 * strategy it would write no revocation records (token strategies verify access tokens without the
 * store), and with other lifetimes it would keep them for the wrong time.
 */
import {
  type AuthEvent,
  type Clock,
  type KeycardOptions,
  type KeySet,
  type Mailer,
  presetStrategy,
  type Store,
  type Strategy,
} from 'keycard';
import type { ServerConfig } from './config.js';

/** The strategy the configuration selects: its own, else its preset's. */
export function serverStrategy(config: ServerConfig): Strategy {
  return config.strategy ?? presetStrategy(config.preset);
}

/** What the options are built from besides the configuration. */
export interface ServerKeycardParts {
  store: Store;
  /**
   * The key file's JWT keys (the server passes a mutable set, so rotation needs no restart) and HMAC
   * secrets, newest first. Required by the token strategies; without them (the session strategy with no
   * key file) CSRF secrets are per process and clients cannot be issued tokens.
   */
  keys?: { jwtKeys: KeySet; secrets: Buffer[] };
  clock?: Clock;
  onEvent?: (event: AuthEvent) => void;
  /** Told about failures off the response path: a hook, an audit append, a reset mail not sent. */
  onHookError?: (error: unknown) => void;
  revocation?: KeycardOptions['revocation'];
  /** The mailer for account mail (the server builds it from `config.mail`). */
  mailer?: Mailer;
}

export function serverKeycardOptions(config: ServerConfig, parts: ServerKeycardParts): KeycardOptions {
  const strategy = serverStrategy(config);
  const { keys } = parts;
  return {
    store: parts.store,
    preset: config.preset,
    strategy,
    environment: config.environment,
    trustedOrigins: config.trustedOrigins,
    clock: parts.clock,
    jwt:
      strategy === 'session'
        ? undefined
        : {
            keys: keys?.jwtKeys,
            transport: config.transport,
            issuer: config.issuer,
            audience: config.audience,
            refreshSecrets: keys?.secrets,
          },
    onEvent: parts.onEvent,
    onHookError: parts.onHookError,
    // CSRF tokens are signed with the key file's secrets, so every instance accepts every other's.
    csrf: keys ? { secrets: keys.secrets } : undefined,
    // API clients' tokens are signed with the key file's signing keys (whatever the strategy).
    clients: keys?.jwtKeys.signing
      ? { keys: keys.jwtKeys, issuer: config.issuer, audience: config.audience }
      : undefined,
    revocation: parts.revocation,
    signup: config.signup,
    // TOTP secrets are encrypted at rest with the key file's secrets (docs/mfa.md).
    mfa: {
      ...(keys ? { secrets: keys.secrets } : {}),
      requiredRoles: config.mfaRequiredRoles,
      stepUpWindow: config.stepUpWindow,
      ...passkeyOptions(config),
    },
    mail: config.mail && parts.mailer ? { mailer: parts.mailer, baseUrl: config.mail.publicUrl } : undefined,
  };
}

/** `mfa.passkeys` from --passkey-origin: that origin alone, and its host as the relying party ID. */
function passkeyOptions(config: ServerConfig): Pick<NonNullable<KeycardOptions['mfa']>, 'passkeys'> {
  if (config.passkeyOrigin === undefined) return {};
  const origin = new URL(config.passkeyOrigin);
  return { passkeys: { rpID: origin.hostname, rpName: 'keycard', origins: [origin.origin] } };
}
