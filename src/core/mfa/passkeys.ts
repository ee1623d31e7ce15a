/**
 * Passkeys (WebAuthn, docs/mfa.md) on @simplewebauthn/server: registration for a signed-in user, an
 * assertion as the second step of a sign-in or a step-up (`PasskeyVerifier`), and a passwordless sign-in
 * with a discoverable credential. Every ceremony answers a fresh challenge kept as a single-use
 * `webauthn_challenge` account token, bound to its purpose and its user, so a challenge issued for one
 * ceremony — or one user — cannot finish another. Only public keys are stored.
 */
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransport,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { Clock } from '../clock.js';
import { KeycardError, tooManyRequests } from '../errors.js';
import type { EventContext } from '../events.js';
import { generateId, generateToken, hashToken, isWellFormedToken } from '../random-tokens.js';
import type { AuthUser, FactorRecord, Store, UserRecord } from '../store.js';
import { factorName, type PublicFactor, toPublicFactor } from './factors.js';
import type { ResolvedMfaOptions } from './options.js';
import type { MfaService, PasskeyVerifier } from './service.js';
import { createMfaThrottle } from './throttle.js';

/** How long a ceremony's challenge stays usable. */
export const PASSKEY_CHALLENGE_LIFETIME_MS = 5 * 60_000;
/** What the browser is given to wait for the user (the challenge's own lifetime bounds it anyway). */
const CEREMONY_TIMEOUT_MS = 120_000;
/** Far above any real credential response; a larger one is refused before any parsing. */
const MAX_RESPONSE_FIELD = 16_384;

/** What a challenge was issued for: a new passkey, a known user's assertion, a passwordless sign-in. */
type Purpose = 'register' | 'assert' | 'passwordless';

/** A passkey's stored material (`FactorRecord.secret`): its public key, and what registration saw. */
interface StoredPasskey {
  v: 1;
  publicKey: string;
  transports: AuthenticatorTransport[];
  /** The authenticator verified its user (PIN, biometrics) at registration. */
  userVerified: boolean;
  backedUp: boolean;
}

export interface PasskeyService extends PasskeyVerifier {
  /** Options for `navigator.credentials.create` (startRegistration), for the signed-in `user`. */
  registrationOptions(user: AuthUser): Promise<PublicKeyCredentialCreationOptionsJSON>;
  /**
   * Verifies the browser's registration response and stores the passkey under `name` (default
   * 'Passkey'). A user's first second factor also gets recovery codes, returned once.
   */
  register(
    user: AuthUser,
    response: unknown,
    name: unknown,
    context?: EventContext,
  ): Promise<{ factor: PublicFactor; recoveryCodes: string[] | null }>;
  /**
   * Options for `navigator.credentials.get` (startAuthentication): for `userId`'s passkeys (a pending
   * sign-in, a step-up), or with `null` for a passwordless sign-in (any discoverable credential).
   */
  authenticationOptions(userId: string | null): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /**
   * A passwordless sign-in: the passkey is found by its credential id, must have verified its user, and
   * the assertion must answer a passwordless challenge. The user it belongs to, or `invalid_code`.
   */
  verifyPasswordless(
    response: unknown,
    context?: EventContext,
  ): Promise<{ user: UserRecord; factor: FactorRecord }>;
}

export interface PasskeyDependencies {
  store: Store;
  clock: Clock;
  options: NonNullable<ResolvedMfaOptions['passkeys']>;
  /** Stores a verified passkey (and a first factor's recovery codes). */
  mfa: Pick<MfaService, 'addPasskey'>;
}

/**
 * @simplewebauthn/server, loaded at the first ceremony: an app (or a Worker) that never configures
 * passkeys never loads it and its certificate-parsing dependencies.
 */
let library: Promise<typeof import('@simplewebauthn/server')> | null = null;
/**
 * The specifier is a variable so that bundlers leave it to run time: a bundle of keycard for the Web
 * (Workers, keycard/fetch) does not drag in the library's certificate parsers, which need Node; an app that
 * turns passkeys on runs on Node, where it resolves as any import does.
 */
const WEBAUTHN_LIBRARY = '@simplewebauthn/server';
const webauthn = (): Promise<typeof import('@simplewebauthn/server')> => {
  library ??= import(WEBAUTHN_LIBRARY) as Promise<typeof import('@simplewebauthn/server')>;
  return library;
};

const refused = (): KeycardError =>
  new KeycardError('invalid_code', 'that passkey answer is not valid, or was used already; try again');

function malformed(field: string): KeycardError {
  return new KeycardError('invalid_request', `${field} must be the browser's WebAuthn response`, {
    field,
  });
}

