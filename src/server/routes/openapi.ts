/**
 * `GET /auth/openapi.json`: the OpenAPI document of every route `keycard serve` registers — the route table
 * and the server's own routes (health, JWKS, assets, the browser client, the pages, this one) — built once
 * from their schemas (src/api/openapi.ts). Registered outside keycard's hooks: it reads no session.
 */
import type { FastifyInstance } from 'fastify';
import type { Keycard } from 'keycard';
import { buildOpenAPI, JWKS_ROUTE, OPENAPI_ROUTE } from '../../api/openapi.js';
import type { ApiRoute } from '../../api/routes.js';
import { CLIENT_SCRIPT_ROUTE } from './client-script.js';
import { HEALTH_ROUTES } from './health.js';
import { ASSET_ROUTES, PAGE_ROUTES } from './pages.js';
import { PASSKEY_ASSET_ROUTES } from './passkey-assets.js';

/** The document of `keycard serve` with this keycard and route table. */
export function serverOpenAPI(keycard: Keycard, api: readonly ApiRoute[]): object {
  return buildOpenAPI(keycard, {
    api,
    other: [
      ...HEALTH_ROUTES,
      JWKS_ROUTE,
      ...ASSET_ROUTES,
      ...PASSKEY_ASSET_ROUTES,
      CLIENT_SCRIPT_ROUTE,
      OPENAPI_ROUTE,
      ...PAGE_ROUTES,
    ],
  });
}

export function registerOpenAPIRoute(app: FastifyInstance, keycard: Keycard, api: readonly ApiRoute[]): void {
  const document = JSON.stringify(serverOpenAPI(keycard, api));
  app.get(OPENAPI_ROUTE.path, async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(document),
  );
}
