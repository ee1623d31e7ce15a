/**
 * Second factors (docs/mfa.md): enrolment and removal, checking a code, the pending sign-in that waits
 * for one, and the step-up rule for sensitive actions. The routes (api/mfa-routes.ts) and
 * `keycard.completeSignIn` / `keycard.stepUp` use it; stored data goes through the store's `FactorStore`
 * and single-use `AccountTokenStore` capabilities.
 */
import { createHash, randomBytes } from 'node:crypto';
import { passwordStamp } from '../accounts/links.js';
import type { Clock } from '../clock.js';
import { KeycardError, tooManyRequests } from '../errors.js';
import type { EventContext, EventEmitter } from '../events.js';
import { type AuthMethod, authenticationOf } from '../logins/authentication.js';
import { generateId, generateToken, hashToken, isWellFormedToken } from '../random-tokens.js';
import type { AuthUser, FactorKind, FactorRecord, LoginRecord, Store, UserRecord } from '../store.js';
import { base32Encode } from './base32.js';
import { factorName, hasSecondFactor, type PublicFactor, toPublicFactor, usableFactors } from './factors.js';
import type { ResolvedMfaOptions } from './options.js';
import { createPasskeyService, type PasskeyService } from './passkeys.js';
import {
  generateRecoveryCodes,
  isRecoveryCode,
  matchRecoveryCode,
  nextRecoveryGeneration,
  remainingRecoveryCodes,
} from './recovery.js';
import { createSecretBox, type SecretBox } from './secret-box.js';
import { createMfaThrottle, MFA_PENDING_ATTEMPTS } from './throttle.js';
import { isTotpCode, matchTotp, otpauthURI } from './totp.js';

/** How long a sign-in waits for its second factor. */
export const MFA_PENDING_LIFETIME_MS = 5 * 60_000;
/** How long an unconfirmed TOTP enrolment is kept before another replaces it. */
const MAX_CODE_INPUT_LENGTH = 64;

export type MfaPurpose = 'login' | 'step_up';

/** A sign-in whose password was right, waiting for its second factor. */
export interface PendingSignIn {
  /** The token's hash: the store's key, and the key of its attempt counter. */
  hash: string;
  userId: string;
  remember: boolean;
  expiresAt: number;
}

/** The client a pending sign-in is bound to: its address and user agent, as the request gives them. */
export interface ClientIdentity {
  ip: string | null;
  userAgent: string | null;
}

/** What a passkey module provides (mfa/passkeys.ts); absent while passkeys are not configured. */
export interface PasskeyVerifier {
  /** Checks an assertion for `userId`'s passkeys; the factor it used, or throws `invalid_code`. */
  verifyAssertion(userId: string, response: unknown, context: EventContext): Promise<FactorRecord>;
}

