/**
 * Route handlers an Express app needs around keycard: `asyncHandler`, so that a rejected promise reaches
 * the error handlers in Express 4 as it does in Express 5, and `csrfToken`, the one-line route that hands
 * a browser page its CSRF token — before login too, which a browser login needs.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { KeycardError } from 'keycard';

/**
 * Wraps an `async` route handler so that its rejection goes to `next(error)` — to `keycardErrors()` and
 * your error handlers. Express 5 does this for any handler; Express 4 does not, and an unhandled rejection
 * there leaves the request hanging or, on Node's default `--unhandled-rejections=throw`, ends the process.
 * Harmless in Express 5, so one app runs on both.
 *
 *   app.post('/login', asyncHandler(async (req, res) => { … }));
 */
export function asyncHandler(
  handler: (req: Request, res: Response, next: NextFunction) => unknown,
): RequestHandler {
  return (req, res, next) => {
    let result: unknown;
    try {
      result = handler(req, res, next);
    } catch (error) {
      next(error);
      return;
    }
    if (
      result !== null &&
      typeof result === 'object' &&
      typeof (result as Promise<unknown>).then === 'function'
    ) {
      // As Express 5 does: a promise rejected without a reason still fails the request.
      (result as Promise<unknown>).then(undefined, (error: unknown) =>
        next(error ?? new Error('the route handler rejected without a reason')),
      );
    }
  };
}

/**
 * `app.get('/auth/csrf', csrfToken())`: answers `{"token": "…"}` (with `Cache-Control: no-store`), the
 * token a browser page sends back as `X-CSRF-Token` on unsafe requests. Before login it is bound to a
 * pre-login cookie set here, so a page can sign in; after login it is bound to the login, so fetch a new
 * one then. The same route and shape as `keycard serve`'s.
 */
export function csrfToken(): RequestHandler {
  return (req, res, next) => {
    if (!req.auth) {
      next(
        new KeycardError(
          'invalid_configuration',
          'csrfToken() needs app.use(keycardExpress(keycard)) before it',
        ),
      );
      return;
    }
    res.set('cache-control', 'no-store').json({ token: req.auth.csrfToken() });
  };
}
