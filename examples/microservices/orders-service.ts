/**
 * "Service B": an orders API that only verifies tokens. It never holds a signing key and never calls the
 * auth service per request: it fetches the auth service's public keys (JWKS) once, caches them, and
 * verifies every Bearer token locally.
 */
import express from 'express';
import { KeycardError } from 'keycard';
import { keycardErrors, requireScope, verifyToken, withToken } from 'keycard/express';
import { createVerifier, type VerifiedToken, type Verifier } from 'keycard/verify';

/** The user a verified token names; the user verifier accepts nothing else, but a slip fails closed. */
function userId(token: VerifiedToken): string {
  if (!token.user) throw new KeycardError('forbidden', 'this route is for signed-in users');
  return token.user.id;
}

export interface OrdersServiceOptions {
  /** The auth service's JWKS, e.g. http://localhost:3000/.well-known/jwks.json */
  jwksURL: string;
  issuer?: string;
  audience?: string;
  /**
   * The auth service's store URL (e.g. redis://…): subscribe to its revocation feed so a logged-out or
   * blocked user's token is refused here within milliseconds, not at expiry.
   */
  revocations?: string;
}

export function createOrdersService(
  options: OrdersServiceOptions,
): express.Express & { verifier: Verifier; services: Verifier } {
  const verifier = createVerifier({
    jwksURL: options.jwksURL,
    issuer: options.issuer ?? 'keycard',
    audience: options.audience ?? 'keycard',
    revocations: options.revocations,
  });
  // Other services call in with client-credentials tokens (typ client-at+jwt). They get their own
  // verifier, so a user's token can never reach a service route, nor a service's token a user route.
  const services = createVerifier({
    jwksURL: options.jwksURL,
    issuer: options.issuer ?? 'keycard',
    audience: options.audience ?? 'keycard',
    accept: ['client'],
    revocations: options.revocations,
  });
  const orders = new Map<string, { id: number; item: string }[]>();
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));

  // A daily report for the billing service: a client token with the orders:read scope.
  app.get('/reports/orders', verifyToken(services), requireScope('orders:read'), (_req, res) => {
    let count = 0;
    for (const list of orders.values()) count += list.length;
    res.json({ orders: count, users: orders.size });
  });

  app.use(verifyToken(verifier)); // every route below needs a user's access token

  // withToken: `req.token` is typed as present, and a route without the verifier is never served.
  app.get(
    '/orders',
    withToken((req, res) => {
      res.json({ user: req.token.user?.username, orders: orders.get(userId(req.token)) ?? [] });
    }),
  );

  app.post(
    '/orders',
    withToken((req, res) => {
      const item = typeof req.body?.item === 'string' ? req.body.item.slice(0, 100) : null;
      if (!item) {
        res
          .status(400)
          .json({ error: { code: 'invalid_request', message: 'item is required', field: 'item' } });
        return;
      }
      const list = orders.get(userId(req.token)) ?? [];
      const order = { id: list.length + 1, item };
      list.push(order);
      orders.set(userId(req.token), list);
      res.status(201).json({ order });
    }),
  );

  // Admins see everyone's orders: the role travels in the token, so no call to the auth service.
  app.get(
    '/admin/orders',
    withToken((req, res) => {
      if (req.token.user?.role !== 'admin') {
        res.status(403).json({ error: { code: 'forbidden', message: 'this needs the admin role' } });
        return;
      }
      res.json({ orders: Object.fromEntries(orders) });
    }),
  );
  // keycard's errors and express.json()'s (a malformed or oversized body) as {"error": {code, message}}.
  app.use(keycardErrors());
  return Object.assign(app, { verifier, services });
}
