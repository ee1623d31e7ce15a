/**
 * Every metric `keycard serve` exposes on its management listener, as data: name, type, labels (each
 * with its closed set of values) and meaning. The registry is built from this table and
 * docs/operations.md's metrics table is checked against it (test/server/metrics.test.ts), so neither can
 * drift. No label ever takes a value from a request: no username, id, address or token — the values are
 * listed here, and a value outside its list is never recorded.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  name: string;
  type: MetricType;
  /** Each label's possible values; `*` means "the store kinds and operations" (STORE_OPERATIONS). */
  labels: Readonly<Record<string, readonly string[] | '*'>>;
  help: string;
  /** Histograms: bucket bounds, in seconds. */
  buckets?: readonly number[];
}

/** Store calls take from tens of microseconds (memory) to tens of milliseconds (a remote database). */
const STORE_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Feed propagation: milliseconds when healthy, seconds when SQLite polls or a node lags. */
const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const METRICS = {
  logins: {
    name: 'keycard_logins_total',
    type: 'counter',
    labels: { outcome: ['succeeded', 'invalid_credentials', 'account_blocked', 'throttled'] },
    help: 'Password logins by outcome; throttled ones were refused before any password was checked.',
  },
  refreshes: {
    name: 'keycard_refreshes_total',
    type: 'counter',
    labels: { outcome: ['succeeded', 'reuse_detected', 'invalid', 'throttled'] },
    help: 'Refresh-token exchanges by outcome; reuse_detected revoked the whole login.',
  },
  logouts: {
    name: 'keycard_logouts_total',
    type: 'counter',
    labels: {},
    help: 'Logins ended by their owner (logout).',
  },
  activeLogins: {
    name: 'keycard_active_logins',
    type: 'gauge',
    labels: {},
    help: 'Signed-in logins live in the whole store (the same number on every instance sharing it), counted at most every 30 s; no sample while the latest count failed.',
  },
  passwordChanges: {
    name: 'keycard_password_changes_total',
    type: 'counter',
    labels: { outcome: ['changed', 'invalid_current_password', 'throttled'] },
    help: 'Password changes by outcome: changed (by the user, an admin or the CLI), or a user change refused for a wrong current password or by throttling.',
  },
  throttled: {
    name: 'keycard_throttled_total',
    type: 'counter',
    labels: { action: ['login', 'refresh', 'password_change'], scope: ['address', 'account', 'login'] },
    help: 'Attempts refused by brute-force throttling, by action and by what was over its limit.',
  },
  rejected: {
    name: 'keycard_requests_rejected_total',
    type: 'counter',
    labels: { reason: ['cross_site', 'csrf_missing_token', 'csrf_invalid_token'] },
    help: 'Cookie-authenticated unsafe requests and logins refused by the cross-site or CSRF checks.',
  },
  revocationsWritten: {
    name: 'keycard_revocations_written_total',
    type: 'counter',
    labels: { kind: ['login', 'user'] },
    help: 'Revocation records this instance wrote to the store (jwt and hybrid: ended logins, user-wide cut-offs).',
  },
  feedLag: {
    name: 'keycard_revocation_feed_lag_seconds',
    type: 'histogram',
    labels: {},
    help: 'Hybrid: from a revocation being made (on any instance) to its arrival here on the feed.',
    buckets: LAG_BUCKETS,
  },
  feedReconnects: {
    name: 'keycard_revocation_feed_reconnects_total',
    type: 'counter',
    labels: {},
    help: 'Hybrid: times the revocation feed was lost and came back in step (resubscribed and reloaded).',
  },
  feedSynced: {
    name: 'keycard_revocation_feed_synced',
    type: 'gauge',
    labels: {},
    help: 'Hybrid: 1 while the revocation feed is in step (checks from memory), 0 while requests ask the store.',
  },
  storeDuration: {
    name: 'keycard_store_operation_duration_seconds',
    type: 'histogram',
    labels: { store: '*', capability: '*', operation: '*' },
    help: 'Store calls by store kind, capability and operation: latency, failed calls included.',
    buckets: STORE_BUCKETS,
  },
  storeErrors: {
    name: 'keycard_store_operation_errors_total',
    type: 'counter',
    labels: { store: '*', capability: '*', operation: '*' },
    help: 'Store calls that failed (the store unreachable, a driver error), by store, capability and operation.',
  },
} as const satisfies Record<string, MetricSpec>;

/**
 * How often `keycard_active_logins` may count the store's logins: a count is O(logins) (a SCAN on Redis),
 * so scrapes within this interval get the previous count (metrics/sampler.ts).
 */
export const ACTIVE_LOGINS_INTERVAL_MS = 30_000;

/** prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC, handles), prefixed too. */
export const DEFAULT_METRICS_PREFIX = 'keycard_';
