/**
 * Account links: an email address on a user, its verification, and password reset by mail. Tokens are
 * single-use links (links.ts) kept hashed in the store; mail leaves through the app's `Mailer`.
 *
 * The forgotten-password request answers the same whatever the address: its body is checked and the
 * request counted (limits.ts) before the answer, and everything that depends on the address — the user
 * lookup, the token, the mail — happens after it, in the background. So neither the status, the body nor
 * the time to answer says whether an account has that address.
 */
import type { Clock } from '../clock.js';
import { KeycardError, tooManyRequests } from '../errors.js';
import type { EventContext, EventEmitter } from '../events.js';
import { checkMessage, type Mailer } from '../mail/message.js';
import { type MailKind, type MailTemplate, renderMail } from '../mail/templates.js';
import type { Store, UserRecord } from '../store.js';
import { MAX_PASSWORD_INPUT_LENGTH } from '../users/credentials.js';
import type { UserService } from '../users/service.js';
import { normalizeEmail } from './email.js';
import type { LinkThrottle } from './limits.js';
import { issueLink, linkHash, linkURL, passwordStamp } from './links.js';
import { createSignup, type Invitation, type SignupInput, type SignupMode } from './signup.js';

export interface AccountMailOptions {
  /** Delivers the mail: `smtpMailer` from `keycard/mail`, or any `{ send(message) }`. */
  mailer: Mailer;
  /**
   * Where the links point: the public URL of the pages (`https://auth.example.com`). https, except for
   * localhost, which may be http.
   */
  baseUrl: string;
  /** The product's name in subjects and greetings; default `keycard`. */
  appName?: string;
  /** Replace any kind of mail with your own template. */
  templates?: Partial<Record<MailKind, MailTemplate>>;
}

/** Link lifetimes (ms). */
export const RESET_LINK_LIFETIME_MS = 30 * 60_000;
export const VERIFY_LINK_LIFETIME_MS = 24 * 60 * 60_000;

/** Paths of the pages the links open (the server's; an app serving its own pages uses the same). */
export const LINK_PATHS = Object.freeze({ reset: '/reset-password', verify: '/verify-email' });

export interface AccountService {
  /** True when a mailer is configured, so links can be sent. */
  readonly canMail: boolean;
  /**
   * Sets (or with null removes) a user's address. `verified` marks it as shown to be theirs (an admin
   * or the CLI vouching for it); otherwise it is unverified until a verification link is used. Throws
   * `email_taken` (409) when another user has it.
   */
  setEmail(
    userId: string,
    email: string | null,
    options?: { verified?: boolean } & EventContext,
  ): Promise<UserRecord>;
  /** Mails the user a verification link for their current address (valid 24 hours). */
  sendVerification(userId: string, context?: EventContext): Promise<void>;
  /** Uses a verification link's token: the address is verified if it is still the user's. */
  verifyEmail(token: unknown, context?: EventContext): Promise<UserRecord>;
  /**
   * A forgotten password: counts the request and returns; a reset link (valid 30 minutes) is mailed in
   * the background if an unblocked user has this address. Throws only for a malformed address (400),
   * too many requests (429) or no mailer (503) — never for an unknown one.
   */
  requestPasswordReset(email: unknown, context?: EventContext): Promise<void>;
  /**
   * An admin's reset for a user: mails a reset link (valid 30 minutes) to the user's address now, and
   * says so — unlike the forgotten-password form, the admin may know whether the account has an address.
   * `invalid_request` when it has none, `account_blocked` when blocked, `mail_unavailable` without mail.
   */
  sendPasswordReset(userId: string, context?: EventContext): Promise<{ email: string }>;
  /**
   * Uses a reset link's token: sets the new password (the policy applies) and ends every login of the
   * user. A new password the policy refuses leaves the token usable.
   */
  resetPassword(token: unknown, newPassword: unknown, context?: EventContext): Promise<UserRecord>;
  /** Who may sign up (the `signup` option). */
  readonly signupMode: SignupMode;
  /**
   * Creates an account for the person asking (`signup` open, or invite with `invitation`): `forbidden`
   * when closed, or by invitation without one; the name, password and address checked as `users.create`
   * does. Does not sign in: the caller does, with the returned user.
   */
  signUp(input: SignupInput, context?: EventContext): Promise<UserRecord>;
  /** An invitation (admins): a single-use sign-up link valid 7 days, mailed when `email` is given and a mailer is configured. */
  invite(input: { email?: unknown; role?: unknown }, context?: EventContext): Promise<Invitation>;
  /** Resolves when the background work started so far (reset mails) has finished. */
  settled(): Promise<void>;
}

