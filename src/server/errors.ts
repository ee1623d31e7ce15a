/**
 * The server's one error handler: every failure becomes `{"error": {code, message}}` (or an HTML error
 * page for a browser form or page), with the status from keycard's code table. Framework errors are
 * translated to keycard codes; unexpected errors are logged and answered with a generic 500 that reveals
 * nothing.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isKeycardError, KeycardError } from 'keycard';
import { describeStoreFailure } from 'keycard/stores';
import { formRefusalLocation } from '../api/pages/login-notices.js';
import { stepUpLocation } from '../api/pages/mfa-views.js';
import { errorPage } from '../api/pages/views.js';
import { isFormPost, wantsHTML } from './http.js';

export function toKeycardError(error: unknown, bodyLimitBytes: number): KeycardError {
  if (isKeycardError(error)) return error;
  const fastifyError = error as Partial<FastifyError>;
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new KeycardError('payload_too_large', `the request body is larger than ${bodyLimitBytes} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new KeycardError(
        'unsupported_media_type',
        'send the body as application/json or application/x-www-form-urlencoded',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new KeycardError('invalid_request', 'the JSON body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new KeycardError('invalid_request', 'the body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new KeycardError('invalid_request', 'the Content-Length does not match the body');
  }
  if (error instanceof SyntaxError || /proto|constructor/i.test(fastifyError.message ?? '')) {
    // secure-json-parse refuses __proto__ and constructor.prototype keys in JSON bodies.
    if ((fastifyError.statusCode ?? 0) === 400) {
      return new KeycardError(
        'invalid_request',
        'the JSON body has a forbidden key (__proto__ or constructor)',
      );
    }
  }
  const status = fastifyError.statusCode ?? 500;
  if (status === 404) return new KeycardError('not_found', 'no such resource');
  if (status === 405) return new KeycardError('method_not_allowed', 'method not allowed');
  if (status >= 400 && status < 500) return new KeycardError('invalid_request', 'the request is malformed');
  return new KeycardError('internal_error', 'something went wrong; the server log has the details');
}

export interface ErrorHandlerOptions {
  bodyLimitBytes: number;
  /** The store's URL, to name its server and the cause in the log line of a 503. */
  storeURL: string;
}

export function createErrorHandler(options: ErrorHandlerOptions) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const failure = toKeycardError(error, options.bodyLimitBytes);
    if (failure.code === 'internal_error') request.log.error({ err: error }, 'unhandled error');
    else if (failure.code === 'store_unavailable')
      request.log.warn(
        { err: failure.cause ?? failure },
        `store unavailable: ${describeStoreFailure(options.storeURL, failure)}`,
      );
    // A page's form post from a tab whose login has ended goes to the sign-in page (login-notices.ts).
    const auth = request.auth as typeof request.auth | undefined;
    const origin = isFormPost(request) && auth ? auth.checkOrigin() : null;
    // …and one refused for want of a recent proof of identity, to the step-up page (mfa-views.ts).
    const location =
      origin === null
        ? null
        : (formRefusalLocation(failure, origin) ??
          stepUpLocation(failure.code, origin, request.headers.referer, request.headers.host));
    if (location !== null) return reply.header('cache-control', 'no-store').redirect(location, 303);
    reply.code(failure.status).header('cache-control', 'no-store').headers(failure.headers());
    if (wantsHTML(request)) {
      return reply
        .type('text/html; charset=utf-8')
        .send(errorPage(failure.status, failure.message, request.auth?.user?.username));
    }
    return reply.send(failure.toJSON());
  };
}
