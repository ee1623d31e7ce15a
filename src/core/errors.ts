/**
 * keycard's errors: one class, a closed set of codes, one table from code to HTTP status.
 *
 * Untrusted input that fails is a result (`null`, `{ ok: false }`); a `KeycardError` is thrown for misuse
 * (bad options), for faults (a store that cannot be reached) and at the HTTP edge, where the adapters turn
 * it into `{"error": {"code", "message"}}`. Messages never contain tokens, secrets or passwords.
 */

export type ErrorCode =
  | 'invalid_request'
  | 'invalid_credentials'
  | 'mfa_required'
  | 'invalid_code'
  | 'unauthenticated'
  | 'token_expired'
  | 'token_invalid'
  | 'refresh_token_reused'
  | 'token_revoked'
  | 'forbidden'
  | 'account_blocked'
  | 'cross_site_request'
  | 'csrf_rejected'
  | 'cors_origin_refused'
  | 'insufficient_scope'
  | 'step_up_required'
  | 'mfa_enrollment_required'
  | 'not_found'
  | 'method_not_allowed'
  | 'request_timeout'
  | 'username_taken'
  | 'email_taken'
  | 'payload_too_large'
  | 'session_data_too_large'
  | 'uri_too_long'
  | 'unsupported_media_type'
  | 'too_many_requests'
  | 'header_too_large'
  | 'store_unavailable'
  | 'jwks_unavailable'
  | 'mail_unavailable'
  | 'invalid_configuration'
  | 'internal_error';

/** The one table mapping error codes to HTTP statuses. */
export const errorStatus: Readonly<Record<ErrorCode, number>> = Object.freeze({
  invalid_request: 400,
  invalid_credentials: 401,
  mfa_required: 401,
  invalid_code: 401,
  unauthenticated: 401,
  token_expired: 401,
  token_invalid: 401,
  refresh_token_reused: 401,
  token_revoked: 401,
  forbidden: 403,
  account_blocked: 403,
  cross_site_request: 403,
  csrf_rejected: 403,
  cors_origin_refused: 403,
  insufficient_scope: 403,
  step_up_required: 403,
  mfa_enrollment_required: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  username_taken: 409,
  email_taken: 409,
  payload_too_large: 413,
  session_data_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  too_many_requests: 429,
  header_too_large: 431,
  store_unavailable: 503,
  jwks_unavailable: 503,
  mail_unavailable: 503,
  invalid_configuration: 500,
  internal_error: 500,
});

export interface KeycardErrorOptions {
  /** The input field at fault, for `invalid_request`. */
  field?: string;
  /** The underlying error; kept for logs, never sent to clients. */
  cause?: unknown;
  /** For `too_many_requests`: when to try again (whole seconds), sent as `Retry-After`. */
  retryAfterSeconds?: number;
  /**
   * Members the answer carries beside `error` (`mfa_required`: the pending sign-in's `mfa_token` and the
   * `factors` that can finish it), so an app that throws the error sends them too.
   */
  body?: Record<string, unknown>;
}

export class KeycardError extends Error {
  override readonly name = 'KeycardError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly field: string | undefined;
  /** Seconds until a refused client may try again (`too_many_requests`): the `Retry-After` to send. */
  readonly retryAfterSeconds: number | undefined;
  /** Members the answer carries beside `error`. */
  readonly body: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: KeycardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = errorStatus[code];
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.body = options.body;
  }

  /** The headers that go with this error's answer: `Retry-After` for a throttled request. */
  headers(): Record<string, string> {
    return this.retryAfterSeconds === undefined ? {} : { 'retry-after': String(this.retryAfterSeconds) };
  }

  /** The JSON body sent to clients: code, message and the field at fault, nothing else. */
  toJSON(): { error: { code: ErrorCode; message: string; field?: string }; [member: string]: unknown } {
    const error: { code: ErrorCode; message: string; field?: string } = {
      code: this.code,
      message: this.message,
    };
    if (this.field !== undefined) error.field = this.field;
    return { ...this.body, error };
  }
}

export function isKeycardError(value: unknown): value is KeycardError {
  return value instanceof KeycardError;
}

/** Throws `invalid_configuration`: the message must say what to do. */
export function configurationError(message: string): KeycardError {
  return new KeycardError('invalid_configuration', message);
}

/** Wraps a driver failure as `store_unavailable`; the driver's error is kept as `cause` for logs only. */
export function storeUnavailable(storeName: string, cause: unknown): KeycardError {
  return new KeycardError('store_unavailable', `the ${storeName} store cannot be reached`, { cause });
}

/**
 * What a store throws when a new user's name is taken: `exact` when the canonical username exists,
 * `lookalike` when another user's name has the same confusable skeleton (UTS #39). The message never
 * names the existing user.
 */
export function usernameTaken(username: string, conflict: 'exact' | 'lookalike'): KeycardError {
  return new KeycardError(
    'username_taken',
    conflict === 'exact'
      ? `the username '${username}' is taken`
      : `the username '${username}' looks like an existing username (confusable characters); choose another`,
    { field: 'username' },
  );
}

/** What a store throws when an address is another user's. The message never names that user. */
export function emailTaken(): KeycardError {
  return new KeycardError('email_taken', 'that email address belongs to another account', { field: 'email' });
}

/** 429 for a throttled attempt, saying when to try again (and carrying it for `Retry-After`). */
export function tooManyRequests(what: string, retryAfterSeconds: number): KeycardError {
  const seconds = retryAfterSeconds === 1 ? '1 second' : `${retryAfterSeconds} seconds`;
  return new KeycardError('too_many_requests', `${what}; try again in ${seconds}`, { retryAfterSeconds });
}
