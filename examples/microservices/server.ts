/**
 * Starts the orders service on PORT (default 3002), verifying tokens from the auth service whose JWKS
 * is at JWKS_URL (default http://localhost:3000/.well-known/jwks.json).
 */
import { createOrdersService } from './orders-service.js';

const port = Number(process.env.PORT ?? 3002);
const jwksURL = process.env.JWKS_URL ?? 'http://localhost:3000/.well-known/jwks.json';
// Optional: the auth service's store, for instant revocation (e.g. redis://127.0.0.1:6379/?prefix=kc).
const revocations = process.env.REVOCATIONS_URL;
createOrdersService({ jwksURL, revocations }).listen(port, () => {
  console.log(`orders service on http://localhost:${port}, verifying tokens with ${jwksURL}`);
});