/** The few fields read before verification, checked for shape and size; the rest is the library's. */
function readResponse<T extends RegistrationResponseJSON | AuthenticationResponseJSON>(
  input: unknown,
  field: string,
): { response: T; challenge: string } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw malformed(field);
  const { id, rawId, type, response } = input as Record<string, unknown>;
  const inner = response as Record<string, unknown> | null;
  if (
    typeof id !== 'string' ||
    id.length === 0 ||
    id.length > 1024 ||
    rawId !== id ||
    type !== 'public-key' ||
    typeof inner !== 'object' ||
    inner === null ||
    typeof inner.clientDataJSON !== 'string' ||
    inner.clientDataJSON.length > MAX_RESPONSE_FIELD ||
    Object.values(inner).some((value) => typeof value === 'string' && value.length > MAX_RESPONSE_FIELD)
  ) {
    throw malformed(field);
  }
  // The challenge the browser signed, read to find its token; verification compares it again.
  let challenge: unknown;
  try {
    challenge = JSON.parse(Buffer.from(inner.clientDataJSON, 'base64url').toString('utf8')).challenge;
  } catch {
    throw malformed(field);
  }
  if (typeof challenge !== 'string' || !isWellFormedToken(challenge)) throw refused();
  return { response: input as T, challenge };
}

function readStored(factor: FactorRecord): StoredPasskey | null {
  try {
    const stored = JSON.parse(factor.secret) as StoredPasskey;
    return stored?.v === 1 && typeof stored.publicKey === 'string' ? stored : null;
  } catch {
    return null;
  }
}

const descriptor = (factor: FactorRecord): { id: string; transports?: AuthenticatorTransport[] } => {
  const stored = readStored(factor);
  return { id: factor.credentialId ?? '', ...(stored ? { transports: stored.transports } : {}) };
};

