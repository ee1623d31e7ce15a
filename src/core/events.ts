/**
 * Audit events: what happened, to whom, from where — never a token, a secret or a password.
 * `sessionId` is the SHA-256 of the session token, which grants nothing.
 */
import type { FactorKind } from './store.js';

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
  /**
   * A refresh refused for its token: none was presented, or it is unknown, expired, ended or forged. The
   * token is not named (it may be anyone's guess); the login is unknown. Reuse has its own event.
   */
  | ({ type: 'refresh_failed'; reason: 'missing_token' | 'invalid_token' } & EventContext)
  /** One login ended by its user, an admin, or the per-user limit (`logins.maxPerUser`: the oldest ends). */
  | ({
      type: 'session_revoked';
      userId: string;
      sessionId: string;
      by: 'user' | 'admin' | 'limit';
    } & EventContext)
  | ({ type: 'sessions_revoked'; userId: string; count: number; reason: RevokeReason } & EventContext)
  | ({ type: 'user_created'; userId: string; role: string } & EventContext)
  | ({ type: 'user_blocked'; userId: string } & EventContext)
  | ({ type: 'user_unblocked'; userId: string } & EventContext)
  | ({ type: 'password_changed'; userId: string } & EventContext)
  /** A signed-in user's password change refused: the current password they gave was wrong. */
  | ({ type: 'password_change_failed'; userId: string } & EventContext)
  /** A wrong current password given to confirm a sensitive change (setting the email address). */
  | ({ type: 'password_confirm_failed'; userId: string } & EventContext)
  /** A user's email address was set, changed or removed; `verified` when it was vouched for. */
  | ({ type: 'email_changed'; userId: string; verified: boolean } & EventContext)
  | ({ type: 'email_verification_sent'; userId: string } & EventContext)
  | ({ type: 'email_verified'; userId: string } & EventContext)
  /** A reset link was mailed (after the answer: the request itself never says whether the address is known). */
  | ({ type: 'password_reset_requested'; userId: string; by?: 'admin' } & EventContext)
  /** An admin created an invitation (`mailed` when its link went to an address). */
  | ({ type: 'invitation_created'; role: string; mailed: boolean } & EventContext)
  /** A user signed themselves up: `open` sign-up or an `invitation`. */
  | ({ type: 'signed_up'; userId: string; via: 'open' | 'invitation' } & EventContext)
  /** A reset link was used: the password was set and every login of the user ended. */
  | ({ type: 'password_reset'; userId: string } & EventContext)
  /** `previousRole`: the role the user had (absent in events from before it was recorded). */
  | ({ type: 'role_changed'; userId: string; role: string; previousRole?: string } & EventContext)
  /** The user record is gone (its name free again) and every login of theirs ended; `role` it had. */
  | ({ type: 'user_deleted'; userId: string; role: string } & EventContext)
  /** Second factors (docs/mfa.md). A factor was added (a TOTP confirmed, a passkey registered). */
  | ({ type: 'mfa_enrolled'; userId: string; factorId: string; kind: FactorKind } & EventContext)
  /** A factor was removed by its user, or every factor of the user by an admin (`by: 'admin'`). */
  | ({
      type: 'mfa_removed';
      userId: string;
      factorId: string | null;
      kind: FactorKind | null;
      by: 'user' | 'admin';
    } & EventContext)
  /** The password was right and a second factor is now asked for (the login is pending). */
  | ({ type: 'mfa_required'; userId: string } & EventContext)
  /** A second factor was shown: to finish a sign-in, or to step up on a signed-in login. */
  | ({
      type: 'mfa_succeeded';
      userId: string;
      kind: FactorKind;
      purpose: 'login' | 'step_up';
    } & EventContext)
  /** A wrong, replayed or unusable second factor. */
  | ({ type: 'mfa_failed'; userId: string; purpose: 'login' | 'step_up' } & EventContext)
  /** New recovery codes (the old ones stop working). */
  | ({ type: 'recovery_codes_generated'; userId: string } & EventContext)
  /** A recovery code was used; `remaining` are left. */
  | ({ type: 'recovery_code_used'; userId: string; remaining: number } & EventContext)
  /** A signed-in login renewed its proof with the password (a user without a second factor). */
  | ({ type: 'step_up_password'; userId: string } & EventContext)
  /** API clients (client credentials), changed by an admin: through the admin API or `keycard client`. */
  | ({ type: 'client_created'; clientId: string; scopes: string[] } & EventContext)
  | ({ type: 'client_scopes_changed'; clientId: string; scopes: string[] } & EventContext)
  /** A new secret; the previous one keeps working for the overlap, then stops and its tokens are revoked. */
  | ({ type: 'client_secret_rotated'; clientId: string } & EventContext)
  /** Disabling and removing revoke every token the client holds. */
  | ({ type: 'client_disabled'; clientId: string } & EventContext)
  | ({ type: 'client_enabled'; clientId: string } & EventContext)
  | ({ type: 'client_removed'; clientId: string } & EventContext)
  /** A cookie-authenticated unsafe request, or a login, refused by the Origin / Sec-Fetch-Site check. */
  | ({
      type: 'cross_site_rejected';
      method: string;
      /** The URL path, without the query string (which may carry anything). */
      path?: string;
      userId: string | null;
      sessionId: string | null;
    } & EventContext)
  /** An unsafe request refused for a missing or wrong CSRF token. */
  | ({
      type: 'csrf_rejected';
      reason: CSRFRejectReason;
      method: string;
      path?: string;
      userId: string | null;
      sessionId: string | null;
    } & EventContext)
  /**
   * An attempt refused by brute-force throttling before any password was checked. `scope`: the client
   * address is over its limit, or this address must wait before trying this account again.
   */
  | ({
      type: 'throttled';
      action:
        | 'login'
        | 'refresh'
        | 'password_change'
        | 'password_confirm'
        | 'password_forgot'
        | 'signup'
        | 'mfa';
      /** `login`: one login refreshed more often than `throttle.refresh.maxPerLogin` in the window. */
      scope: 'address' | 'account' | 'login';
      /** The username as sent (login only). */
      username?: string;
      retryAfterSeconds: number;
    } & EventContext);

/** Why a CSRF token was refused. */
export type CSRFRejectReason = 'missing_token' | 'invalid_token';

export type RevokeReason =
  | 'logout_all'
  | 'blocked'
  | 'password_changed'
  | 'role_changed'
  | 'admin'
  | 'deleted'
  | 'mfa_enrolled';

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
