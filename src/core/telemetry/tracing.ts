/**
 * OpenTelemetry spans, through `@opentelemetry/api` only: the app brings the SDK and its exporter.
 *
 * Cost: keycard asks once, when `createKeycard` runs, whether the app has registered a tracer provider.
 * Without one it makes no span at all — the store is not wrapped, a request carries no span, and the
 * per-request path is what it was without tracing (not even a no-op span is allocated). So an app
 * registers its provider before it creates its keycard, as OpenTelemetry's own set-up advice has it
 * (`node --import ./telemetry.js app.js`).
 *
 * What spans carry: the strategy, the route template, the outcome, the store operation — closed sets of
 * values. Never a token, a username, an id or an address (docs/operations.md lists every attribute).
 */
import {
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { StoreCall, StoreCallHook } from './store-calls.js';

export const TRACER_NAME = 'keycard';

/**
 * The tracer of the provider the app registered, or null when it registered none. The API's global
 * provider is a proxy that hands out no-op tracers until an SDK sets its delegate; that delegate is what
 * is asked for here, so "none registered" is told apart from "registered" without making a span.
 */
export function registeredTracer(): Tracer | null {
  const provider = trace.getTracerProvider() as ReturnType<typeof trace.getTracerProvider> & {
    getDelegateTracer?: (name: string) => Tracer | undefined;
  };
  if (typeof provider.getDelegateTracer === 'function')
    return provider.getDelegateTracer(TRACER_NAME) ?? null;
  return provider.getTracer(TRACER_NAME);
}

/** OpenTelemetry's `db.system` of each store keycard ships (none for the in-process memory store). */
const DB_SYSTEMS: Readonly<Record<string, string>> = {
  sqlite: 'sqlite',
  redis: 'redis',
  postgres: 'postgresql',
  mongodb: 'mongodb',
};

/** The store's span attributes: capability, operation and store, and `db.system` where one applies. */
function storeAttributes(call: StoreCall): Record<string, string> {
  const attributes: Record<string, string> = {
    'keycard.store': call.store,
    'keycard.store.capability': call.capability,
    'keycard.store.operation': call.operation,
  };
  const system = DB_SYSTEMS[call.store];
  if (system) attributes['db.system'] = system;
  return attributes;
}

/**
 * A span around a failed call carries the KeycardError's code (a closed set), and the error status when
 * the failure is the server's (`failed`: a store call that threw, a request that got a 5xx); never the
 * message, which for a driver's error may quote a query or an address.
 */
export function markFailed(span: Span, error: unknown, failed = true): void {
  const code = (error as { code?: unknown })?.code;
  const known = typeof code === 'string' && /^[a-z_]{1,40}$/.test(code);
  if (known) span.setAttribute('keycard.error_code', code);
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: known ? code : 'error' });
}

/**
 * One span per store call (`keycard.store <operation>`), a child of whatever span is active — the
 * request's, when the call is made for a request — and active itself while the call runs, so a driver's
 * own instrumentation nests under it.
 */
export function traceStoreCalls(tracer: Tracer): StoreCallHook {
  return (call, _args, run) =>
    tracer.startActiveSpan(
      `keycard.store ${call.operation}`,
      {
        kind: DB_SYSTEMS[call.store] ? SpanKind.CLIENT : SpanKind.INTERNAL,
        attributes: storeAttributes(call),
      },
      async (span) => {
        try {
          return await run();
        } catch (error) {
          markFailed(span, error, errorOutcome(error) === 'error');
          throw error;
        } finally {
          span.end();
        }
      },
    );
}

/** A request's span and the context that makes it the parent of what is done for the request. */
export interface RequestTrace {
  readonly span: Span;
  readonly context: Context;
}

/** Starts the span of one auth request, under the span active now (the app's HTTP server span, if any). */
export function startRequestTrace(
  tracer: Tracer,
  attributes: { strategy: string; method: string },
): RequestTrace {
  const span = tracer.startSpan('keycard.request', {
    kind: SpanKind.INTERNAL,
    attributes: {
      'keycard.strategy': attributes.strategy,
      'http.request.method': standardMethod(attributes.method),
    },
  });
  return { span, context: trace.setSpan(context.active(), span) };
}

/** Runs `fn` with the request's span active. */
export function withRequestTrace<T>(request: RequestTrace, fn: () => T): T {
  return context.with(request.context, fn);
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);

/** OpenTelemetry's HTTP conventions: a method outside the standard set is `_OTHER` (a bounded value). */
function standardMethod(method: string): string {
  return METHODS.has(method) ? method : '_OTHER';
}

/**
 * What became of one auth request, as its span's `keycard.outcome`: a closed set. Without a login,
 * logout or refresh, it is what loading the credential found (`authenticated`, `anonymous`, or `refused`
 * with `keycard.problem`); `rejected` is a refusal by the cross-site or CSRF checks, a malformed login,
 * and the like (with `keycard.error_code`); `error` a failure of the server's own (the store is down).
 */
export type RequestOutcome =
  | 'anonymous'
  | 'authenticated'
  | 'refused'
  | 'rejected'
  | 'login'
  | 'login_failed'
  | 'throttled'
  | 'logout'
  | 'refreshed'
  | 'refresh_failed'
  | 'refresh_reused'
  | 'error';

/** The outcome an error thrown for a request stands for. */
export function errorOutcome(error: unknown): RequestOutcome {
  const code = (error as { code?: unknown })?.code;
  if (code === 'too_many_requests') return 'throttled';
  if (code === 'refresh_token_reused') return 'refresh_reused';
  if (code === 'token_invalid') return 'refresh_failed';
  if (code === 'store_unavailable' || code === 'internal_error' || typeof code !== 'string') return 'error';
  return 'rejected';
}
