/** Liveness and readiness. Registered outside keycard's hooks, so they never read a session. */
import type { FastifyInstance } from 'fastify';
import type { RevocationMonitor, Store } from 'keycard';
import { describeStoreFailure, STORE_FAILURE_LABELS, storeFailureReason } from 'keycard/stores';

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
