/** Liveness and readiness. Registered outside keycard's hooks, so they never read a session. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { RevocationMonitor, Store } from 'keycard';
import { describeStoreFailure, STORE_FAILURE_LABELS, storeFailureReason } from 'keycard/stores';
import type { DescribedRoute } from '../../api/openapi.js';
import { error } from '../../api/shapes.js';

/** The health routes, described for the OpenAPI document (src/api/openapi.ts). */
export const HEALTH_ROUTES: readonly DescribedRoute[] = [
  {
    method: 'GET',
    path: '/healthz',
    schema: {
      summary: 'Liveness',
      description: 'Whenever the process runs; reads nothing.',
      tags: ['health'],
      answers: {
        200: {
          description: 'Alive.',
          json: Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false }),
        },
      },
    },
  },
  {
    method: 'GET',
    path: '/readyz',
    schema: {
      summary: 'Readiness',
      description: 'Ready when the store answers. The revocation feed (hybrid) is reported, not required.',
      tags: ['health'],
      answers: {
        200: {
          description: 'Ready.',
          json: Type.Object(
            {
              status: Type.Literal('ready'),
              store: Type.String(),
              revocationFeed: Type.Optional(Type.String()),
            },
            { additionalProperties: false },
          ),
        },
        503: error('The store cannot be reached (store_unavailable), and in a few words why.'),
      },
    },
  },
];

export interface HealthOptions {
  /** The store's URL, to name its server in the log when it fails (never in the answer). */
  storeURL: string;
}

export function registerHealthRoutes(
  app: FastifyInstance,
  store: Store,
  revocations: RevocationMonitor | null,
  options: HealthOptions,
): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    try {
      await store.ping();
      // The revocation feed is reported, not required: while it is out of step, requests ask the store.
      return revocations
        ? { status: 'ready', store: store.kind, revocationFeed: revocations.feedState }
        : { status: 'ready', store: store.kind };
    } catch (error) {
      // The answer says why in a few words (a probe's log shows them); the log line also names the
      // server — host, port, database — which an answer anyone may fetch does not.
      const reason = storeFailureReason(error, options.storeURL);
      app.log.warn(
        { err: (error as Error).cause ?? error, reason },
        `readiness check failed: ${describeStoreFailure(options.storeURL, error)}`,
      );
      const why = reason === 'unknown' ? '' : `: ${STORE_FAILURE_LABELS[reason]}`;
      return reply.code(503).send({
        error: { code: 'store_unavailable', message: `the ${store.kind} store cannot be reached${why}` },
      });
    }
  });
}
