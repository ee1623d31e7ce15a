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

export async function changeOwnPassword(
  deps: ChangePasswordDependencies,
  context: AuthContext,
  currentPassword: unknown,
  newPassword: unknown,
): Promise<void> {
  const { users, throttle, emit } = deps;
  const user = context.user;
  if (!user) throw new KeycardError('unauthenticated', 'sign in first');
  const { ip } = context.request;
  const eventContext = { ip, userAgent: context.request.header('user-agent') ?? null };
  let ticket: LoginTicket | null = null;
  if (throttle) {
    const reservation = await throttle.reserveLogin(user.username, ip);
    if (!reservation.ok) {
      const { scope, retryAfterSeconds } = reservation;
      emit({ type: 'throttled', action: 'password_change', scope, retryAfterSeconds, ...eventContext });
      throw tooManyRequests('too many wrong passwords', retryAfterSeconds);
    }
    ticket = reservation.ticket;
  }
  try {
    await users.changePassword(user.id, currentPassword, newPassword, {
      keepSessionId: context.loginId ?? undefined,
    });
  } catch (error) {
    if (throttle && ticket) {
      if (isKeycardError(error) && error.code === 'invalid_credentials') {
        emit({ type: 'password_change_failed', userId: user.id, ...eventContext });
        const verdict = await throttle.recordLoginFailure(ticket);
        if (!verdict.ok) throw tooManyRequests('too many wrong passwords', verdict.retryAfterSeconds);
      } else {
        // The current password was right (or never checked): nothing to count.
        await throttle.releaseLogin(ticket);
      }
    } else if (isKeycardError(error) && error.code === 'invalid_credentials') {
      emit({ type: 'password_change_failed', userId: user.id, ...eventContext });
    }
    throw error;
  }
  if (throttle && ticket) await throttle.recordLoginSuccess(ticket);
}
