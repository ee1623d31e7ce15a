/**
 * Small, generic helpers for the abuse suite (test/security): building and bending tokens, and checking
 * that a refused request changed nothing. Not a test file: the runner only picks up `*.test.ts`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { type Clock, importJWK, type JWTKey } from '../../src/index.js';
import type { CountingStore } from '../helpers/counting-store.js';
import { eventually } from '../helpers/eventually.js';
import { type Client, type Response, request } from '../helpers/http.js';
import { postgresSkipReason } from '../helpers/postgres-schemas.js';
import { deleteKeysWithPrefix } from '../helpers/redis-servers.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { POSTGRES_URL, REDIS_URL, redisSkipReason, uniqueName } from '../helpers/services.js';

/** The base64url alphabet (RFC 4648 §5), in index order: `BASE64URL[i]` encodes the 6 bits `i`. */
export const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** base64url of a JSON value (or of a string as is), unpadded. */
export const encodeSegment = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** The decoded header and payload of a compact JWS, and its three segments as sent. */
export function decodeJWT(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  segments: [string, string, string];
} {
  const segments = token.split('.') as [string, string, string];
  assert.equal(segments.length, 3, 'a compact JWS has three segments');
  const decode = (segment: string) => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  return { header: decode(segments[0]), payload: decode(segments[1]), segments };
}

/**
 * A compact JWS over exactly the given header and payload (objects are JSON-encoded, strings taken as
 * the segment's text), signed by `sign` over the ASCII signing input; with no `sign`, the signature is
 * empty.
 */
export function forgeJWT(header: unknown, payload: unknown, sign?: (input: Buffer) => Buffer): string {
  const input = `${encodeSegment(header)}.${encodeSegment(payload)}`;
  return `${input}.${sign ? sign(Buffer.from(input, 'latin1')).toString('base64url') : ''}`;
}

/** `value` with the character at `index` replaced by `char`. */
export const replaceAt = (value: string, index: number, char: string): string =>
  `${value.slice(0, index)}${char}${value.slice(index + 1)}`;

/** A base64url character other than `char` whose 6 bits differ in the high bits (so the bytes change). */
export function otherBase64urlChar(char: string): string {
  const index = BASE64URL.indexOf(char);
  return BASE64URL[(index + 32) % 64] as string;
}

/**
 * The final character of an unpadded base64url string with its unused low bits set differently: the
 * string decodes (leniently, as Buffer.from does) to the very same bytes, but is not the canonical
 * encoding. Undefined when the length leaves no unused bits.
 */
export function nonCanonicalTail(value: string): string | undefined {
  const unusedBits = { 2: 4, 3: 2 }[(value.length % 4) as 2 | 3];
  if (unusedBits === undefined) return undefined;
  const last = BASE64URL.indexOf(value.at(-1) as string);
  return replaceAt(value, value.length - 1, BASE64URL[last ^ 1] as string);
}

/** The newest signing key in the key file a server runs with, with its private part. */
export function serverSigningKey(server: TestServer): JWTKey {
  const file = JSON.parse(readFileSync(server.config.keysFile, 'utf8')) as {
    signingKeys: { kid: string; jwk: Record<string, unknown> }[];
  };
  const [entry] = file.signingKeys;
  assert.ok(entry, 'the key file has a signing key');
  return importJWK({ ...entry.jwk, kid: entry.kid } as Parameters<typeof importJWK>[0]);
}

/** Store methods that change state. Anything else (get, list, count, is, read, ping) only reads. */
const MUTATING = /^(create|touch|patch|delete|update|advance|add|increment|release|reset|save|finalize)/;

/** The state-changing store calls counted since the last reset, as `name×count`. */
export function storeWrites(counting: CountingStore): string[] {
  return [...counting.counts]
    .filter(([name]) => MUTATING.test(name))
    .map(([name, count]) => `${name}×${count}`);
}

