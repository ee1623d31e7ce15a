/**
 * A route of the auth API, framework-free: a method, a path, who may call it, its schema (what it reads and
 * answers: src/api/schema.ts) and a function from an `ApiRequest` to an `ApiReply`. `defineRoute` puts the
 * schema in front of the handler, so every host (keycard serve, keycard/fetch) validates the same way.
 */
import type { AuthContext, AuthorizeOptions, KeycardError } from 'keycard';
import { type Input, type RouteSchema, readInput } from './schema.js';

export interface ApiRequest {
  readonly method: string;
  /** The request's auth context, loaded and checked (origin, CSRF) by the host. */
  readonly auth: AuthContext;
  /** The parsed JSON or form body; undefined when there was none. */
  readonly body: unknown;
  /** True for an HTML form post: the answer is a redirect or a page rather than JSON. */
  readonly form: boolean;
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, unknown>>;
}

export type ApiReply =
  | { kind: 'json'; status: number; body: unknown; headers?: Record<string, string> }
  | { kind: 'html'; status: number; body: string; headers?: Record<string, string> }
  /** 303 See Other, after a form post. */
  | { kind: 'redirect'; location: string };

export interface ApiRoute {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** With `:name` segments for parameters. */
  readonly path: string;
  /** Who may call it (`requireAuth`'s options); absent: anyone. */
  readonly access?: AuthorizeOptions;
  /** What it reads and answers: validates the request, and describes the route in the OpenAPI document. */
  readonly schema: RouteSchema;
  handle(request: ApiRequest): Promise<ApiReply>;
  /**
   * The answer to a refusal on this route (body errors and thrown KeycardErrors alike), for routes that
   * answer errors in another shape than keycard's (the OAuth token endpoint). Absent: keycard's.
   */
  fail?(error: KeycardError): ApiReply;
}

export interface RouteDefinition<S extends RouteSchema> extends Omit<ApiRoute, 'handle' | 'schema'> {
  readonly schema: S;
  /** Called with the input checked against `schema` (a 400 naming the field was answered otherwise). */
  handle(request: ApiRequest, input: Input<S>): Promise<ApiReply>;
}

const NO_INPUT = { params: {}, query: {}, body: undefined };

/**
 * A route whose input is checked against its schema before `handle` runs — after authentication and
 * authorization, so an anonymous caller learns nothing from a 400. A route that reads no input (most
 * authenticated reads: /auth/me, /auth/verify) skips validation altogether.
 */
export function defineRoute<S extends RouteSchema>(definition: RouteDefinition<S>): ApiRoute {
  const { handle, schema } = definition;
  const reads = schema.params !== undefined || schema.query !== undefined || schema.body !== undefined;
  return {
    ...definition,
    handle: reads
      ? (request) => handle(request, readInput(schema, request))
      : (request) => handle(request, NO_INPUT as Input<S>),
  };
}
