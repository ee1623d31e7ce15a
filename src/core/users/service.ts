/**
 * Users: create, check credentials, change password or role, block and unblock, delete. Every change that should
 * end a user's logins does so here, through the login registry, so that adapters, the server and the CLI
 * share one path.
 */

import { normalizeEmail } from '../accounts/email.js';
import type { Clock } from '../clock.js';
import { KeycardError } from '../errors.js';
import type { EventContext, EventEmitter } from '../events.js';
import type { LoginRegistry } from '../logins/registry.js';
import type { PasswordHasher } from '../passwords/hash.js';
import { checkNewPassword, type PasswordPolicy } from '../passwords/policy.js';
import { generateId } from '../random-tokens.js';
import type { AuthUser, Store, UserRecord } from '../store.js';
import { MAX_PASSWORD_INPUT_LENGTH } from './credentials.js';
import { checkRole, DEFAULT_ROLE, DEFAULT_ROLES } from './roles.js';
import { usernameSkeleton } from './skeleton.js';
import { lookupUsername, normalizeUsername } from './username.js';

export interface NewUser {
  username: string;
  password: string;
  role?: string;
  /** An email address (normalized; unique among users). Unverified unless `emailVerified`. */
  email?: string;
  /** The creator vouches for the address (an admin who knows it); default false. */
  emailVerified?: boolean;
}

/** What may be shown about a user: never the password hash. */
export interface PublicUser {
  id: string;
  username: string;
  role: string;
  blocked: boolean;
  email: string | null;
  emailVerified: boolean;
  createdAt: string;
}

export type CredentialCheck =
  | { ok: true; user: UserRecord }
  | { ok: false; reason: 'invalid_credentials' | 'account_blocked' };

export interface UserService {
  create(input: NewUser, context?: EventContext): Promise<UserRecord>;
  /**
   * Checks a username and password. An unknown user costs one dummy hash verification, so it takes as
   * long as a wrong password and yields the same result. A blocked user is reported only after the
   * password matched, so blocking does not reveal that an account exists.
   */
  verifyCredentials(username: unknown, password: unknown): Promise<CredentialCheck>;
  get(id: string): Promise<UserRecord | null>;
  findByUsername(username: string): Promise<UserRecord | null>;
  /**
   * By username, ascending: `after` the last one of the previous page, `prefix` only the names that begin
   * with it (a canonical name's beginning: see `usernamePrefix`).
   */
  list(options?: { limit?: number; after?: string; prefix?: string }): Promise<UserRecord[]>;
  count(): Promise<number>;
  /**
   * Sets a new password and ends every other login of the user (all of them without `keepSessionId`).
   * `context`: who made the change (an admin's request), for the audit events.
   */
  setPassword(
    id: string,
    password: string,
    options?: { keepSessionId?: string; context?: EventContext },
  ): Promise<UserRecord>;
  /**
   * The user's own change: the current password must match (`invalid_credentials` otherwise, with the
   * cost of a real check either way), the new one must meet the policy and differ from it; then as
   * `setPassword`, keeping `keepSessionId` — the login that made the change.
   */
  changePassword(
    id: string,
    currentPassword: unknown,
    newPassword: unknown,
    options?: { keepSessionId?: string },
  ): Promise<UserRecord>;
  /**
   * The user's current password, or `invalid_credentials` (naming `current_password`) with the cost of
   * a real check; `account_blocked` for a blocked user.
   */
  confirmPassword(id: string, password: unknown): Promise<UserRecord>;
  /**
   * Checks a would-be password against the policy for this user (`invalid_request` naming `field`
   * otherwise), without setting it.
   */
  checkPassword(password: unknown, username: string, field?: string): void;
  /**
   * Changes the role (one of the configured set, else `invalid_request` naming `role`) and ends every
   * login of the user, revoking their tokens, so no session or access token carries the old role. The
   * role the user has already changes nothing and ends nothing.
   */
  setRole(id: string, role: string, context?: EventContext): Promise<UserRecord>;
  /** Blocks new logins and ends every current one at once. */
  block(id: string, context?: EventContext): Promise<UserRecord>;
  unblock(id: string, context?: EventContext): Promise<UserRecord>;
  /**
   * Deletes the user: the record (its username and skeleton free again) and every login, with the
   * revocations their access tokens need, as blocking writes them. `not_found` when there is no such user
   * — also for the loser of two concurrent deletes. Returns the record as it was.
   */
  delete(id: string, context?: EventContext): Promise<UserRecord>;
}