/** The session-path reads counted since the last reset (background feeds and timers excluded). */
export function credentialReads(counting: CountingStore): number {
  return ['getLogin', 'isRevoked', 'getUserById', 'listUserLogins'].reduce(
    (total, name) => total + (counting.counts.get(name) ?? 0),
    0,
  );
}

/** Asserts a JSON error answer: this status and code, and none of `secrets` echoed anywhere in it. */
export function assertError(
  response: Response,
  status: number,
  code: string,
  label: string,
  secrets: readonly string[] = [],
): void {
  assert.equal(response.status, status, `${label}: ${response.status} ${response.text.slice(0, 300)}`);
  assert.equal(response.json?.error?.code, code, `${label}: ${response.text.slice(0, 300)}`);
  const everything = `${response.text}\n${JSON.stringify(response.headers)}`;
  for (const secret of secrets) {
    if (secret.length >= 16)
      assert.equal(everything.includes(secret), false, `${label}: echoed a credential`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Real servers per strategy, and what a browser (or an attacker's page) sends to them.

export type Strategy = 'session' | 'jwt' | 'hybrid';

/** Every strategy whose browser credential can travel in a cookie (jwt and hybrid: the cookie transport). */
export const COOKIE_STRATEGIES: readonly Strategy[] = ['session', 'jwt', 'hybrid'];

export type StoreKind = 'sqlite' | 'memory' | 'redis' | 'postgres';

export interface StrategyServer extends TestServer {
  strategy: Strategy;
  storeKind: StoreKind;
}

export interface StrategyServerOptions {
  /**
   * Default: SQLite in the server's temp directory (the hybrid feed polling every 20 ms). Redis gets a
   * private key prefix and PostgreSQL a private schema, both removed on close.
   */
  store?: StoreKind;
  /** More `keycard serve` flags; they override the strategy's. */
  flags?: Record<string, unknown>;
  clock?: Clock;
}

/**
 * A fresh `keycard serve` in `strategy`: jwt and hybrid with the cookie transport, so every strategy is
 * attacked the way a browser app uses it. A hybrid server is returned once its revocation feed is in step.
 * A Redis store gets a private key prefix, deleted on close.
 */
export async function startStrategyServer(
  strategy: Strategy,
  options: StrategyServerOptions = {},
): Promise<StrategyServer> {
  const storeKind = options.store ?? 'sqlite';
  let storeURL: string;
  let redisPrefix: string | undefined;
  let postgresSchema: string | undefined;
  if (storeKind === 'postgres') {
    postgresSchema = uniqueName('kc_security');
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('schema', postgresSchema);
    storeURL = url.toString();
  } else if (storeKind === 'redis') {
    redisPrefix = uniqueName('kcsecurity');
    const url = new URL(REDIS_URL);
    url.searchParams.set('prefix', redisPrefix);
    storeURL = url.toString();
  } else if (storeKind === 'memory') {
    storeURL = 'memory:';
  } else {
    storeURL = `sqlite:{dir}/keycard.db${strategy === 'hybrid' ? '?revocationPollIntervalMs=20' : ''}`;
  }
  const server = await startTestServer({
    storeURL,
    clock: options.clock,
    flags: { strategy, ...(strategy === 'session' ? {} : { transport: 'cookie' }), ...options.flags },
  });
  if (strategy === 'hybrid') {
    await eventually(
      async () => (await request(server.url, 'GET', '/readyz')).json?.revocationFeed === 'synced',
      'the revocation feed to be in step',
    );
  }
  const close = server.close;
  return {
    ...server,
    strategy,
    storeKind,
    async close() {
      const result = await close();
      if (redisPrefix) {
        const client = new Redis(REDIS_URL);
        await deleteKeysWithPrefix(client, redisPrefix);
        client.disconnect();
      }
      if (postgresSchema) {
        const admin = new pg.Client({ connectionString: POSTGRES_URL });
        await admin.connect();
        await admin.query(`DROP SCHEMA IF EXISTS "${postgresSchema}" CASCADE`);
        await admin.end();
      }
      return result;
    },
  };
}

/** The cookie that carries the credential: the session token, or the access JWT (jwt and hybrid). */
export function credentialCookie(strategy: Strategy, options: { secure?: boolean } = {}): string {
  const name = strategy === 'session' ? 'keycard_session' : 'keycard_access';
  return options.secure ? `__Host-${name}` : name;
}

/** Any of keycard's credential cookies, with or without a prefix (not the pre-login CSRF cookie). */
const CREDENTIAL_COOKIE = /^(__Host-|__Secure-)?keycard_(session|access|refresh)$/;

/** The Set-Cookie headers of `response` that hand out a credential: a non-empty value not being deleted. */
export function credentialSetCookies(response: Response): string[] {
  return response.setCookies.filter((header) => {
    const [pair = '', ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const deleting = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a));
    return CREDENTIAL_COOKIE.test(name) && value !== '' && !deleting;
  });
}

/** What a page of the server's own origin sends with fetch() (Fetch Metadata). */
export const SAME_ORIGIN: Readonly<Record<string, string>> = Object.freeze({
  'sec-fetch-site': 'same-origin',
});

/** A CSRF token for the client's login, or its pre-login cookie (set in the jar when missing). */
export async function fetchCSRFToken(client: Client, headers: Record<string, string> = {}): Promise<string> {
  const response = await client.get('/auth/csrf', { headers });
  assert.equal(response.status, 200, response.text);
  assert.match(response.json.token, /^[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{43}$/);
  return response.json.token as string;
}

/**
 * Signs in as a browser page would: a pre-login CSRF token from GET /auth/csrf, then the login POST with
 * `Sec-Fetch-Site: same-origin` and the token. Returns the client with its cookies and the login's answer.
 */
export async function browserSignIn(
  client: Client,
  username: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const token = await fetchCSRFToken(client, headers);
  const response = await client.post('/auth/login', {
    json: { username, password },
    headers: { ...SAME_ORIGIN, 'x-csrf-token': token, ...headers },
  });
  assert.equal(response.status, 200, `${username}: ${response.text}`);
  return response;
}

/** The answer to raw bytes sent on a fresh connection (for what node:http will not send: bare CR, repeated headers). */
export function rawHTTP(
  baseURL: string,
  text: string,
): Promise<{ status: number; head: string; body: string; setCookies: string[] }> {
  const url = new URL(baseURL);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.end(text, 'latin1'));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const answer = Buffer.concat(chunks).toString('latin1');
      const split = answer.indexOf('\r\n\r\n');
      const head = split === -1 ? answer : answer.slice(0, split);
      const setCookies = head
        .split('\r\n')
        .filter((line) => /^set-cookie:/i.test(line))
        .map((line) => line.slice(line.indexOf(':') + 1).trim());
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
        head,
        body: split === -1 ? '' : answer.slice(split + 4),
        setCookies,
      });
    });
  });
}

/**
 * Why each store's tests skip here: never for the in-process ones, and for Redis and PostgreSQL only
 * when the server is missing outside CI (under CI=true a missing service fails instead).
 */
export async function storeSkipReasons(): Promise<Record<StoreKind, string | undefined>> {
  return {
    memory: undefined,
    sqlite: undefined,
    redis: await redisSkipReason(),
    postgres: await postgresSkipReason(),
  };
}

/** A browser page's unsafe request: same-origin, with the CSRF token of its login (or pre-login cookie). */
export async function browserPost(client: Client, path: string, body: Record<string, string>, form = false) {
  const token = await fetchCSRFToken(client, SAME_ORIGIN);
  return client.post(path, {
    ...(form ? { form: { ...body, _csrf: token } } : { json: body }),
    headers: { ...SAME_ORIGIN, 'x-csrf-token': token },
  });
}
