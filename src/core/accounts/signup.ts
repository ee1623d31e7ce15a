/**
 * Sign-up, off by default: `signup: 'closed' | 'invite' | 'open'`. An invitation is a single-use link an
 * admin creates (7 days; its role, and its address when it was mailed); open sign-up is throttled per
 * client address. Either way the new user passes what `users.create` checks — a canonical name that no
 * existing name looks like, the password policy, a free email address — and everything that can be
 * checked is checked before an invitation is used, so a refused name or password costs nothing.
 */
import type { Clock } from '../clock.js';
import { emailTaken, KeycardError, tooManyRequests, usernameTaken } from '../errors.js';
import type { EventContext, EventEmitter } from '../events.js';
import type { Store, UserRecord } from '../store.js';
import { MAX_PASSWORD_INPUT_LENGTH } from '../users/credentials.js';
import { checkRole, DEFAULT_ROLE } from '../users/roles.js';
import type { UserService } from '../users/service.js';
import { normalizeUsername } from '../users/username.js';
import { normalizeEmail } from './email.js';
import type { LinkThrottle } from './limits.js';
import { issueLink, linkHash } from './links.js';

export type SignupMode = 'closed' | 'invite' | 'open';
export const SIGNUP_MODES: readonly SignupMode[] = ['closed', 'invite', 'open'];

export const INVITATION_LIFETIME_MS = 7 * 24 * 60 * 60_000;
export const SIGNUP_PATH = '/signup';

/** What an invitation's stamp says when its link was mailed to its address (so that address is shown to be the invitee's). */
const MAILED = 'mailed';

export interface SignupInput {
  username: unknown;
  password: unknown;
  email?: unknown;
  invitation?: unknown;
}

export interface Invitation {
  /** The link's token: shown once, to the admin who created it. */
  token: string;
  /** `<public URL>/signup?invitation=…`, or the path alone when no public URL is configured. */
  link: string;
  email: string | null;
  role: string;
  expiresAt: number;
  /** True when the link was mailed to `email`. */
  mailed: boolean;
}

export interface SignupDependencies {
  store: Store;
  users: UserService;
  clock: Clock;
  emit: EventEmitter;
  throttle: LinkThrottle | null;
  mode: SignupMode;
  roles: readonly string[];
  /** Mails the invitation; null when no mailer is configured. */
  mailInvitation: ((to: string, link: string, expiresInMinutes: number) => Promise<void>) | null;
  baseUrl: string | null;
}

const invalidInvitation = () =>
  new KeycardError('token_invalid', 'this invitation is invalid, has expired, or was already used');

export function createSignup(deps: SignupDependencies) {
  const { store, users, clock, emit, throttle, mode } = deps;

  /** The invitation's link from a token. */
  const link = (token: string): string => {
    const path = `${SIGNUP_PATH}?invitation=${encodeURIComponent(token)}`;
    return deps.baseUrl ? new URL(`${deps.baseUrl.replace(/\/$/, '')}${path}`).href : path;
  };

  return {
    mode,

    async invite(
      input: { email?: unknown; role?: unknown },
      context: EventContext = {},
    ): Promise<Invitation> {
      const email = input.email === undefined || input.email === null ? null : normalizeEmail(input.email);
      const role = checkRole(input.role ?? DEFAULT_ROLE, deps.roles);
      const mailed = email !== null && deps.mailInvitation !== null;
      const { token, record } = await issueLink(
        store,
        clock,
        { kind: 'invitation', userId: null, email, role, stamp: mailed ? MAILED : null },
        INVITATION_LIFETIME_MS,
      );
      const href = link(token);
      if (mailed && deps.mailInvitation)
        await deps.mailInvitation(email, href, INVITATION_LIFETIME_MS / 60_000);
      emit({ type: 'invitation_created', role, mailed, ...context });
      return { token, link: href, email, role, expiresAt: record.expiresAt, mailed };
    },

    async signUp(input: SignupInput, context: EventContext = {}): Promise<UserRecord> {
      if (mode === 'closed') {
        throw new KeycardError('forbidden', 'sign-up is closed here: ask an administrator for an account');
      }
      const ip = context.ip ?? null;
      // Everything that needs no store first: a malformed request costs nothing and uses nothing up.
      const name = normalizeUsername(input.username);
      if (!name.ok) throw new KeycardError('invalid_request', name.reason, { field: 'username' });
      if (typeof input.password !== 'string' || input.password.length > MAX_PASSWORD_INPUT_LENGTH) {
        throw new KeycardError('invalid_request', 'password is required', { field: 'password' });
      }
      users.checkPassword(input.password, name.username);
      const given =
        input.email === undefined || input.email === null || input.email === ''
          ? null
          : normalizeEmail(input.email);

      if (mode === 'open') {
        const wait = throttle ? await throttle.countSignup(ip) : null;
        if (wait !== null) {
          emit({
            type: 'throttled',
            action: 'signup',
            scope: 'address',
            retryAfterSeconds: wait,
            ...context,
          });
          throw tooManyRequests('too many sign-ups from this address', wait);
        }
        const user = await users.create(
          { username: name.username, password: input.password, email: given ?? undefined },
          context,
        );
        emit({ type: 'signed_up', userId: user.id, via: 'open', ...context });
        return user;
      }

      // By invitation: look it up (without using it), check the name and address are free, then use it.
      const wait = throttle ? await throttle.checkToken(ip) : null;
      if (wait !== null) throw tooManyRequests('too many unusable links from this address', wait);
      const hash = linkHash(input.invitation);
      const invitation = hash ? await store.getAccountToken(hash, 'invitation', clock.now()) : null;
      if (!hash || !invitation) {
        await throttle?.recordBadToken(ip);
        throw invitationMissing(input.invitation);
      }
      const email = invitation.email ?? given;
      // A taken name or address is said before the invitation is used (a look-alike name is caught by the
      // store at creation, and the invitation is then given back).
      if (await store.getUserByUsername(name.username)) throw usernameTaken(name.username, 'exact');
      if (email !== null && (await store.getUserByEmail(email))) throw emailTaken();
      const used = await store.takeAccountToken(hash, 'invitation', clock.now());
      if (!used) throw invalidInvitation();
      let user: UserRecord;
      try {
        user = await users.create(
          {
            username: name.username,
            password: input.password,
            role: checkRole(used.role ?? DEFAULT_ROLE, deps.roles),
            email: email ?? undefined,
            // The invitation was mailed to this address, and its link came back: the address is theirs.
            emailVerified: used.email !== null && used.stamp === MAILED,
          },
          context,
        );
      } catch (error) {
        // A name or address taken between the check and now: the invitation is given back.
        await store.putAccountToken(used).catch(() => {});
        throw error;
      }
      emit({ type: 'signed_up', userId: user.id, via: 'invitation', ...context });
      return user;
    },
  };
}

function invitationMissing(token: unknown): KeycardError {
  return token === undefined || token === null || token === ''
    ? new KeycardError('forbidden', 'sign-up here is by invitation: open the link from your invitation', {
        field: 'invitation',
      })
    : invalidInvitation();
}

export type Signup = ReturnType<typeof createSignup>;
