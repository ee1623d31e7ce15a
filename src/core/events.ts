/**
 * Audit events: what happened, to whom, from where — never a token, a secret or a password.
 * `sessionId` is the SHA-256 of the session token, which grants nothing.
 */

export interface EventContext {
  ip?: string | null;
  userAgent?: string | null;
}

export type AuthEvent =
  | ({ type: 'login_succeeded'; userId: string; sessionId: string } & EventContext)
  | ({
      type: 'login_failed';
      reason: 'invalid_credentials' | 'account_blocked';
      username: string;
    } & EventContext)
  | ({ type: 'logout'; userId: string | null; sessionId: string } & EventContext)
  | ({ type: 'token_refreshed'; userId: string; sessionId: string } & EventContext)
  | ({ type: 'refresh_token_reused'; userId: string; sessionId: string } & EventContext)
  | ({ type: 'session_revoked'; userId: string; sessionId: string; by: 'user' | 'admin' } & EventContext)
  | ({ type: 'sessions_revoked'; userId: string; count: number; reason: RevokeReason } & EventContext)
  | ({ type: 'user_created'; userId: string; role: string } & EventContext)
  | ({ type: 'user_blocked'; userId: string } & EventContext)
  | ({ type: 'user_unblocked'; userId: string } & EventContext)
  | ({ type: 'password_changed'; userId: string } & EventContext)
  | ({ type: 'role_changed'; userId: string; role: string } & EventContext);

export type RevokeReason = 'logout_all' | 'blocked' | 'password_changed' | 'role_changed' | 'admin';

export type EventType = AuthEvent['type'];

export type EventEmitter = (event: AuthEvent) => void;

/** Wraps the user's hook so that a throwing hook can never fail a login or leak into a response. */
export function createEmitter(
  hook: ((event: AuthEvent) => void) | undefined,
  onHookError: (error: unknown) => void,
): EventEmitter {
  if (!hook) return () => {};
  return (event) => {
    try {
      hook(event);
    } catch (error) {
      onHookError(error);
    }
  };
}