export interface MfaService {
  readonly options: ResolvedMfaOptions;
  /** True when TOTP can be enrolled (`mfa.secrets` is set). */
  readonly totpAvailable: boolean;
  /** The user's factors, without their secrets. */
  listFactors(userId: string): Promise<PublicFactor[]>;
  /** The kinds that can finish the user's sign-in; empty when the user has no second factor. */
  signInFactors(userId: string): Promise<FactorKind[]>;
  /**
   * Starts a TOTP enrolment: a fresh secret, its `otpauth://` URI and QR code, kept pending (not asked
   * for at sign-in) until `confirmTotp`. An earlier unconfirmed enrolment is replaced.
   */
  beginTotp(
    user: AuthUser,
    name?: unknown,
  ): Promise<{ factorId: string; secret: string; uri: string; qrSvg: string }>;
  /**
   * Confirms the pending TOTP enrolment with a first valid code. The user's first second factor also
   * gets recovery codes, returned once.
   */
  confirmTotp(
    userId: string,
    code: unknown,
    context?: EventContext,
  ): Promise<{ factor: PublicFactor; recoveryCodes: string[] | null }>;
  /** Records a passkey the passkey module has verified; the first second factor also gets recovery codes. */
  addPasskey(record: FactorRecord, context?: EventContext): Promise<{ recoveryCodes: string[] | null }>;
  /** Removes one of the user's factors; the last second factor takes the recovery codes with it. */
  removeFactor(userId: string, factorId: string, context?: EventContext): Promise<boolean>;
  /** New recovery codes (shown once; the old ones stop working). Needs a second factor. */
  regenerateRecoveryCodes(userId: string, context?: EventContext): Promise<string[]>;
  /** An admin removes every factor of the user's. */
  resetFactors(userId: string, context?: EventContext): Promise<number>;
  /**
   * Checks a TOTP or recovery code of the user's: each is accepted once. Throws `too_many_requests`
   * when the user had too many wrong codes, `invalid_code` otherwise.
   */
  verifyCode(
    userId: string,
    code: unknown,
    purpose: MfaPurpose,
    context?: EventContext & { pending?: PendingSignIn },
  ): Promise<AuthMethod>;
  /** Passkeys, when configured (`mfa.passkeys`): registration, assertions, passwordless sign-in. */
  passkeys: PasskeyService | null;
  /**
   * Counts a passwordless passkey request (options or sign-in) from this client address: 30 per 15
   * minutes, then `too_many_requests` — each options request stores a challenge, so it must be bounded.
   */
  countPasswordless(ip: string | null): Promise<void>;
  /** True when the user's role needs a second factor (`mfa.requiredRoles`) and they have none. */
  enrollmentRequired(user: { id: string; role: string }): Promise<boolean>;
  /** A sign-in's pending token, bound to the client and to the password it was issued against. */
  issuePending(user: UserRecord, client: ClientIdentity, remember: boolean): Promise<string>;
  /** Reads (without using) a pending sign-in; `token_invalid` unless it is live and this client's. */
  readPending(token: unknown, client: ClientIdentity): Promise<PendingSignIn>;
  /** Uses the pending sign-in up: true for exactly one of simultaneous callers. */
  consumePending(pending: PendingSignIn): Promise<boolean>;
  /**
   * The step-up rule for a sensitive action by `user` on `login` (docs/mfa.md): throws
   * `mfa_enrollment_required` when the role needs a factor the user has not, and `step_up_required`
   * when the login's last proof is older than the window. `passwordShown`: the action's own body carried
   * the current password (a password change), which counts as a proof for a user without a factor.
   */
  requireRecent(
    user: AuthUser,
    login: LoginRecord | null,
    options?: { passwordShown?: boolean; enrolling?: boolean },
  ): Promise<void>;
}

export interface MfaDependencies {
  store: Store;
  clock: Clock;
  emit: EventEmitter;
  options: ResolvedMfaOptions;
}

const clientHash = (client: ClientIdentity): string =>
  createHash('sha256')
    .update(JSON.stringify(['keycard mfa client v1', client.ip ?? '', client.userAgent ?? '']))
    .digest('base64url')
    .slice(0, 22);

function readCode(code: unknown): string {
  if (typeof code !== 'string' || code.length === 0 || code.length > MAX_CODE_INPUT_LENGTH) {
    throw new KeycardError('invalid_request', 'code must be a TOTP code or a recovery code', {
      field: 'code',
    });
  }
  return code;
}

