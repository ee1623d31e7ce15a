/**
 * Express's error handler for keycard: keycard's errors, and the body parser's (`express.json()`,
 * `express.urlencoded()`), answered as `{"error": {"code", "message"}}` with the status from keycard's
 * one table — so a client gets the same JSON whether its body was malformed or its password wrong, never
 * Express's HTML error page.
 */
import type { ErrorRequestHandler } from 'express';
import { isKeycardError, KeycardError } from 'keycard';

/**
 * The body parser's failure as a KeycardError, or null when `error` is not one. body-parser marks its
 * errors (http-errors) with a `type` naming the cause and a client status; the messages here are ours,
 * because body-parser's can quote the body (a JSON syntax error shows the text around it, which may be a
 * password).
 */
export function fromBodyParserError(error: unknown): KeycardError | null {
  if (error === null || typeof error !== 'object') return null;
  const { type, status, limit } = error as { type?: unknown; status?: unknown; limit?: unknown };
  if (typeof type !== 'string' || typeof status !== 'number') return null;
  switch (type) {
    case 'entity.parse.failed':
      return new KeycardError(
        'invalid_request',
        'the request body is malformed (not valid JSON or form data)',
      );
    case 'querystring.parse.rangeError':
      return new KeycardError('invalid_request', 'the form body is nested too deeply');
    case 'entity.too.large':
      return new KeycardError(
        'payload_too_large',
        typeof limit === 'number'
          ? `the request body is larger than ${limit} bytes`
          : 'the request body is too large',
      );
    case 'parameters.too.many':
      return new KeycardError('payload_too_large', 'the form body has too many fields');
    case 'charset.unsupported':
      return new KeycardError('unsupported_media_type', 'the body must be sent in UTF-8');
    case 'encoding.unsupported':
      return new KeycardError(
        'unsupported_media_type',
        'the Content-Encoding is not supported; send identity, gzip, deflate or br',
      );
    case 'request.size.invalid':
      return new KeycardError('invalid_request', 'the request body does not match its Content-Length');
    case 'request.aborted':
      return new KeycardError('invalid_request', 'the request was aborted before its body arrived');
  }
  // Another client error of the body parser's (a newer version's): still the client's fault, still JSON.
  // Server-side ones (a stream read twice, an app's `verify` callback) go on to the app's handlers.
  if (status >= 400 && status < 500 && type !== 'entity.verify.failed') {
    return new KeycardError('invalid_request', 'the request body could not be read');
  }
  return null;
}

/**
 * Last in the app: sends keycard's errors and the body parser's as `{"error": {code, message}}` with the
 * right status and `Cache-Control: no-store`. Other errors go on to the next error handler (Express's
 * own, or yours). In Express 4, errors of `async` handlers reach it only through `asyncHandler`; Express
 * 5 passes them on itself.
 */
export function keycardErrors(): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    const failure = isKeycardError(error) ? error : fromBodyParserError(error);
    if (!failure) return next(error);
    if (res.headersSent) return next(error);
    res.status(failure.status).set('cache-control', 'no-store').set(failure.headers()).json(failure.toJSON());
  };
}
