/** Liveness and readiness. Registered outside keycard's hooks, so they never read a session. */
import type { FastifyInstance } from 'fastify';
import type { RevocationMonitor, Store } from 'keycard';

export function registerHealthRoutes(
  app: FastifyInstance,
  store: Store,
  revocations: RevocationMonitor | null,
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
      app.log.warn({ err: (error as Error).cause ?? error }, 'readiness check failed: store unavailable');
      return reply
        .code(503)
        .send({ error: { code: 'store_unavailable', message: `the ${store.kind} store cannot be reached` } });
    }
  });
}