export interface AccountServiceDependencies {
  store: Store;
  users: UserService;
  clock: Clock;
  emit: EventEmitter;
  throttle: LinkThrottle | null;
  mail: AccountMailOptions | null;
  /** Told about a failure of background work (a reset mail that could not be sent). */
  onError: (error: unknown) => void;
  signup: SignupMode;
  roles: readonly string[];
}

const invalidLink = () =>
  new KeycardError('token_invalid', 'this link is invalid, has expired, or was already used');

export function checkBaseUrl(value: unknown): string {
  let url: URL | null = null;
  try {
    url = typeof value === 'string' ? new URL(value) : null;
  } catch {
    url = null;
  }
  const local = url !== null && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (
    url === null ||
    !(url.protocol === 'https:' || (url.protocol === 'http:' && local)) ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new KeycardError(
      'invalid_configuration',
      'mail.baseUrl must be the https URL the pages are served at, such as https://auth.example.com (http only for localhost; no query or fragment)',
    );
  }
  return url.href.replace(/\/$/, '');
}

export function createAccountService(deps: AccountServiceDependencies): AccountService {
  const { store, users, clock, emit, throttle, mail } = deps;
  const baseUrl = mail ? checkBaseUrl(mail.baseUrl) : '';
  const appName = mail?.appName ?? 'keycard';
  const pending = new Set<Promise<void>>();

  const mailer = (): AccountMailOptions => {
    if (!mail)
      throw new KeycardError('mail_unavailable', 'this server sends no mail (no mailer is configured)');
    return mail;
  };

  const send = async (
    to: string,
    kind: MailKind,
    context: { username: string; link: string; expiresInMinutes: number },
  ) => {
    const options = mailer();
    const content = renderMail(kind, { appName, ...context }, options.templates);
    await options.mailer.send(checkMessage({ to, ...content }));
  };

  /** A token from a link, before any store read: well-formed, and this address not over its budget. */
  const presented = async (token: unknown, ip: string | null): Promise<string> => {
    const wait = throttle ? await throttle.checkToken(ip) : null;
    if (wait !== null) throw tooManyRequests('too many unusable links from this address', wait);
    const hash = linkHash(token);
    if (hash === null) {
      await throttle?.recordBadToken(ip);
      throw invalidLink();
    }
    return hash;
  };

  const signup = createSignup({
    store,
    users,
    clock,
    emit,
    throttle,
    mode: deps.signup,
    roles: deps.roles,
    baseUrl: mail ? baseUrl : null,
    mailInvitation: mail
      ? (to, link, expiresInMinutes) => send(to, 'invitation', { username: '', link, expiresInMinutes })
      : null,
  });

  const background = (work: () => Promise<void>): void => {
    const task = work()
      .catch(deps.onError)
      .finally(() => pending.delete(task));
    pending.add(task);
  };

  const service: AccountService = {
    canMail: mail !== null,

    async setEmail(userId, email, options = {}) {
      const { verified = false, ...context } = options;
      const address = email === null ? null : normalizeEmail(email);
      const user = await store.updateUser(userId, {
        email: address,
        emailVerifiedAt: address !== null && verified ? clock.now() : null,
        updatedAt: clock.now(),
      });
      if (!user) throw new KeycardError('not_found', 'no such user');
      emit({ type: 'email_changed', userId, verified: user.emailVerifiedAt !== null, ...context });
      return user;
    },

    async sendVerification(userId, context = {}) {
      mailer();
      const user = await users.get(userId);
      if (!user) throw new KeycardError('not_found', 'no such user');
      if (!user.email)
        throw new KeycardError('invalid_request', 'this account has no email address', { field: 'email' });
      if (user.emailVerifiedAt !== null && user.emailVerifiedAt !== undefined) return;
      const wait = throttle ? await throttle.countVerify(user.id) : null;
      if (wait !== null) throw tooManyRequests('too many verification mails for this account', wait);
      const { token } = await issueLink(
        store,
        clock,
        { kind: 'verify_email', userId: user.id, email: user.email, role: null, stamp: null },
        VERIFY_LINK_LIFETIME_MS,
      );
      await send(user.email, 'verify_email', {
        username: user.username,
        link: linkURL(baseUrl, LINK_PATHS.verify, token),
        expiresInMinutes: VERIFY_LINK_LIFETIME_MS / 60_000,
      });
      emit({ type: 'email_verification_sent', userId: user.id, ...context });
    },

    async verifyEmail(token, context = {}) {
      const ip = context.ip ?? null;
      const hash = await presented(token, ip);
      const record = await store.takeAccountToken(hash, 'verify_email', clock.now());
      const user = record?.userId ? await users.get(record.userId) : null;
      // The address must still be the one the link was sent to: a link for an old address verifies nothing.
      if (!record || !user || user.email !== record.email) {
        await throttle?.recordBadToken(ip);
        throw invalidLink();
      }
      const updated = await store.updateUser(user.id, {
        emailVerifiedAt: clock.now(),
        updatedAt: clock.now(),
      });
      if (!updated) throw invalidLink();
      emit({ type: 'email_verified', userId: user.id, ...context });
      return updated;
    },

    async requestPasswordReset(email, context = {}) {
      mailer();
      const address = normalizeEmail(email);
      const wait = throttle ? await throttle.countForgot(context.ip ?? null, address) : null;
      if (wait !== null) {
        emit({
          type: 'throttled',
          action: 'password_forgot',
          scope: 'address',
          retryAfterSeconds: wait,
          ...context,
        });
        throw tooManyRequests('too many password reset requests', wait);
      }
      // Everything that depends on whether the address is known happens after the answer.
      background(async () => {
        const user = await store.getUserByEmail(address);
        if (!user || user.blocked) return;
        const { token } = await issueLink(
          store,
          clock,
          {
            kind: 'password_reset',
            userId: user.id,
            email: address,
            role: null,
            stamp: passwordStamp(user.passwordHash),
          },
          RESET_LINK_LIFETIME_MS,
        );
        await send(address, 'password_reset', {
          username: user.username,
          link: linkURL(baseUrl, LINK_PATHS.reset, token),
          expiresInMinutes: RESET_LINK_LIFETIME_MS / 60_000,
        });
        emit({ type: 'password_reset_requested', userId: user.id, ...context });
      });
    },

    async sendPasswordReset(userId, context = {}) {
      mailer();
      const user = await users.get(userId);
      if (!user) throw new KeycardError('not_found', 'no such user');
      if (!user.email) {
        throw new KeycardError('invalid_request', 'this account has no email address to send a link to', {
          field: 'email',
        });
      }
      if (user.blocked)
        throw new KeycardError('account_blocked', 'this account is blocked: unblock it first');
      const { token } = await issueLink(
        store,
        clock,
        {
          kind: 'password_reset',
          userId: user.id,
          email: user.email,
          role: null,
          stamp: passwordStamp(user.passwordHash),
        },
        RESET_LINK_LIFETIME_MS,
      );
      await send(user.email, 'password_reset', {
        username: user.username,
        link: linkURL(baseUrl, LINK_PATHS.reset, token),
        expiresInMinutes: RESET_LINK_LIFETIME_MS / 60_000,
      });
      emit({ type: 'password_reset_requested', userId: user.id, by: 'admin', ...context });
      return { email: user.email };
    },

    async resetPassword(token, newPassword, context = {}) {
      if (
        typeof newPassword !== 'string' ||
        newPassword === '' ||
        newPassword.length > MAX_PASSWORD_INPUT_LENGTH
      ) {
        throw new KeycardError('invalid_request', 'new_password is required', { field: 'new_password' });
      }
      const ip = context.ip ?? null;
      const hash = await presented(token, ip);
      // Read first, used last: a new password the policy refuses must not cost the link.
      const record = await store.getAccountToken(hash, 'password_reset', clock.now());
      const user = record?.userId ? await users.get(record.userId) : null;
      const valid =
        record !== null &&
        user !== null &&
        !user.blocked &&
        record.stamp === passwordStamp(user.passwordHash);
      if (!valid) {
        // A link that can never work again (its password changed, its user blocked or gone) is spent.
        if (record) await store.takeAccountToken(hash, 'password_reset', clock.now());
        await throttle?.recordBadToken(ip);
        throw invalidLink();
      }
      users.checkPassword(newPassword, user.username, 'new_password');
      if (!(await store.takeAccountToken(hash, 'password_reset', clock.now()))) throw invalidLink();
      const updated = await users.setPassword(user.id, newPassword);
      // Following the link showed the address is the user's.
      const verified =
        updated.email === record.email && !updated.emailVerifiedAt
          ? await store.updateUser(user.id, { emailVerifiedAt: clock.now(), updatedAt: clock.now() })
          : null;
      emit({ type: 'password_reset', userId: user.id, ...context });
      return verified ?? updated;
    },

    signupMode: deps.signup,
    signUp: (input, context) => signup.signUp(input, context),
    invite: (input, context) => signup.invite(input, context),

    async settled() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
  return service;
}