export function createPasskeyService(deps: PasskeyDependencies): PasskeyService {
  const { store, clock, options, mfa } = deps;
  // The same counters as codes': a user's wrong second factors are counted together.
  const throttle = createMfaThrottle(store, clock);

  const userPasskeys = async (userId: string): Promise<FactorRecord[]> =>
    (await store.listFactors(userId)).filter(
      (factor) => factor.kind === 'passkey' && factor.confirmedAt !== null && factor.credentialId !== null,
    );

  /** A fresh challenge (256 bits) kept for one ceremony of `purpose`, by `userId` (null: anyone). */
  const issueChallenge = async (
    purpose: Purpose,
    userId: string | null,
  ): Promise<Uint8Array<ArrayBuffer>> => {
    const challenge = generateToken();
    const now = clock.now();
    await store.putAccountToken({
      hash: hashToken(challenge),
      kind: 'webauthn_challenge',
      userId,
      email: null,
      role: null,
      stamp: purpose,
      createdAt: now,
      expiresAt: now + PASSKEY_CHALLENGE_LIFETIME_MS,
    });
    return Uint8Array.from(Buffer.from(challenge, 'base64url'));
  };

  /** Uses the challenge up — whatever follows — and checks it was issued for this purpose and user. */
  const takeChallenge = async (challenge: string, purpose: Purpose, userId: string | null): Promise<void> => {
    const record = await store.takeAccountToken(hashToken(challenge), 'webauthn_challenge', clock.now());
    if (!record || record.stamp !== purpose || record.userId !== userId) throw refused();
  };

  const checkThrottle = async (userId: string): Promise<void> => {
    const wait = await throttle.check(userId);
    if (wait !== null) throw tooManyRequests('too many failed second factors; try again later', wait);
  };

  /**
   * Verifies an assertion against `factor` and advances its signature counter once. An authenticator
   * that keeps a counter must show a larger one each time: an equal or smaller one is a cloned
   * authenticator (or a replay), and is refused.
   */
  const verifyAgainst = async (
    factor: FactorRecord,
    response: AuthenticationResponseJSON,
    challenge: string,
    requireUserVerification: boolean,
  ): Promise<FactorRecord> => {
    const stored = readStored(factor);
    if (!stored || factor.credentialId === null) throw refused();
    let info: Awaited<ReturnType<typeof verifyAuthenticationResponse>>['authenticationInfo'];
    try {
      const result = await (await webauthn()).verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: options.origins,
        expectedRPID: options.rpID,
        credential: {
          id: factor.credentialId,
          publicKey: Uint8Array.from(Buffer.from(stored.publicKey, 'base64url')),
          counter: factor.counter,
          transports: stored.transports,
        },
        requireUserVerification,
      });
      if (!result.verified) throw refused();
      info = result.authenticationInfo;
    } catch {
      throw refused();
    }
    if (requireUserVerification && !info.userVerified) throw refused();
    const { newCounter } = info;
    if ((factor.counter > 0 || newCounter > 0) && newCounter <= factor.counter) throw refused();
    const advanced = await store.advanceFactor(factor.id, factor.counter, {
      counter: newCounter,
      lastUsedAt: clock.now(),
    });
    if (!advanced) throw refused();
    return advanced;
  };

  return {
    async registrationOptions(user) {
      const existing = await userPasskeys(user.id);
      return (await webauthn()).generateRegistrationOptions({
        rpName: options.rpName,
        rpID: options.rpID,
        userName: user.username,
        // The user handle a discoverable credential returns: the user's id, checked at passwordless sign-in.
        userID: Uint8Array.from(Buffer.from(user.id, 'utf8')),
        challenge: await issueChallenge('register', user.id),
        timeout: CEREMONY_TIMEOUT_MS,
        attestationType: 'none',
        excludeCredentials: existing.map(descriptor),
        // Discoverable, so the same passkey also signs in without a password.
        authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
      });
    },

    async register(user, input, name, context = {}) {
      const label = factorName(name, 'Passkey');
      const { response, challenge } = readResponse<RegistrationResponseJSON>(input, 'response');
      await takeChallenge(challenge, 'register', user.id);
      let info: NonNullable<Awaited<ReturnType<typeof verifyRegistrationResponse>>['registrationInfo']>;
      try {
        const result = await (await webauthn()).verifyRegistrationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: options.origins,
          expectedRPID: options.rpID,
          // A security key without a PIN is still a second factor; whether it verified is recorded.
          requireUserVerification: false,
        });
        if (!result.verified || !result.registrationInfo) throw refused();
        info = result.registrationInfo;
      } catch {
        throw refused();
      }
      const { credential } = info;
      if (await store.getFactorByCredentialId(credential.id)) {
        throw new KeycardError('invalid_request', 'this passkey is registered already');
      }
      const stored: StoredPasskey = {
        v: 1,
        publicKey: Buffer.from(credential.publicKey).toString('base64url'),
        transports: (credential.transports ?? []) as AuthenticatorTransport[],
        userVerified: info.userVerified,
        backedUp: info.credentialBackedUp,
      };
      const now = clock.now();
      const record: FactorRecord = {
        id: generateId(),
        userId: user.id,
        kind: 'passkey',
        name: label,
        credentialId: credential.id,
        secret: JSON.stringify(stored),
        counter: credential.counter,
        confirmedAt: now,
        createdAt: now,
        lastUsedAt: null,
      };
      const { recoveryCodes } = await mfa.addPasskey(record, context);
      return { factor: toPublicFactor(record), recoveryCodes };
    },

    async authenticationOptions(userId) {
      const allow = userId === null ? [] : await userPasskeys(userId);
      return (await webauthn()).generateAuthenticationOptions({
        rpID: options.rpID,
        challenge: await issueChallenge(userId === null ? 'passwordless' : 'assert', userId),
        timeout: CEREMONY_TIMEOUT_MS,
        // Passwordless: the passkey is the only factor, so it must verify its user.
        userVerification: userId === null ? 'required' : 'preferred',
        ...(userId === null ? {} : { allowCredentials: allow.map(descriptor) }),
      });
    },

    async verifyAssertion(userId, input) {
      const { response, challenge } = readResponse<AuthenticationResponseJSON>(input, 'passkey');
      await checkThrottle(userId);
      try {
        await takeChallenge(challenge, 'assert', userId);
        const factor = await store.getFactorByCredentialId(response.id);
        if (!factor || factor.userId !== userId || factor.kind !== 'passkey' || factor.confirmedAt === null) {
          throw refused();
        }
        return await verifyAgainst(factor, response, challenge, false);
      } catch (failure) {
        await throttle.recordFailure(userId, null, null);
        throw failure;
      }
    },

    async verifyPasswordless(input) {
      const { response, challenge } = readResponse<AuthenticationResponseJSON>(input, 'response');
      await takeChallenge(challenge, 'passwordless', null);
      const factor = await store.getFactorByCredentialId(response.id);
      if (factor?.kind !== 'passkey' || factor.confirmedAt === null) throw refused();
      await checkThrottle(factor.userId);
      try {
        // The handle the credential was created with is the user's id: a mismatch is not this user's key.
        const handle = response.response.userHandle;
        if (handle !== undefined && Buffer.from(handle, 'base64url').toString('utf8') !== factor.userId) {
          throw refused();
        }
        const verified = await verifyAgainst(factor, response, challenge, true);
        const user = await store.getUserById(factor.userId);
        if (!user) throw refused();
        return { user, factor: verified };
      } catch (failure) {
        await throttle.recordFailure(factor.userId, null, null);
        throw failure;
      }
    },
  };
}
