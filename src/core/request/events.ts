/** The request details every audit event of a request carries, and the events a login emits after it. */
import type { EventEmitter } from '../events.js';
import type { RequestInfo } from '../http/request.js';
import type { LoginRegistry } from '../logins/registry.js';

export function requestEvent(request: RequestInfo): { ip: string | null; userAgent: string | null } {
  return { ip: request.ip, userAgent: request.header('user-agent') ?? null };
}

/**
 * After a login: ends the user's oldest logins beyond `logins.maxPerUser` (each revoked like any other
 * ended login), with a `session_revoked` event for each, so no client can grow a user's records without
 * bound.
 */
export async function endLoginsOverLimit(
  deps: { logins: LoginRegistry; emit: EventEmitter },
  userId: string,
  request: RequestInfo,
): Promise<void> {
  for (const login of await deps.logins.enforceLimit(userId)) {
    deps.emit({
      type: 'session_revoked',
      userId,
      sessionId: login.id,
      by: 'limit',
      ...requestEvent(request),
    });
  }
}
