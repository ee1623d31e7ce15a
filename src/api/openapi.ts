/**
 * The OpenAPI 3.1 document of what a host serves, generated from the route schemas that validate its
 * requests (src/api/schema.ts): the route table's routes, plus the host's other routes described in the
 * same terms (keycard serve's pages and health checks). `keycard serve` and `keycard/fetch` serve it at
 * `GET /auth/openapi.json`; docs/openapi.json is the one of `keycard serve`'s default configuration
 * (scripts/openapi-docs.ts).
 *
 * OpenAPI 3.1's schema objects are JSON Schema 2020-12, which TypeBox schemas already are: they are copied
 * as they are, less the `errorMessage` wording (no JSON Schema keyword), and a schema with an `$id` becomes
 * a named component.
 */
import type { TSchema } from '@sinclair/typebox';
import type { AuthorizeOptions, Keycard } from 'keycard';
import type { Answer, RouteSchema } from './schema.js';
import { ErrorBody, error } from './shapes.js';
import { KEYCARD_VERSION } from './version.js';

/** A route as the document describes it: the route table's `ApiRoute`s are ones. */
export interface DescribedRoute {
  readonly method: string;
  /** With `:name` segments for parameters. */
  readonly path: string;
  readonly schema: RouteSchema;
  /** Who may call it; absent: anyone. */
  readonly access?: AuthorizeOptions;
}

export interface OpenAPIOptions {
  /** The route table's routes: they get the answers every API route can give (400, 401, 403, 413, …). */
  api: readonly DescribedRoute[];
  /** The host's other routes, each describing all its answers. */
  other?: readonly DescribedRoute[];
}

// biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON
type JSONObject = Record<string, any>;

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const OPENAPI_PATH = '/auth/openapi.json';

/** `GET /.well-known/jwks.json`, served by both hosts when tokens are signed. */
export const JWKS_ROUTE: DescribedRoute = {
  method: 'GET',
  path: '/.well-known/jwks.json',
  schema: {
    summary: 'Public signing keys (JWKS)',
    description:
      'The public halves of the keys access tokens are signed with (RFC 7517), never private members. Cacheable for 5 minutes.',
    tags: ['tokens'],
    answers: {
      200: {
        description: 'The key set.',
        json: {
          type: 'object',
          required: ['keys'],
          properties: { keys: { type: 'array', items: { type: 'object', required: ['kty'] } } },
        } as unknown as TSchema,
      },
    },
  },
};

/** `GET /auth/openapi.json`: this document. */
export const OPENAPI_ROUTE: DescribedRoute = {
  method: 'GET',
  path: OPENAPI_PATH,
  schema: {
    summary: 'This API description',
    description: 'The OpenAPI 3.1 document of what this server answers.',
    tags: ['meta'],
    answers: {
      200: {
        description: 'The document.',
        json: { type: 'object', required: ['openapi', 'paths'] } as unknown as TSchema,
      },
    },
  },
};

/** Read on every request that loads a login (core/cookies/parse.ts). */
const COOKIE_LIMITS = 'a Cookie header over its limits (length, number of cookies)';

const CLIENT_BASIC = {
  type: 'http',
  scheme: 'basic',
  description:
    "An API client's client_id and client_secret (RFC 6749 §2.3.1); or both as form fields instead.",
};

