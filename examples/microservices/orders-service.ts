/**
 * "Service B": an orders API that only verifies tokens. It never holds a signing key and never calls the
 * auth service per request: it fetches the auth service's public keys (JWKS) once, caches them, and
 * verifies every Bearer token locally.
 */
import express from 'express';
import { createVerifier, requireScopeExpress, type Verifier, verifyExpress } from 'keycard/verify';

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
  app.get('/reports/orders', verifyExpress(services), requireScopeExpress('orders:read'), (_req, res) => {
    let count = 0;
    for (const list of orders.values()) count += list.length;
    res.json({ orders: count, users: orders.size });
  });

  app.use(verifyExpress(verifier)); // every route below needs a user's access token

  app.get('/orders', (req, res) => {
    res.json({ user: req.token?.user?.username, orders: orders.get(req.token?.claims.sub ?? '') ?? [] });
  });

  app.post('/orders', (req, res) => {
    const item = typeof req.body?.item === 'string' ? req.body.item.slice(0, 100) : null;
    if (!item) {
      res
        .status(400)
        .json({ error: { code: 'invalid_request', message: 'item is required', field: 'item' } });
      return;
    }
    const sub = req.token?.claims.sub ?? '';
    const list = orders.get(sub) ?? [];
    const order = { id: list.length + 1, item };
    list.push(order);
    orders.set(sub, list);
    res.status(201).json({ order });
  });

  // Admins see everyone's orders: the role travels in the token, so no call to the auth service.
  app.get('/admin/orders', (req, res) => {
    if (req.token?.user?.role !== 'admin') {
      res.status(403).json({ error: { code: 'forbidden', message: 'this needs the admin role' } });
      return;
    }
    res.json({ orders: Object.fromEntries(orders) });
  });
  return Object.assign(app, { verifier, services });
}
