/**
 * The server's Prometheus metrics, on a registry of their own (never prom-client's global one, which an
 * app embedding the server may use for itself). Fed from outside the core: keycard's audit events, the
 * store instrumentation layer (`instrumentStore`), the revocation feed's observer, and the store's own
 * count of live logins, sampled (sampler.ts). prom-client is imported here only, and this module only when
 * metrics are on.
 */
import {
  type AuthEvent,
  type Clock,
  type FeedObserver,
  type FeedState,
  isKeycardError,
  type LoginStore,
  type RevocationRecord,
  type StoreCallHook,
} from 'keycard';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ACTIVE_LOGINS_INTERVAL_MS, DEFAULT_METRICS_PREFIX, METRICS, type MetricSpec } from './catalog.js';
import { createSampler, type Sampler } from './sampler.js';

export interface ServerMetrics {
  readonly registry: Registry;
  /** Counts what an audit event says happened. */
  observeEvent(event: AuthEvent): void;
  /** Times every store call, counts failed ones and the revocation records written. */
  readonly storeHook: StoreCallHook;
  /** The revocation feed's lag, state and reconnects (hybrid). */
  readonly feed: FeedObserver;
  /**
   * Feeds `keycard_active_logins` from the store's `countLogins`, at most once per `intervalMs` (default
   * 30 s) of `clock`, when a scrape asks; a failed count is passed to `onError` and leaves the gauge
   * without a sample until a later count succeeds. False, and the gauge never has a sample, when the store
   * has no `countLogins` (it is optional in the contract).
   */
  sampleActiveLogins(
    store: Pick<LoginStore, 'countLogins'>,
    options: { clock: Clock; intervalMs?: number; onError(error: unknown): void },
  ): boolean;
}

type Labels<S extends MetricSpec> = S['labels'] extends Record<infer K, unknown> ? K & string : never;

/** A store failure is the server's (unreachable, a driver error), not an answer such as `username_taken`. */
function storeFailure(error: unknown): boolean {
  return !isKeycardError(error) || error.code === 'store_unavailable' || error.code === 'internal_error';
}

export async function createServerMetrics(): Promise<ServerMetrics> {
  const client = await import('prom-client');
  const registry = new client.Registry();
  const options = <S extends MetricSpec>(spec: S) => ({
    name: spec.name,
    help: spec.help,
    labelNames: Object.keys(spec.labels) as Labels<S>[],
    registers: [registry],
  });
  const counter = <S extends MetricSpec>(spec: S): Counter<Labels<S>> => new client.Counter(options(spec));
  const gauge = <S extends MetricSpec>(spec: S): Gauge<Labels<S>> => new client.Gauge(options(spec));
  const histogram = <S extends MetricSpec>(spec: S): Histogram<Labels<S>> =>
    new client.Histogram({ ...options(spec), buckets: [...(spec.buckets ?? [])] });

  const logins = counter(METRICS.logins);
  const refreshes = counter(METRICS.refreshes);
  const logouts = counter(METRICS.logouts);
  const throttled = counter(METRICS.throttled);
  const passwordChanges = counter(METRICS.passwordChanges);
  const rejected = counter(METRICS.rejected);
  const revocationsWritten = counter(METRICS.revocationsWritten);
  const feedLag = histogram(METRICS.feedLag);
  const feedReconnects = counter(METRICS.feedReconnects);
  const feedSynced = gauge(METRICS.feedSynced);
  let activeLoginsSampler: Sampler | null = null;
  new client.Gauge({
    ...options(METRICS.activeLogins),
    // Asked by each scrape; the sampler decides whether the store is counted again.
    async collect() {
      const value = activeLoginsSampler ? await activeLoginsSampler.value() : null;
      if (value === null) this.remove();
      else this.set(value);
    },
  });
  const storeDuration = histogram(METRICS.storeDuration);
  const storeErrors = counter(METRICS.storeErrors);
  client.collectDefaultMetrics({ register: registry, prefix: DEFAULT_METRICS_PREFIX });

  // Counters with a closed label set start at zero, so a rate over them exists before the first event.
  for (const [metric, spec] of [
    [logins, METRICS.logins],
    [refreshes, METRICS.refreshes],
    [passwordChanges, METRICS.passwordChanges],
    [rejected, METRICS.rejected],
    [revocationsWritten, METRICS.revocationsWritten],
  ] as const) {
    const [label, values] = Object.entries(spec.labels)[0] as [string, readonly string[]];
    for (const value of values) (metric as Counter<string>).inc({ [label]: value }, 0);
  }
  logouts.inc(0);
  feedReconnects.inc(0);

  const countRevocations = (records: readonly RevocationRecord[]): void => {
    for (const record of records) revocationsWritten.inc({ kind: record.kind });
  };

  let wasSynced = false;
  return {
    registry,
    sampleActiveLogins(store, { clock, intervalMs = ACTIVE_LOGINS_INTERVAL_MS, onError }) {
      const countLogins = store.countLogins;
      if (typeof countLogins !== 'function') return false;
      activeLoginsSampler = createSampler((now) => countLogins.call(store, now), {
        clock,
        intervalMs,
        onError,
      });
      return true;
    },
    observeEvent(event) {
      switch (event.type) {
        case 'login_succeeded':
          logins.inc({ outcome: 'succeeded' });
          return;
        case 'login_failed':
          logins.inc({ outcome: event.reason });
          return;
        case 'logout':
          logouts.inc();
          return;
        case 'token_refreshed':
          refreshes.inc({ outcome: 'succeeded' });
          return;
        case 'refresh_token_reused':
          refreshes.inc({ outcome: 'reuse_detected' });
          return;
        case 'refresh_failed':
          refreshes.inc({ outcome: 'invalid' });
          return;
        case 'throttled':
          throttled.inc({ action: event.action, scope: event.scope });
          if (event.action === 'login') logins.inc({ outcome: 'throttled' });
          else if (event.action === 'refresh') refreshes.inc({ outcome: 'throttled' });
          else passwordChanges.inc({ outcome: 'throttled' });
          return;
        case 'password_changed':
          passwordChanges.inc({ outcome: 'changed' });
          return;
        case 'password_change_failed':
          passwordChanges.inc({ outcome: 'invalid_current_password' });
          return;
        case 'cross_site_rejected':
          rejected.inc({ reason: 'cross_site' });
          return;
        case 'csrf_rejected':
          rejected.inc({ reason: `csrf_${event.reason}` });
          return;
        default:
          return;
      }
    },
    async storeHook(call, args, run) {
      const labels = { store: call.store, capability: call.capability, operation: call.operation };
      const end = storeDuration.startTimer(labels);
      try {
        const result = await run();
        if (call.operation === 'addRevocation') countRevocations([args[0] as RevocationRecord]);
        else if (call.operation === 'addRevocations') countRevocations(args[0] as RevocationRecord[]);
        return result;
      } catch (error) {
        if (storeFailure(error)) storeErrors.inc(labels);
        throw error;
      } finally {
        end();
      }
    },
    feed: {
      revoked(_record, lagMs) {
        feedLag.observe(Math.max(0, lagMs) / 1000);
      },
      stateChanged(state: FeedState) {
        feedSynced.set(state === 'synced' ? 1 : 0);
        if (state !== 'synced') return;
        if (wasSynced) feedReconnects.inc();
        wasSynced = true;
      },
    },
  };
}