export function toAuthUser(user: UserRecord): AuthUser {
  return { id: user.id, username: user.username, role: user.role };
}

export function toPublicUser(user: UserRecord): PublicUser {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    blocked: user.blocked,
    email: user.email ?? null,
    emailVerified: typeof user.emailVerifiedAt === 'number',
    createdAt: new Date(user.createdAt).toISOString(),
  };
}

export interface UserServiceDependencies {
  store: Store;
  logins: LoginRegistry;
  passwords: PasswordHasher;
  policy: PasswordPolicy;
  clock: Clock;
  emit: EventEmitter;
  /** The closed set of roles (default `user` and `admin`). */
  roles?: readonly string[];
}

export function createUserService(deps: UserServiceDependencies): UserService {
  const { store, logins, passwords, policy, clock, emit } = deps;
  const roles = deps.roles ?? DEFAULT_ROLES;

  const update = async (id: string, change: Omit<Parameters<Store['updateUser']>[1], 'updatedAt'>) => {
    const user = await store.updateUser(id, { ...change, updatedAt: clock.now() });
    if (!user) throw new KeycardError('not_found', 'no such user');
    return user;
  };

  /** The username is passed so that passwords built on it are refused (NIST's context-specific words). */
  const validPassword = (password: unknown, username: string, field = 'password'): string => {
    const problem = checkNewPassword(password, policy, { username });
    if (problem) throw new KeycardError('invalid_request', problem, { field });
    return password as string;
  };

  const service: UserService = {
    checkPassword(password, username, field = 'password') {
      validPassword(password, username, field);
    },

    async create(input, context = {}) {
      const name = normalizeUsername(input.username);
      if (!name.ok) throw new KeycardError('invalid_request', name.reason, { field: 'username' });
      const role = checkRole(input.role ?? DEFAULT_ROLE, roles);
      const email = input.email === undefined ? null : normalizeEmail(input.email);
      const passwordHash = await passwords.hash(validPassword(input.password, name.username));
      const now = clock.now();
      const user: UserRecord = {
        id: generateId(),
        username: name.username,
        skeleton: usernameSkeleton(name.username),
        passwordHash,
        role,
        blocked: false,
        email,
        emailVerifiedAt: email !== null && input.emailVerified === true ? now : null,
        createdAt: now,
        updatedAt: now,
      };
      await store.createUser(user);
      emit({ type: 'user_created', userId: user.id, role, ...context });
      return user;
    },

    async verifyCredentials(username, password) {
      if (typeof password !== 'string' || password.length > MAX_PASSWORD_INPUT_LENGTH) {
        return { ok: false, reason: 'invalid_credentials' };
      }
      const name = lookupUsername(username);
      const user = name === null ? null : await store.getUserByUsername(name);
      if (!user || user.passwordHash === null) {
        await passwords.verifyDummy(password);
        return { ok: false, reason: 'invalid_credentials' };
      }
      if (!(await passwords.verify(user.passwordHash, password)))
        return { ok: false, reason: 'invalid_credentials' };
      if (user.blocked) return { ok: false, reason: 'account_blocked' };
      if (passwords.needsRehash(user.passwordHash)) {
        // Upgrades bcrypt (or older Argon2 parameters) now that the plain password is at hand.
        const upgraded = await store.updateUser(user.id, {
          passwordHash: await passwords.hash(password),
          updatedAt: clock.now(),
        });
        return { ok: true, user: upgraded ?? user };
      }
      return { ok: true, user };
    },

    get: (id) => store.getUserById(id),
    async findByUsername(username) {
      const name = lookupUsername(username);
      return name === null ? null : store.getUserByUsername(name);
    },
    list: (options = {}) =>
      store.listUsers({
        limit: Math.min(options.limit ?? 100, 10_000),
        after: options.after,
        ...(options.prefix ? { prefix: options.prefix } : {}),
      }),
    count: () => store.countUsers(),

    async setPassword(id, password, options = {}) {
      const current = await store.getUserById(id);
      if (!current) throw new KeycardError('not_found', 'no such user');
      const passwordHash = await passwords.hash(validPassword(password, current.username));
      const user = await update(id, { passwordHash });
      const count = await logins.destroyAllForUser(id, { exceptId: options.keepSessionId });
      const context = options.context ?? {};
      emit({ type: 'password_changed', userId: id, ...context });
      if (count > 0) {
        emit({ type: 'sessions_revoked', userId: id, count, reason: 'password_changed', ...context });
      }
      return user;
    },

    async confirmPassword(id, password) {
      const user = await store.getUserById(id);
      if (!user) throw new KeycardError('not_found', 'no such user');
      const matches =
        typeof password === 'string' &&
        password.length <= MAX_PASSWORD_INPUT_LENGTH &&
        user.passwordHash !== null &&
        (await passwords.verify(user.passwordHash, password));
      if (!matches) {
        if (user.passwordHash === null) await passwords.verifyDummy(String(password));
        throw new KeycardError('invalid_credentials', 'the current password is not right', {
          field: 'current_password',
        });
      }
      if (user.blocked) throw new KeycardError('account_blocked', 'this account is blocked');
      return user;
    },

    async changePassword(id, currentPassword, newPassword, options = {}) {
      const user = await service.confirmPassword(id, currentPassword);
      const next = validPassword(newPassword, user.username, 'new_password');
      if (next === currentPassword) {
        throw new KeycardError('invalid_request', 'the new password must differ from the current one', {
          field: 'new_password',
        });
      }
      return service.setPassword(id, next, options);
    },

    async setRole(id, role, context = {}) {
      checkRole(role, roles);
      const current = await store.getUserById(id);
      if (!current) throw new KeycardError('not_found', 'no such user');
      if (current.role === role) return current;
      // The role is written before the logins are ended: a sign-in racing with this re-reads the user
      // after creating its login and undoes it when the role moved (see `signIn`), and every login listed
      // here is ended with its tokens revoked, so no login keeps the old role in its record or its tokens.
      const user = await update(id, { role });
      const count = await logins.destroyAllForUser(id);
      emit({ type: 'role_changed', userId: id, role, previousRole: current.role, ...context });
      if (count > 0)
        emit({ type: 'sessions_revoked', userId: id, count, reason: 'role_changed', ...context });
      return user;
    },

    async block(id, context = {}) {
      // The flag is set before the sessions are deleted; a login racing with this re-reads the flag after
      // creating its session (see `signIn`), so no session of a blocked user survives.
      const user = await update(id, { blocked: true });
      const count = await logins.destroyAllForUser(id);
      emit({ type: 'user_blocked', userId: id, ...context });
      if (count > 0) emit({ type: 'sessions_revoked', userId: id, count, reason: 'blocked', ...context });
      return user;
    },

    async unblock(id, context = {}) {
      const user = await update(id, { blocked: false });
      emit({ type: 'user_unblocked', userId: id, ...context });
      return user;
    },

    async delete(id, context = {}) {
      const user = await store.getUserById(id);
      if (!user) throw new KeycardError('not_found', 'no such user');
      // Logins are ended before and after the record goes. Before: should the delete then fail, the user
      // is still there and has no login — never a deleted user with live logins. After: a sign-in that
      // raced with this created its login either before the second listing (ended here) or after the
      // record was gone, and then its own re-read of the user (see `signIn`) finds nothing and undoes it.
      // Each pass writes the revocations of the token logins it ends (a user-wide one included), as
      // blocking does.
      let count = await logins.destroyAllForUser(id);
      if (!(await store.deleteUser(id))) throw new KeycardError('not_found', 'no such user');
      count += await logins.destroyAllForUser(id);
      // Factors go with the account: a user created again under the name starts with none.
      await store.deleteUserFactors(id);
      emit({ type: 'user_deleted', userId: id, role: user.role, ...context });
      if (count > 0) emit({ type: 'sessions_revoked', userId: id, count, reason: 'deleted', ...context });
      return user;
    },
  };
  return service;
}
