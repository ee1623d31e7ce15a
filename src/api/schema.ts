/**
 * Route schemas: what each route of the auth API reads (path parameters, query, body) and answers (by
 * status), written once with TypeBox. The same schema validates the request (`readInput`) and describes it
 * in the OpenAPI document (src/api/openapi.ts), so the two cannot drift apart.
 *
 * Validation is TypeBox's interpretive `Value.Check`, never its compiler: `keycard/fetch` also runs where
 * code generation (`new Function`) is not allowed (Cloudflare Workers). A refusal is a 400
 * `invalid_request` naming the field, worded per field so a person can act on it.
 */
import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { KeycardError } from 'keycard';

/** One answer of a route: its status's meaning and what the body is. */
export interface Answer {
  readonly description: string;
  /** A JSON body of this shape. */
  readonly json?: TSchema;
  /** Another media type, e.g. `text/html` (a page) or `text/javascript`. */
  readonly media?: string;
  /** A 303 See Other to a page (form posts). */
  readonly redirect?: boolean;
  /** Response headers worth naming (`Retry-After`, `Location`, …): name → description. */
  readonly headers?: Readonly<Record<string, string>>;
}

export type Answers = Readonly<Record<number, Answer>>;

export interface RouteSchema {
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly params?: TObject;
  readonly query?: TObject;
  /** The body's fields, sent as JSON or as a urlencoded form (the pages' forms post the same fields). */
  readonly body?: TObject;
  /** The body may be left out altogether (it then reads as `{}`). */
  readonly bodyOptional?: boolean;
  /** An API client's credentials in HTTP Basic (or in the body): the token endpoint. */
  readonly clientAuthentication?: boolean;
  /** The JSON shape of its refusals, when not keycard's `{"error": {code, message}}` (the OAuth token endpoint). */
  readonly errors?: TSchema;
  readonly answers: Answers;
}

/**
 * A field's own wording for any refusal but "missing" (`errorMessage`; `{field}` stands for its name). The
 * OpenAPI document leaves it out: it is no JSON Schema keyword.
 */
interface Worded {
  errorMessage?: string;
}

/**
 * The key refused in every body and query: a key that can re-parent an object when later code merges it has
 * no legitimate use here. JSON bodies are refused at parsing (parseJSON); forms and queries here.
 */
const FORBIDDEN_KEY = '__proto__';

/** Documents the refusal of `__proto__` in a body or query (JSON Schema can say it; TypeBox does not check it). */
export const NO_PROTO = { propertyNames: { not: { const: FORBIDDEN_KEY } } } as const;

function refuse(message: string, field?: string): never {
  throw new KeycardError('invalid_request', message, field === undefined ? {} : { field });
}

/** "a, b and c" */
function listNames(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** What a body is expected to hold, for the messages about a missing or non-object body. */
function expected(schema: TObject): string {
  const names = Object.keys(schema.properties);
  return (schema.required ?? []).length === 0 ? `${listNames(names)} (optional)` : listNames(names);
}

const worded = (name: string, schema: Worded): string | undefined =>
  schema.errorMessage?.replaceAll('{field}', name);

/** The message for a field whose value the schema refuses; `value` is known to be present. */
function fieldMessage(name: string, schema: TSchema & Worded, value: unknown): string {
  const own = worded(name, schema);
  if (own !== undefined) return own;
  if (schema.type === 'string') {
    if (typeof value !== 'string') return `${name} must be a string`;
    if (value === '' && (schema.minLength ?? 0) > 0) return `${name} is required`;
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      return `${name} must be at most ${schema.maxLength} characters`;
    }
  }
  return `${name} is not valid`;
}

/**
 * `value` checked against an object schema; throws 400 naming the first field at fault, in the schema's
 * order. The whole object is checked first, so a valid request costs one `Value.Check`.
 */
export function checkFields<T extends TObject>(schema: T, value: object): Static<T> {
  if (Object.hasOwn(value, FORBIDDEN_KEY)) refuse(`the request has a forbidden key (${FORBIDDEN_KEY})`);
  if (Value.Check(schema, value)) return value as Static<T>;
  const required = new Set(schema.required ?? []);
  const fields = value as Record<string, unknown>;
  for (const [name, field] of Object.entries(schema.properties)) {
    const present = Object.hasOwn(fields, name) && fields[name] !== undefined;
    if (!present) {
      if (required.has(name)) refuse(`${name} is required`, name);
      continue;
    }
    if (!Value.Check(field, fields[name])) refuse(fieldMessage(name, field, fields[name]), name);
  }
  // Every field passed on its own: the object as a whole (e.g. an added constraint) did not.
  return refuse('the request is not valid');
}

/** The body as an object of the schema's fields; missing or not an object → 400 saying what to send. */
export function checkBody<T extends TObject>(schema: T, body: unknown, optional = false): Static<T> {
  if (body === undefined || body === null) {
    if (optional && body === undefined) return checkFields(schema, {});
    refuse(`send a JSON or form body with ${expected(schema)}`);
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    refuse(`the body must be an object with ${expected(schema)}`);
  }
  return checkFields(schema, body);
}