/** The answers every route of the table can give besides its own, from what the route is. */
function commonAnswers(route: DescribedRoute, cookies: boolean): Record<number, Answer> {
  const { schema, method } = route;
  // A route with its own error shape (the token endpoint) maps keycard's refusals to its own statuses.
  const access = schema.errors ? undefined : route.access;
  const unsafe = UNSAFE.has(method);
  const reads = schema.params !== undefined || schema.query !== undefined || schema.body !== undefined;
  // Every route of the table reads the request's credential first, and with it the Cookie header (tokens in
  // headers: where a pre-login or refresh cookie may be), which is refused beyond its limits.
  const answers: Record<number, Answer> = {};
  answers[400] = error(
    reads || unsafe
      ? `Malformed input (invalid_request): \`field\` names the one at fault. Also a malformed body, or ${COOKIE_LIMITS}.`
      : `Malformed request (invalid_request): ${COOKIE_LIMITS}.`,
  );
  if (access) {
    answers[401] = error(
      'Not signed in, or the credential is expired, invalid or revoked (unauthenticated, token_expired, token_invalid, token_revoked).',
    );
  }
  const forbidden: string[] = [];
  if (unsafe && cookies && !schema.errors)
    forbidden.push(
      'a cross-site request or a missing or wrong CSRF token (cross_site_request, csrf_rejected)',
    );
  if (access?.roles) forbidden.push(`the user's role is not ${access.roles.join(' or ')} (forbidden)`);
  if (forbidden.length > 0) answers[403] = error(`Refused: ${forbidden.join('; or ')}.`);
  if (unsafe) {
    answers[413] = error('The body is larger than the limit (payload_too_large).');
    answers[415] = error('The body is neither JSON nor a urlencoded form (unsupported_media_type).');
  }
  answers[500] = error('Something went wrong (internal_error); the server log has the details.');
  answers[503] = error('The store cannot be reached (store_unavailable).');
  return answers;
}

/** `/auth/sessions/:id` → `/auth/sessions/{id}` */
export function openAPIPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * A TypeBox schema as plain JSON Schema: symbols and `errorMessage` dropped, and each `$id` schema moved
 * to `components` (replaced by a `$ref`).
 */
function toJSONSchema(schema: TSchema, components: JSONObject): JSONObject {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== 'object') return value;
    const out: JSONObject = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === 'errorMessage' || key === '$id') continue;
      out[key] = walk(item);
    }
    const id = (value as { $id?: unknown }).$id;
    if (typeof id === 'string') {
      components[id] ??= out;
      return { $ref: `#/components/schemas/${id}` };
    }
    return out;
  };
  return walk(schema) as JSONObject;
}

/** The security schemes of this keycard's strategy and transport, and the ones a signed-in route accepts. */
function security(keycard: Keycard): { schemes: JSONObject; signedIn: JSONObject[]; cookies: boolean } {
  const { options } = keycard;
  const cookieNote =
    'Over plain http on localhost during development the cookie has no __Host- prefix; behind a configured cookie domain, __Secure-.';
  if (options.strategy === 'session') {
    return {
      schemes: {
        sessionCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: `__Host-${options.cookie.name}`,
          description: `The session cookie login sets (an opaque token; the store keeps its SHA-256). ${cookieNote}`,
        },
      },
      signedIn: [{ sessionCookie: [] }],
      cookies: true,
    };
  }
  if (options.jwt?.transport === 'header') {
    return {
      schemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'The access token login and refresh return, as Authorization: Bearer.',
        },
      },
      signedIn: [{ bearer: [] }],
      cookies: false,
    };
  }
  return {
    schemes: {
      accessCookie: {
        type: 'apiKey',
        in: 'cookie',
        name: '__Host-keycard_access',
        description: `The access token (a JWT) login and refresh set. ${cookieNote}`,
      },
    },
    signedIn: [{ accessCookie: [] }],
    cookies: true,
  };
}

function content(answer: Answer, components: JSONObject): JSONObject | undefined {
  const out: JSONObject = {};
  if (answer.json) out['application/json'] = { schema: toJSONSchema(answer.json, components) };
  if (answer.media) out[answer.media] = { schema: { type: 'string' } };
  return Object.keys(out).length > 0 ? out : undefined;
}

function response(answer: Answer, components: JSONObject): JSONObject {
  const out: JSONObject = { description: answer.description };
  if (answer.headers) {
    out.headers = Object.fromEntries(
      Object.entries(answer.headers).map(([name, description]) => [
        name,
        { description, schema: { type: 'string' } },
      ]),
    );
  }
  const body = content(answer, components);
  if (body) out.content = body;
  return out;
}

function parameters(schema: RouteSchema, components: JSONObject): JSONObject[] {
  const out: JSONObject[] = [];
  for (const [where, object] of [
    ['path', schema.params],
    ['query', schema.query],
  ] as const) {
    if (!object) continue;
    const required = new Set(object.required ?? []);
    for (const [name, field] of Object.entries(object.properties)) {
      out.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        schema: toJSONSchema(field as TSchema, components),
      });
    }
  }
  return out;
}

function operationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return [method.toLowerCase(), ...words.map((word) => word[0]?.toUpperCase() + word.slice(1))].join('');
}

/** The OpenAPI 3.1 document of these routes, for this keycard's strategy and transport. */
export function buildOpenAPI(keycard: Keycard, options: OpenAPIOptions): JSONObject {
  const components: JSONObject = {};
  const auth = security(keycard);
  const paths: JSONObject = {};
  const describe = (route: DescribedRoute, api: boolean) => {
    const { schema } = route;
    const answers = api ? { ...commonAnswers(route, auth.cookies), ...schema.answers } : schema.answers;
    const html = api && schema.errors === undefined;
    const responses: JSONObject = {};
    for (const [status, answer] of Object.entries(answers).sort(([a], [b]) => Number(a) - Number(b))) {
      // The table's own shape for refusals (the token endpoint's OAuth errors) replaces keycard's.
      const shaped = schema.errors && answer.json === ErrorBody ? { ...answer, json: schema.errors } : answer;
      // A browser form post or page navigation gets keycard's refusals as an HTML error page.
      const page =
        html && Number(status) >= 400 && !shaped.media ? { ...shaped, media: 'text/html' } : shaped;
      responses[status] = response(page, components);
    }
    const operation: JSONObject = {
      operationId: operationId(route.method, route.path),
      summary: schema.summary,
      ...(schema.description ? { description: schema.description } : {}),
      tags: [...schema.tags],
    };
    const params = parameters(schema, components);
    if (api && auth.cookies && UNSAFE.has(route.method)) {
      params.push({
        name: 'X-CSRF-Token',
        in: 'header',
        required: false,
        description:
          'Required when a cookie authenticates the request (and for a login from a browser): the token from GET /auth/csrf or the login answer. An HTML form sends it as the _csrf field instead.',
        schema: { type: 'string' },
      });
    }
    if (params.length > 0) operation.parameters = params;
    if (schema.body) {
      const body = toJSONSchema(schema.body, components);
      operation.requestBody = {
        required: !schema.bodyOptional,
        content: {
          'application/json': { schema: body },
          'application/x-www-form-urlencoded': { schema: body },
        },
      };
    }
    operation.responses = responses;
    // A client authenticates with HTTP Basic or with client_id and client_secret in the body (RFC 6749 §2.3.1).
    if (schema.clientAuthentication) operation.security = [{ clientBasic: [] }, {}];
    else operation.security = route.access ? auth.signedIn : [];
    paths[openAPIPath(route.path)] ??= {};
    paths[openAPIPath(route.path)][route.method.toLowerCase()] = operation;
  };
  for (const route of options.api) describe(route, true);
  for (const route of options.other ?? []) describe(route, false);
  const all = [...options.api, ...(options.other ?? [])];
  return {
    openapi: '3.1.0',
    info: {
      title: 'keycard',
      version: KEYCARD_VERSION,
      description: `The HTTP API of keycard (strategy ${keycard.options.strategy}). Errors are JSON {"error": {"code", "message", "field"?}}, or an HTML error page for a browser form post or page. Any request may also get 414 (a path segment over 128 characters) or 431 (headers too large); a CORS preflight (OPTIONS) under /auth/ from an origin not trusted gets 403 cors_origin_refused.`,
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [
      { name: 'login', description: 'Sign in and out, tokens, who am I.' },
      { name: 'sessions', description: "The user's own logins and devices." },
      { name: 'account', description: "The user's own account: their password." },
      {
        name: 'mfa',
        description:
          'Second factors: authenticator apps (TOTP), passkeys, recovery codes, and step-up (docs/mfa.md).',
      },
      { name: 'admin', description: 'Role admin only.' },
      { name: 'clients', description: 'OAuth 2.0 client credentials for API clients.' },
      { name: 'tokens', description: 'For services that verify tokens.' },
      { name: 'pages', description: 'The HTML pages and their assets.' },
      { name: 'health', description: 'Liveness and readiness.' },
      { name: 'meta', description: 'This description, and the browser client.' },
    ],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        ...auth.schemes,
        ...(all.some((route) => route.schema.clientAuthentication) ? { clientBasic: CLIENT_BASIC } : {}),
      },
    },
  };
}
