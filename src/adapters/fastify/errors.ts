/**
 * Fastify's error handler for keycard, the counterpart of `keycardErrors()` in keycard/express: keycard's
 * errors, and Fastify's own client errors (a malformed or oversized body, an unsupported Content-Type, a
 * schema validation failure), answered as `{"error": {"code", "message"}}` with the status from keycard's
 * one table, instead of Fastify's `{"statusCode", "error", "message"}`.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isKeycardError, KeycardError } from 'keycard';

/**
 * Fastify's client error as a KeycardError, or null for anything else (server faults, and the app's own
 * errors, go on to the next handler). `bodyLimit` (bytes) names the limit in the 413 message. Fastify's own messages are not passed
 * on except for schema validation, whose message names the field and never quotes the value.
 */
export function fromFastifyError(error: unknown, bodyLimit?: number): KeycardError | null {
  if (isKeycardError(error)) return error;
  if (error === null || typeof error !== 'object') return null;
  const { code, statusCode, validation, message } = error as Partial<FastifyError>;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new KeycardError(
        'payload_too_large',
        bodyLimit === undefined
          ? 'the request body is too large'
          : `the request body is larger than ${bodyLimit} bytes`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new KeycardError(
        'unsupported_media_type',
        'the body’s Content-Type is not accepted here; send application/json',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new KeycardError('invalid_request', 'the JSON body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new KeycardError('invalid_request', 'the body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new KeycardError('invalid_request', 'the request body does not match its Content-Length');
  }
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500) return null;
  // Fastify's own errors and its body parsers' (a syntax error in JSON is a SyntaxError marked 400); an
  // app's own errors with a status are the app's to word, and go on.
  const fromFastify = typeof code === 'string' && code.startsWith('FST_ERR_');
  if (!fromFastify && !(error instanceof SyntaxError)) return null;
  if (validation !== undefined && typeof message === 'string') {
    // Ajv's message: the path and the rule (`body/username must be string`), not the value.
    return new KeycardError('invalid_request', message.slice(0, 200));
  }
  switch (statusCode) {
    case 404:
      return new KeycardError('not_found', 'no such resource');
    case 405:
      return new KeycardError('method_not_allowed', 'method not allowed');
    case 408:
      return new KeycardError('request_timeout', 'the request took too long to arrive');
    case 413:
      return new KeycardError('payload_too_large', 'the request body is too large');
    case 414:
      return new KeycardError('uri_too_long', 'the URL is too long');
    case 415:
      return new KeycardError('unsupported_media_type', 'the body’s Content-Type is not accepted here');
    case 431:
      return new KeycardError('header_too_large', 'the request headers are too large');
    default:
      // The generic message: a parser's own may quote the body.
      return new KeycardError('invalid_request', 'the request is malformed');
  }
}

/** Sends a KeycardError as `{"error": {code, message}}` with its status. */
export function sendKeycardError(reply: FastifyReply, error: KeycardError): FastifyReply {
  return reply
    .code(error.status)
    .header('cache-control', 'no-store')
    .headers(error.headers())
    .send(error.toJSON());
}

/**
 * `app.setErrorHandler(keycardErrors())`: keycard's errors and Fastify's client errors as
 * `{"error": {code, message}}`; anything else goes on to the parent (by default Fastify's) handler. The
 * keycardFastify plugin installs it unless registered with `errorHandler: false`.
 */
export function keycardErrors(): (
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
) => FastifyReply {
  return (error, request, reply) => {
    const failure = fromFastifyError(error, request.routeOptions?.bodyLimit);
    if (failure) return sendKeycardError(reply, failure);
    // In an error handler, sending an error hands it to the parent handler.
    return reply.send(error);
  };
}
