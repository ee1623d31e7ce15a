/** The `mfa` option of createKeycard (docs/mfa.md), checked and with its defaults. */
import { type Duration, parseDuration } from '../duration.js';
import { configurationError } from '../errors.js';

export interface MfaOptions {
  /**
   * Secrets (each ≥ 32 bytes, newest first) from which the key that encrypts TOTP secrets at rest is
   * derived; `keycard serve` passes its key file's. Keep them stable: a TOTP secret sealed with a secret
   * no longer listed cannot be opened, and its user must enroll again. Without them TOTP cannot be
   * enrolled (passkeys and recovery codes need none).
   */
  secrets?: Buffer[];
  /** The name authenticator apps show beside the account; default `keycard`. */
  issuer?: string;
  /** How recent a proof a sensitive action needs (docs/mfa.md, "Step-up"); default `'10m'`. */
  stepUpWindow?: Duration;
  /** Roles whose users must have a second factor before any sensitive action (e.g. `['admin']`). */
  requiredRoles?: string[];
  /**
   * Passkeys (WebAuthn): the relying party's ID (the site's registrable domain, `example.com`) and the
   * origins the pages are served from (`https://auth.example.com`). Without them passkeys are off.
   */
  passkeys?: { rpID: string; rpName?: string; origins: string[] };
}

export interface ResolvedMfaOptions {
  secrets: Buffer[] | null;
  issuer: string;
  stepUpWindowMs: number;
  requiredRoles: ReadonlySet<string>;
  passkeys: { rpID: string; rpName: string; origins: string[] } | null;
}

export function resolveMfaOptions(
  input: MfaOptions | undefined,
  knownRoles: readonly string[],
): ResolvedMfaOptions {
  const options = input ?? {};
  if (typeof options !== 'object') throw configurationError('mfa must be an object');
  const { secrets } = options;
  if (
    secrets !== undefined &&
    (!Array.isArray(secrets) ||
      secrets.length === 0 ||
      secrets.some((s) => !Buffer.isBuffer(s) || s.length < 32))
  ) {
    throw configurationError('mfa.secrets must be a non-empty list of secrets of at least 32 bytes');
  }
  const issuer = options.issuer ?? 'keycard';
  if (typeof issuer !== 'string' || issuer.length === 0 || issuer.length > 64 || issuer.includes(':')) {
    throw configurationError('mfa.issuer must be 1 to 64 characters without a colon');
  }
  const roles = options.requiredRoles ?? [];
  if (!Array.isArray(roles) || roles.some((role) => typeof role !== 'string' || role.length === 0)) {
    throw configurationError('mfa.requiredRoles must be a list of role names');
  }
  const unknown = roles.filter((role) => !knownRoles.includes(role));
  if (unknown.length > 0) {
    throw configurationError(
      `mfa.requiredRoles names ${unknown.join(', ')}, which is not a role (roles: ${knownRoles.join(', ')})`,
    );
  }
  return {
    secrets: secrets ?? null,
    issuer,
    stepUpWindowMs: parseDuration(options.stepUpWindow ?? '10m', 'mfa.stepUpWindow') * 1000,
    requiredRoles: new Set(roles),
    passkeys: options.passkeys ? resolvePasskeys(options.passkeys) : null,
  };
}

function resolvePasskeys(input: NonNullable<MfaOptions['passkeys']>): ResolvedMfaOptions['passkeys'] {
  const { rpID, origins } = input;
  if (typeof rpID !== 'string' || !/^[a-z0-9.-]+$/i.test(rpID)) {
    throw configurationError('mfa.passkeys.rpID must be a domain name, such as example.com');
  }
  if (!Array.isArray(origins) || origins.length === 0) {
    throw configurationError('mfa.passkeys.origins must list the origins the pages are served from');
  }
  for (const origin of origins) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw configurationError(`mfa.passkeys.origins: '${origin}' is not a URL`);
    }
    if (url.origin !== origin) throw configurationError(`mfa.passkeys.origins: '${origin}' is not an origin`);
    const host = url.hostname;
    if (host !== rpID && !host.endsWith(`.${rpID}`)) {
      throw configurationError(`mfa.passkeys.origins: '${origin}' is not on ${rpID}`);
    }
  }
  return { rpID, rpName: input.rpName ?? 'keycard', origins: [...origins] };
}
