/**
 * A signed-in user changing their own password: the current one must be right, and checking it is a
 * password guess like a login's — so it draws on the same throttle budget (this account from this
 * address), and a stolen session cannot guess the password faster than the sign-in form allows. On
 * success every other login of the user ends (their tokens revoked); the one that made the change stays.
 */
import type { AuthContext } from '../auth/context.js';
import { isKeycardError, KeycardError, tooManyRequests } from '../errors.js';
import type { EventEmitter } from '../events.js';
import type { LoginTicket, Throttle } from '../throttle/throttle.js';
import type { UserService } from './service.js';

export interface ChangePasswordDependencies {
  users: UserService;
  throttle: Throttle | null;
  emit: EventEmitter;
}

/** What is being done with the current password: changing it, or confirming a sensitive change. */
export type PasswordGuess = 'password_change' | 'password_confirm';

/**
 * Runs `attempt` — which checks the signed-in user's current password and throws `invalid_credentials`
 * when it is wrong — as a password guess: reserved against the sign-in throttle first, counted as a
 * failure when wrong, released otherwise.
 */
export async function asPasswordGuess<T>(
  deps: ChangePasswordDependencies,
  context: AuthContext,
  kind: PasswordGuess,
  attempt: (userId: string) => Promise<T>,
): Promise<T> {
  const { throttle, emit } = deps;
  const user = context.user;
  if (!user) throw new KeycardError('unauthenticated', 'sign in first');
  const { ip } = context.request;
  const eventContext = { ip, userAgent: context.request.header('user-agent') ?? null };
  const failed = () =>
    emit({
      type: kind === 'password_change' ? 'password_change_failed' : 'password_confirm_failed',
      userId: user.id,
      ...eventContext,
    });
  let ticket: LoginTicket | null = null;
  if (throttle) {
    const reservation = await throttle.reserveLogin(user.username, ip);
    if (!reservation.ok) {
      const { scope, retryAfterSeconds } = reservation;
      emit({ type: 'throttled', action: kind, scope, retryAfterSeconds, ...eventContext });
      throw tooManyRequests('too many wrong passwords', retryAfterSeconds);
    }
    ticket = reservation.ticket;
  }
  let result: T;
  try {
    result = await attempt(user.id);
  } catch (error) {
    const wrong = isKeycardError(error) && error.code === 'invalid_credentials';
    if (wrong) failed();
    if (throttle && ticket) {
      if (wrong) {
        const verdict = await throttle.recordLoginFailure(ticket);
        if (!verdict.ok) throw tooManyRequests('too many wrong passwords', verdict.retryAfterSeconds);
      } else {
        // The current password was right (or never checked): nothing to count.
        await throttle.releaseLogin(ticket);
      }
    }
    throw error;
  }
  if (throttle && ticket) await throttle.recordLoginSuccess(ticket);
  return result;
}

export async function changeOwnPassword(
  deps: ChangePasswordDependencies,
  context: AuthContext,
  currentPassword: unknown,
  newPassword: unknown,
): Promise<void> {
  await asPasswordGuess(deps, context, 'password_change', (userId) =>
    deps.users.changePassword(userId, currentPassword, newPassword, {
      keepSessionId: context.loginId ?? undefined,
    }),
  );
}

/** The signed-in user's current password, confirmed before a sensitive change (throttled the same way). */
export async function confirmOwnPassword(
  deps: ChangePasswordDependencies,
  context: AuthContext,
  password: unknown,
): Promise<void> {
  await asPasswordGuess(deps, context, 'password_confirm', (userId) =>
    deps.users.confirmPassword(userId, password),
  );
}