export function createMfaService(deps: MfaDependencies): MfaService {
  const { store, clock, emit, options } = deps;
  const box: SecretBox | null = options.secrets ? createSecretBox(options.secrets) : null;
  const throttle = createMfaThrottle(store, clock);

  const newRecoveryFactor = (userId: string): { record: FactorRecord; codes: string[] } => {
    const { codes, secret } = generateRecoveryCodes();
    const now = clock.now();
    const record: FactorRecord = {
      id: generateId(),
      userId,
      kind: 'recovery',
      name: 'Recovery codes',
      credentialId: null,
      secret,
      counter: 0,
      confirmedAt: now,
      createdAt: now,
      lastUsedAt: null,
    };
    return { record, codes };
  };

  /** Replaces the user's recovery codes with fresh ones. */
  const replaceRecoveryCodes = async (userId: string): Promise<string[]> => {
    const { record, codes } = newRecoveryFactor(userId);
    const sets = (await store.listFactors(userId)).filter((factor) => factor.kind === 'recovery');
    const [existing, ...extra] = sets;
    // A race of two first factors could have made a second set: it goes (only the oldest ever counts).
    for (const factor of extra) await store.deleteFactor(factor.id, { userId });
    if (!existing) {
      await store.createFactor(record);
      return codes;
    }
    // Replaced in place by compare-and-set, with the next generation in the counter's high bits: of two
    // simultaneous regenerations one wins, and no old code outlives either.
    const replaced = await store.advanceFactor(existing.id, existing.counter, {
      counter: nextRecoveryGeneration(existing.counter),
      secret: record.secret,
      lastUsedAt: null,
      confirmedAt: clock.now(),
    });
    if (!replaced) {
      throw new KeycardError(
        'invalid_request',
        'your recovery codes changed meanwhile; ask for new ones again',
      );
    }
    return codes;
  };

  /** After a second factor was added: recovery codes for a user who had none. */
  const recoveryCodesFor = async (
    userId: string,
    factors: readonly FactorRecord[],
  ): Promise<string[] | null> => {
    if (factors.some((factor) => factor.kind === 'recovery')) return null;
    const codes = await replaceRecoveryCodes(userId);
    return codes;
  };

  const tryTotp = async (factor: FactorRecord, code: string): Promise<boolean> => {
    const secret = box?.open(factor.secret, factor.userId);
    if (!secret) return false;
    const step = matchTotp(secret, code, clock.now(), factor.counter);
    if (step === null) return false;
    // The step becomes the last accepted one, once: a replay — even simultaneous — finds it taken.
    const next = {
      counter: step,
      lastUsedAt: clock.now(),
      ...(box?.isCurrent(factor.secret) ? {} : { secret: box?.seal(secret, factor.userId) }),
    };
    return (await store.advanceFactor(factor.id, factor.counter, next)) !== null;
  };

  const tryRecovery = async (factor: FactorRecord, code: string): Promise<number | null> => {
    const index = matchRecoveryCode(factor.secret, factor.counter, code);
    if (index === null) return null;
    const used = factor.counter | (1 << index);
    const advanced = await store.advanceFactor(factor.id, factor.counter, {
      counter: used,
      lastUsedAt: clock.now(),
    });
    return advanced ? remainingRecoveryCodes(advanced.secret, advanced.counter) : null;
  };

  const service: MfaService = {
    options,
    totpAvailable: box !== null,
    passkeys: null,

    async listFactors(userId) {
      return (await store.listFactors(userId)).map(toPublicFactor);
    },

    async signInFactors(userId) {
      const factors = await store.listFactors(userId);
      if (!hasSecondFactor(factors)) return [];
      const kinds = new Set(usableFactors(factors).map((factor) => factor.kind));
      return (['totp', 'passkey', 'recovery'] as const).filter((kind) => kinds.has(kind));
    },

    async beginTotp(user, name) {
      if (!box)
        throw new KeycardError('invalid_configuration', 'TOTP needs mfa.secrets to encrypt its secrets');
      const label = factorName(name, 'Authenticator app');
      const secret = randomBytes(20);
      const now = clock.now();
      for (const factor of await store.listFactors(user.id)) {
        if (factor.kind === 'totp' && factor.confirmedAt === null)
          await store.deleteFactor(factor.id, { userId: user.id });
      }
      const record: FactorRecord = {
        id: generateId(),
        userId: user.id,
        kind: 'totp',
        name: label,
        credentialId: null,
        secret: box.seal(secret, user.id),
        // No step accepted yet: every current code is later than -1.
        counter: -1,
        confirmedAt: null,
        createdAt: now,
        lastUsedAt: null,
      };
      await store.createFactor(record);
      const encoded = base32Encode(secret);
      const uri = otpauthURI(encoded, options.issuer, user.username);
      // Loaded here, at the first enrolment: nothing else needs it.
      const { default: QRCode } = await import('qrcode');
      const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      return { factorId: record.id, secret: encoded, uri, qrSvg };
    },

    async confirmTotp(userId, code, context = {}) {
      const typed = readCode(code);
      const factors = await store.listFactors(userId);
      const pending = factors.find((factor) => factor.kind === 'totp' && factor.confirmedAt === null);
      if (!pending)
        throw new KeycardError('invalid_request', 'there is no TOTP enrolment to confirm; start one first');
      const attempt = await throttle.reserve(userId, null);
      if (attempt.wait !== null) throw tooManyRequests('too many wrong codes; try again later', attempt.wait);
      const secret = box?.open(pending.secret, userId) ?? null;
      const step =
        secret && isTotpCode(typed) ? matchTotp(secret, typed, clock.now(), pending.counter) : null;
      const now = clock.now();
      const confirmed =
        step === null
          ? null
          : await store.advanceFactor(pending.id, pending.counter, {
              counter: step,
              confirmedAt: now,
              lastUsedAt: now,
            });
      if (!confirmed) {
        throw new KeycardError(
          'invalid_code',
          'that code is not right; check the time on your device and try again',
        );
      }
      await attempt.release();
      emit({ type: 'mfa_enrolled', userId, factorId: confirmed.id, kind: 'totp', ...context });
      const recoveryCodes = await recoveryCodesFor(userId, factors);
      if (recoveryCodes) emit({ type: 'recovery_codes_generated', userId, ...context });
      return { factor: toPublicFactor(confirmed), recoveryCodes };
    },

    async addPasskey(record, context = {}) {
      const factors = await store.listFactors(record.userId);
      await store.createFactor(record);
      emit({ type: 'mfa_enrolled', userId: record.userId, factorId: record.id, kind: 'passkey', ...context });
      const recoveryCodes = await recoveryCodesFor(record.userId, factors);
      if (recoveryCodes) emit({ type: 'recovery_codes_generated', userId: record.userId, ...context });
      return { recoveryCodes };
    },

    async removeFactor(userId, factorId, context = {}) {
      const factor = await store.getFactor(factorId);
      if (!factor || factor.userId !== userId) return false;
      if (!(await store.deleteFactor(factorId, { userId }))) return false;
      emit({ type: 'mfa_removed', userId, factorId, kind: factor.kind, by: 'user', ...context });
      // Recovery codes back a second factor up; without one they would be a factor of their own.
      if (factor.kind !== 'recovery' && !hasSecondFactor(await store.listFactors(userId))) {
        await store.deleteUserFactors(userId, { kind: 'recovery' });
      }
      return true;
    },

    async regenerateRecoveryCodes(userId, context = {}) {
      if (!hasSecondFactor(await store.listFactors(userId))) {
        throw new KeycardError('invalid_request', 'recovery codes need a second factor first');
      }
      const codes = await replaceRecoveryCodes(userId);
      emit({ type: 'recovery_codes_generated', userId, ...context });
      return codes;
    },

    async resetFactors(userId, context = {}) {
      const count = await store.deleteUserFactors(userId);
      if (count > 0)
        emit({ type: 'mfa_removed', userId, factorId: null, kind: null, by: 'admin', ...context });
      return count;
    },

    async verifyCode(userId, code, purpose, context = {}) {
      const typed = readCode(code);
      const { pending, ...event } = context;
      // Counted before it is checked: simultaneous guesses cannot all slip under the limits.
      const attempt = await throttle.reserve(userId, pending ?? null);
      if (attempt.wait !== null) {
        emit({
          type: 'throttled',
          action: 'mfa',
          scope: 'account',
          retryAfterSeconds: attempt.wait,
          ...event,
        });
        throw tooManyRequests('too many wrong codes; try again later', attempt.wait);
      }
      // Past its attempts, a pending sign-in checks no more codes. It is not taken here: a right answer
      // among its first attempts, still being checked, must be able to finish it.
      if (pending && attempt.pendingAttempts > MFA_PENDING_ATTEMPTS) {
        throw new KeycardError('token_invalid', 'too many wrong codes for this sign-in; sign in again');
      }
      const factors = usableFactors(await store.listFactors(userId));
      let method: AuthMethod | null = null;
      if (isTotpCode(typed)) {
        for (const factor of factors.filter((candidate) => candidate.kind === 'totp')) {
          if (await tryTotp(factor, typed)) {
            emit({ type: 'mfa_succeeded', userId, kind: 'totp', purpose, ...event });
            method = 'otp';
            break;
          }
        }
      } else if (isRecoveryCode(typed)) {
        // One set of codes: should a race have made two, only the oldest counts (and is replaced).
        const recovery = factors.find((candidate) => candidate.kind === 'recovery');
        const remaining = recovery ? await tryRecovery(recovery, typed) : null;
        if (remaining !== null) {
          emit({ type: 'recovery_code_used', userId, remaining, ...event });
          emit({ type: 'mfa_succeeded', userId, kind: 'recovery', purpose, ...event });
          method = 'otp';
        }
      }
      if (method !== null) {
        await attempt.release();
        return method;
      }
      emit({ type: 'mfa_failed', userId, purpose, ...event });
      if (pending && attempt.pendingAttempts >= MFA_PENDING_ATTEMPTS) {
        throw new KeycardError('token_invalid', 'too many wrong codes for this sign-in; sign in again');
      }
      throw new KeycardError('invalid_code', 'that code is not right, or was used already');
    },

    async enrollmentRequired(user) {
      if (!options.requiredRoles.has(user.role)) return false;
      return !hasSecondFactor(await store.listFactors(user.id));
    },

    async countPasswordless(ip) {
      const wait = await throttle.countPasswordless(ip);
      if (wait !== null) {
        emit({ type: 'throttled', action: 'mfa', scope: 'address', retryAfterSeconds: wait, ip });
        throw tooManyRequests('too many passkey sign-ins from this address; try again later', wait);
      }
    },

    async issuePending(user, client, remember) {
      const token = generateToken();
      const now = clock.now();
      await store.putAccountToken({
        hash: hashToken(token),
        kind: 'mfa_pending',
        userId: user.id,
        email: null,
        role: null,
        // Bound to the client that got it, to the password it was issued against, and its remember choice.
        stamp: [clientHash(client), passwordStamp(user.passwordHash), remember ? '1' : '0'].join('.'),
        createdAt: now,
        expiresAt: now + MFA_PENDING_LIFETIME_MS,
      });
      return token;
    },

    async readPending(token, client) {
      const invalid = new KeycardError(
        'token_invalid',
        'this sign-in has expired or is not yours; sign in again',
      );
      if (typeof token !== 'string' || !isWellFormedToken(token)) throw invalid;
      const hash = hashToken(token);
      const record = await store.getAccountToken(hash, 'mfa_pending', clock.now());
      if (!record?.userId || !record.stamp) throw invalid;
      const [boundClient, boundPassword, remember] = record.stamp.split('.');
      if (boundClient !== clientHash(client)) throw invalid;
      const user = await store.getUserById(record.userId);
      if (!user || user.blocked || passwordStamp(user.passwordHash) !== boundPassword) {
        await store.takeAccountToken(hash, 'mfa_pending', clock.now());
        throw invalid;
      }
      return { hash, userId: record.userId, remember: remember === '1', expiresAt: record.expiresAt };
    },

    async consumePending(pending) {
      return (await store.takeAccountToken(pending.hash, 'mfa_pending', clock.now())) !== null;
    },

    async requireRecent(user, login, { passwordShown = false, enrolling = false } = {}) {
      const factors = await store.listFactors(user.id);
      const hasFactor = hasSecondFactor(factors);
      // Enrolling a factor is the one sensitive action left to a user whose role needs one.
      if (!hasFactor && !enrolling && options.requiredRoles.has(user.role)) {
        throw new KeycardError(
          'mfa_enrollment_required',
          `the ${user.role} role needs a second factor: add one under /account first`,
        );
      }
      if (!hasFactor && passwordShown) return;
      const authentication = authenticationOf(login);
      const since = clock.now() - options.stepUpWindowMs;
      const proof = hasFactor ? authentication?.mfaAt : authentication?.verifiedAt;
      if (typeof proof !== 'number' || proof < since) {
        throw new KeycardError(
          'step_up_required',
          hasFactor
            ? 'confirm it is you with your second factor first (POST /auth/mfa/step-up)'
            : 'confirm it is you with your password first (POST /auth/mfa/step-up)',
        );
      }
    },
  };
  // After the service exists: a verified passkey is stored through its addPasskey.
  service.passkeys = options.passkeys
    ? createPasskeyService({ store, clock, options: options.passkeys, mfa: service })
    : null;
  return service;
}
