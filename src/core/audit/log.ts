/**
 * The audit log as keycard runs it: every emitted event appended to an `AuditStore` (the main store by
 * default), off the response path — `record` starts the append and returns; the request never waits for
 * it, and a failed append is reported to `onError`, never to the client — and records older than the
 * retention pruned once at start and then hourly, on an unref'd timer that `close` stops (unless
 * `prune: false`).
 */
import type { Clock } from '../clock.js';
import { type Duration, parseDuration } from '../duration.js';
import { configurationError } from '../errors.js';
import type { AuthEvent } from '../events.js';
import type { AuditQuery, AuditRecord, AuditStore } from '../store.js';
import { toAuditRecord, usernameDigest } from './record.js';

export interface AuditOptions {
  /** Where records go; default the keycard's own store. */
  store?: AuditStore;
  /** How long a record is kept; default `'90d'`, at least `'1h'`. */
  retention?: Duration;
  /**
   * A secret (≥ 32 bytes) for the keyed hash of typed usernames (`login_failed`, `throttled`). Default:
   * `jwt.refreshSecrets[0]`, else `csrf.secrets[0]`, when given; with none, SHA-256 (docs/accounts.md).
   */
  secret?: Buffer;
  /**
   * Prune in this process: once at start, then hourly (default true). False for a short-lived process
   * (the CLI) that leaves it to the long-running one; `keycard.audit.prune()` still works.
   */
  prune?: boolean;
}

/** What `keycard.audit` offers: the reader for the admin API, and the log's upkeep. */
export interface AuditLog {
  readonly retentionMs: number;
  /** Starts appending the event's record; never throws, never waits. */
  record(event: AuthEvent): void;
  /** A page of the log, newest first (`AuditStore.listAudit`; a bad query is `invalid_request`). */
  list(query: AuditQuery): Promise<AuditRecord[]>;
  /** Deletes records older than the retention now; resolves to how many. One prune at a time. */
  prune(): Promise<number>;
  /** Resolves once every append started so far has finished (succeeded or been reported). */
  flush(): Promise<void>;
  /** Stops the pruning timer and waits for the appends in flight. */
  close(): Promise<void>;
}

export const PRUNE_INTERVAL_MS = 3_600_000;
/**
 * Appends waiting on a slow store at once: beyond this, records are dropped (and reported) rather than
 * held in memory without bound.
 */
const MAX_IN_FLIGHT = 10_000;

interface AuditDependencies {
  store: AuditStore;
  clock: Clock;
  onError: (error: unknown) => void;
  /** Candidates for the username hash's secret, first given first. */
  secrets: readonly (Buffer | undefined)[];
}

function hasAuditCapability(store: unknown): store is AuditStore {
  const candidate = store as Partial<AuditStore> | null;
  return (
    typeof candidate?.appendAudit === 'function' &&
    typeof candidate.listAudit === 'function' &&
    typeof candidate.pruneAudit === 'function'
  );
}

/** The audit log for `createKeycard`'s `audit` option: null when it is `false`. */
/**
 * Events the log does not keep. `token_refreshed` is routine: a login refreshes every few minutes for its
 * whole life, and a record each would make the log — and a login's footprint in the store — grow with use
 * rather than with anything worth reading (a login holds one record however often it refreshes). What
 * matters about refreshes is kept: reuse (`refresh_token_reused`), failures (`refresh_failed`) and
 * throttling.
 */
const UNRECORDED: ReadonlySet<AuthEvent['type']> = new Set(['token_refreshed']);

export function createAuditLog(
  input: AuditOptions | false | undefined,
  dependencies: AuditDependencies,
): AuditLog | null {
  if (input === false) return null;
  if (input !== undefined && (typeof input !== 'object' || input === null)) {
    throw configurationError("audit must be false or an object such as { retention: '90d' }");
  }
  const store = input?.store ?? dependencies.store;
  if (!hasAuditCapability(store)) {
    throw configurationError(
      'the store has no audit log (appendAudit, listAudit, pruneAudit): give audit.store, or audit: false',
    );
  }
  const retentionMs = parseDuration(input?.retention ?? '90d', 'audit.retention') * 1000;
  if (retentionMs < PRUNE_INTERVAL_MS) throw configurationError('audit.retention must be at least 1h');
  const secret = input?.secret ?? dependencies.secrets.find((candidate) => candidate !== undefined) ?? null;
  if (secret !== null && (!Buffer.isBuffer(secret) || secret.length < 32)) {
    throw configurationError('audit.secret must be a secret of at least 32 bytes');
  }
  const digest = usernameDigest(secret);
  const { clock } = dependencies;
  // The error hook is the application's: if it throws, nothing may reject unobserved.
  const onError = (error: unknown): void => {
    try {
      dependencies.onError(error);
    } catch {}
  };
  const inFlight = new Set<Promise<void>>();
  let dropping = false;
  let pruning: Promise<number> | null = null;

  const prune = (): Promise<number> => {
    pruning ??= store.pruneAudit(clock.now() - retentionMs).finally(() => {
      pruning = null;
    });
    return pruning;
  };
  const pruneInBackground = (): void => {
    prune().catch(onError);
  };
  let timer: NodeJS.Timeout | undefined;
  if (input?.prune ?? true) {
    timer = setInterval(pruneInBackground, PRUNE_INTERVAL_MS);
    timer.unref();
    pruneInBackground();
  }

  const flush = async (): Promise<void> => {
    while (inFlight.size > 0) await Promise.all(inFlight);
  };

  return {
    retentionMs,
    record(event) {
      if (UNRECORDED.has(event.type)) return;
      if (inFlight.size >= MAX_IN_FLIGHT) {
        if (!dropping) onError(new Error(`audit log: ${MAX_IN_FLIGHT} appends in flight; dropping records`));
        dropping = true;
        return;
      }
      dropping = false;
      let append: Promise<void>;
      try {
        append = store.appendAudit(toAuditRecord(event, clock.now(), digest)).catch(onError);
      } catch (error) {
        // A store that throws instead of rejecting must not fail the request either.
        onError(error);
        return;
      }
      inFlight.add(append);
      append.finally(() => inFlight.delete(append));
    },
    list: (query) => store.listAudit(query),
    prune,
    flush,
    async close() {
      clearInterval(timer);
      await flush();
      await pruning?.catch(() => {});
    },
  };
}
