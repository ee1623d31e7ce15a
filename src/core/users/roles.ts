/**
 * Roles: a closed set, `user` (every new user's, unless told otherwise) and `admin` (opens the admin API
 * and page) by default. Closed, so that a typo (`--role admn`) is refused instead of creating a user that
 * no check ever matches, and so that the admin page can offer exactly the roles there are. An app with
 * roles of its own lists them in `createKeycard({ roles })`; `keycard serve` and the CLI use the default.
 */
import { configurationError, KeycardError } from '../errors.js';
import { isValidRole } from './username.js';

export const DEFAULT_ROLES: readonly string[] = Object.freeze(['user', 'admin']);

/** The role a user is created with when none is given. */
export const DEFAULT_ROLE = 'user';

/** The `roles` option, checked: distinct lower-case identifiers, `user` among them. */
export function resolveRoles(input: readonly string[] | undefined): readonly string[] {
  if (input === undefined) return DEFAULT_ROLES;
  if (!Array.isArray(input) || input.length === 0) {
    throw configurationError("roles must be a non-empty list such as ['user', 'admin']");
  }
  for (const role of input) {
    if (!isValidRole(role)) {
      throw configurationError(
        `roles: ${JSON.stringify(role)} is not a role name (a lower-case identifier of at most 32 characters)`,
      );
    }
  }
  if (new Set(input).size !== input.length) throw configurationError('roles must not repeat a role');
  if (!input.includes(DEFAULT_ROLE)) {
    throw configurationError(`roles must include '${DEFAULT_ROLE}', the role of a user created without one`);
  }
  return Object.freeze([...input]);
}

/** `role` when it is one of `roles`; else `invalid_request` listing them. */
export function checkRole(role: unknown, roles: readonly string[]): string {
  if (typeof role === 'string' && roles.includes(role)) return role;
  throw new KeycardError('invalid_request', `role must be one of: ${roles.join(', ')}`, { field: 'role' });
}