/** What a route's handler gets: the request's parameters, query and body, each checked by its schema. */
export interface Input<S extends RouteSchema> {
  params: S['params'] extends TObject ? Static<S['params']> : Record<string, never>;
  query: S['query'] extends TObject ? Static<S['query']> : Record<string, never>;
  body: S['body'] extends TObject ? Static<S['body']> : undefined;
}

/** The request's input, checked: path parameters first, then the query, then the body. */
export function readInput<S extends RouteSchema>(
  schema: S,
  request: { params: object; query: object; body: unknown },
): Input<S> {
  return {
    params: schema.params ? checkFields(schema.params, request.params) : {},
    query: schema.query ? checkFields(schema.query, request.query) : {},
    body: schema.body ? checkBody(schema.body, request.body, schema.bodyOptional) : undefined,
  } as Input<S>;
}

// Fields used by several routes.

/** Page sizes of the listing routes: `limit` defaults to this and may be at most MAX_PAGE_SIZE. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** Longest page cursor accepted (a username or a client id, as a previous page returned it). */
const MAX_CURSOR_LENGTH = 256;

/** `?limit=`: a whole number from 1 to MAX_PAGE_SIZE, as query text (leading zeros allowed, 4 digits at most). */
export const PageLimit = Type.String({
  pattern: `^0{0,3}(?:[1-9][0-9]{0,2}|${MAX_PAGE_SIZE})$`,
  maxLength: 4,
  description: `Page size, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).`,
  errorMessage: `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`,
});

function cursor(name: string) {
  return Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: MAX_CURSOR_LENGTH,
      description: 'The `next` value of the previous page.',
      errorMessage: `${name} must be the value a previous page returned`,
    }),
  );
}

/** The query of a listing route whose pages follow `?cursor=` (the user's own logins). */
export const CursorPageQuery = Type.Object(
  { limit: Type.Optional(PageLimit), cursor: cursor('cursor') },
  NO_PROTO,
);

/** The query of a listing route whose pages follow `?after=` (users and clients, by name and id). */
export const AfterPageQuery = Type.Object(
  { limit: Type.Optional(PageLimit), after: cursor('after') },
  NO_PROTO,
);

/**
 * The query of the admin's user list: `?after=` pages, and `q`, a username prefix (normalized as usernames
 * are, so `Al` finds `alice`).
 */
export const UserSearchQuery = Type.Object(
  {
    limit: Type.Optional(PageLimit),
    after: cursor('after'),
    q: Type.Optional(
      Type.String({
        maxLength: MAX_CURSOR_LENGTH,
        description: 'Only usernames that begin with this (case and width as usernames are normalized).',
        errorMessage: `q must be at most ${MAX_CURSOR_LENGTH} characters`,
      }),
    ),
  },
  NO_PROTO,
);

/** An ISO 8601 time in a query (`2026-12-03T10:00:00Z`). */
function isoTime(name: string) {
  return Type.Optional(
    Type.String({
      maxLength: 40,
      pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2})$',
      description: 'An ISO 8601 time with its offset, e.g. 2026-12-03T10:00:00Z.',
      errorMessage: `${name} must be an ISO 8601 time such as 2026-12-03T10:00:00Z`,
    }),
  );
}

/**
 * The admin's audit query: pages by `before` (the last id of the previous page), filtered by user, types
 * (comma-separated) and time. Checked again, and turned into a store range, by core's `checkAuditQuery`.
 */
export const AuditPageQuery = Type.Object(
  {
    limit: Type.Optional(PageLimit),
    before: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{28}$',
        description: 'The `next` value of the previous page.',
        errorMessage: 'before must be the value a previous page returned',
      }),
    ),
    user: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: "Only records about this user (a user's id).",
        errorMessage: 'user must be a user id',
      }),
    ),
    type: Type.Optional(
      Type.String({
        pattern: '^[a-z][a-z0-9_]{0,63}(,[a-z][a-z0-9_]{0,63}){0,49}$',
        maxLength: 3250,
        description: 'Only these event types, comma-separated (at most 50).',
        errorMessage: 'type must be event types separated by commas, such as login_failed,user_deleted',
      }),
    ),
    since: isoTime('since'),
    until: isoTime('until'),
  },
  NO_PROTO,
);

/** The page size of a checked page query. */
export function pageLimit(query: { limit?: string }): number {
  return query.limit === undefined ? DEFAULT_PAGE_SIZE : Number(query.limit);
}

/** One of our ids (base64url), so garbage never reaches a store. */
export const Id = Type.String({
  pattern: '^[A-Za-z0-9_-]{16,64}$',
  description: 'An id keycard issued (16 to 64 base64url characters).',
  errorMessage: 'id is not a valid id',
});

export const IdParams = Type.Object({ id: Id });

/** A yes/no field: a JSON boolean, or what an HTML form sends (`on` for a ticked checkbox, `true`, `false`). */
export const FormBoolean = Type.Union(
  [Type.Boolean(), Type.Literal('true'), Type.Literal('false'), Type.Literal('on')],
  { errorMessage: '{field} must be true or false' },
);

/** The value of a checked FormBoolean field. */
export function formBoolean(value: boolean | 'true' | 'false' | 'on' | undefined): boolean | undefined {
  return value === undefined ? undefined : value === true || value === 'true' || value === 'on';
}
