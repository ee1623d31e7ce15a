/**
 * keycard token inspect: decodes a token, verifies it with the server's key file and configuration, and
 * explains every header field, every claim and the verdict in plain words.
 *
 * Verification is core's `verifyJWT` — the very check the server runs — never a second verifier. The
 * decoding below only feeds the explanation (and says "unverified" until verifyJWT has spoken). Nothing
 * printed ever contains the token, its signature or any key material.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  ACCESS_TOKEN_TYPE,
  CLIENT_TOKEN_TYPE,
  type JWTHeader,
  type KeySet,
  keySetResolver,
  verifyJWT,
} from 'keycard';
import {
  buildKeySet,
  type KeyFile,
  loadServerConfig,
  parseKeyFile,
  RETIRED_KEY_LIFETIME_MS,
} from 'keycard/server';
import { type Parsed, stringFlag } from '../args.js';
import { runCommand } from '../command.js';
import type { CommandTable } from '../help.js';
import { type CLIContext, EXIT_FAILURE, EXIT_OK, print, UsageError } from '../io.js';

export const TOKEN_COMMANDS: CommandTable = {
  name: 'token',
  subcommands: [
    {
      name: 'token inspect',
      args: ['<token|->'],
      summary: 'decode and verify a JWT with the key file, and explain why it fails',
      description: `Decodes an access token (a user's or an API client's), verifies it against the server's signing keys,
issuer and audience, and explains each claim and the verdict in plain words.

  <token>   the token itself. A token typed on the command line is stored in your shell history and
            visible to other users in the process list: prefer '-'
  -         read the token from stdin, e.g.  pbpaste | keycard token inspect -

Exit status: 0 valid; 1 a token that fails verification (the reason is printed); 2 a usage mistake or
input that is not a JWT at all. The store is not consulted: a token of a revoked login shows as valid
until it expires, as it does for any service that verifies without the store.`,
      flags: {
        keys: {
          type: 'string',
          value: 'FILE',
          help: 'the key file (KEYCARD_KEYS_FILE; default ./keycard.keys.json)',
        },
        issuer: {
          type: 'string',
          value: 'ISS',
          help: "expected iss (KEYCARD_ISSUER, the config file, or 'keycard')",
        },
        audience: {
          type: 'string',
          value: 'AUD',
          help: "expected aud (KEYCARD_AUDIENCE, the config file, or 'keycard')",
        },
        config: {
          type: 'string',
          value: 'FILE',
          help: 'JSON config file, as for keycard serve (KEYCARD_CONFIG)',
        },
        json: { type: 'boolean', help: 'machine-readable output' },
      },
    },
  ],
};

/** Same limits as the server's defaults (jwt.leeway, jwt.maxTokenBytes). */
const LEEWAY_SECONDS = 10;
const MAX_TOKEN_BYTES = 8192;
const MAX_STDIN_BYTES = 64 * 1024;

/** What a failure's sentence may quote: the decoded (unverified) token and what was expected. */
interface Context {
  header: JWTHeader;
  claims: Record<string, unknown> | null;
  issuer: string;
  audience: string;
  keyAlg: string | undefined;
  segment: string | undefined;
  now: number;
}

/** Failures of the JWS layer: the claims were not vouched for by any signature. */
const UNSIGNED_REASONS = new Set([
  'too_large',
  'malformed',
  'malformed_header',
  'alg_none',
  'crit',
  'b64',
  'unknown_key',
  'alg_mismatch',
  'signature',
]);

/** One plain sentence per failure reason of verifyJWT. */
const REASONS: Record<string, (c: Context) => string> = {
  too_large: () => `the token is longer than ${MAX_TOKEN_BYTES} bytes, so it is refused before decoding`,
  malformed: (c) =>
    c.segment
      ? `the ${c.segment} segment is not canonical base64url (a character was changed or added)`
      : 'the token does not have three non-empty segments separated by dots',
  malformed_header: () => 'the header is not canonical base64url of a JSON object with an "alg" field',
  alg_none: () => 'the header says alg "none" (an unsigned token); unsigned tokens are never accepted',
  crit: () => 'the header lists "crit" extensions, which keycard does not understand, so it refuses them',
  b64: () => 'the header asks for an unencoded payload (RFC 7797 "b64"), which keycard does not accept',
  unknown_key: (c) =>
    typeof c.header.kid === 'string'
      ? `no key with kid '${clean(c.header.kid)}' is in the key file: the token was signed elsewhere, or with a key that has since been dropped`
      : 'the header names no key (no kid) and the key file has more than one key',
  alg_mismatch: (c) =>
    `algorithm not allowed: the header says ${clean(c.header.alg)} but the key it names is a ${c.keyAlg} key; the key fixes the algorithm, never the token`,
  signature: () =>
    'bad signature: the header or claims were changed after signing, or it was signed by a different key',
  typ: (c) =>
    `the type (typ) is ${c.header.typ === undefined ? 'missing' : `'${clean(c.header.typ)}'`}; keycard tokens are typed ${ACCESS_TOKEN_TYPE} (users) or ${CLIENT_TOKEN_TYPE} (API clients)`,
  malformed_payload: () => 'the payload is not a JSON object',
  exp_missing: () => 'there is no expiry (exp) claim; a token that never expires is not accepted',
  nbf_type: () => 'nbf (not before) is not a number of seconds',
  iat_type: () => 'iat (issued at) is not a number of seconds',
  nbf: (c) =>
    `it is not valid yet: it ${relative(Number(c.claims?.nbf), c.now, 'became valid', 'becomes valid')}`,
  iat_future: (c) =>
    `it claims to be issued in the future (${relative(Number(c.claims?.iat), c.now, 'issued', 'issued')})`,
  iss: (c) => `wrong issuer: the token says ${show(c.claims?.iss)}, this server expects '${clean(c.issuer)}'`,
  aud: (c) =>
    `wrong audience: the token is for ${show(c.claims?.aud)}, this server expects '${clean(c.audience)}'`,
  sub_type: () => 'sub (subject) is not a string',
  exp: (c) =>
    `it ${relative(Number(c.claims?.exp), c.now)}; its signature and other claims are fine, so it was genuine`,
};

/** Control characters escaped, so a hostile claim cannot drive the terminal; long values cut. */
function clean(value: unknown): string {
  const text = String(value).replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** A value in a sentence: strings quoted, anything else as JSON. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  return typeof value === 'string' ? `'${clean(value)}'` : clean(JSON.stringify(value));
}

/** A value in a table column: strings bare, anything else as JSON. */
function plain(value: unknown): string {
  return typeof value === 'string' ? clean(value) : clean(JSON.stringify(value));
}

function span(seconds: number): string {
  const s = Math.abs(Math.round(seconds));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** "expires in 12 min" / "expired 3 min ago"; other verbs for iat and nbf. */
function relative(time: number, now: number, past = 'expired', future = 'expires'): string {
  return time <= now ? `${past} ${span(now - time)} ago` : `${future} in ${span(time - now)}`;
}

function isoTime(value: unknown): string | undefined {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < 8.64e12
    ? new Date(value * 1000).toISOString()
    : undefined;
}

/** Decodes one segment as a JSON object, for display only; null when it is not one. */
function decodeObject(segment: string): Record<string, unknown> | null {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

const normalizeTyp = (typ: unknown): string =>
  String(typ ?? '')
    .toLowerCase()
    .replace(/^application\//, '');

const isCanonical = (segment: string) =>
  /^[A-Za-z0-9_-]*$/.test(segment) && Buffer.from(segment, 'base64url').toString('base64url') === segment;

async function readToken(context: CLIContext, argument: string): Promise<string> {
  if (argument !== '-') return argument.trim();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of context.stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_STDIN_BYTES) throw new UsageError('token inspect: the input on stdin is over 64 KiB');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** What the key file says about the key a kid names: its algorithm and status, in words. */
function describeKey(file: KeyFile, keys: KeySet, kid: string, now: number): string {
  const entry = file.signingKeys.find((candidate) => candidate.kid === kid);
  const key = keys.get(kid);
  if (!entry) return 'not in the key file';
  if (!key) return `${entry.alg} key in the key file, but retired too long ago to verify anything`;
  if (key.signKey) return `${entry.alg} key in the key file, the current signing key`;
  if (entry.activatesAt && Date.parse(entry.activatesAt) > now)
    return `${entry.alg} key in the key file, published, signs from ${entry.activatesAt}`;
  const until = entry.retiredAt
    ? ` until ${new Date(Date.parse(entry.retiredAt) + RETIRED_KEY_LIFETIME_MS).toISOString()}`
    : '';
  return `${entry.alg} key in the key file, verify-only${until}`;
}

const CLAIM_NOTES: Record<string, string> = {
  iss: 'issuer',
  aud: 'audience',
  username: "the user's name when the token was issued",
  role: "the user's role when the token was issued",
  sid: 'the login it belongs to; revoking that login ends it',
  jti: "this token's unique id",
  scope: 'what the API client may do',
  client_id: 'the API client',
};

const TYPE_NOTES: Record<string, string> = {
  [ACCESS_TOKEN_TYPE]: "a user's access token",
  [CLIENT_TOKEN_TYPE]: "an API client's token",
};

/** How iat, nbf and exp read when past and when future. */
const TIME_VERBS: Record<string, [string, string]> = {
  iat: ['issued', 'issued'],
  nbf: ['became valid', 'becomes valid'],
  exp: ['expired', 'expires'],
};

export function tokenCommand(context: CLIContext, args: string[]): Promise<number> {
  return runCommand(context, TOKEN_COMMANDS, { inspect: inspectCommand }, args);
}

async function inspectCommand(context: CLIContext, parsed: Parsed): Promise<number> {
  const token = await readToken(context, parsed.positionals[0] as string);
  const segments = token.split('.');
  const header = segments.length === 3 ? decodeObject(segments[0] as string) : null;
  if (header === null) {
    throw new UsageError(
      'token inspect: this is not a JWT (expected three base64url segments separated by dots, the first a JSON header)',
    );
  }

  const config = loadServerConfig({
    flags: {
      keys: stringFlag(parsed, 'keys'),
      issuer: stringFlag(parsed, 'issuer'),
      audience: stringFlag(parsed, 'audience'),
    },
    env: context.env,
    file: stringFlag(parsed, 'config'),
  });
  const path = config.keysFile;
  if (!existsSync(path)) {
    throw new Error(
      `token inspect: the key file ${path} does not exist (give the server's with --keys or KEYCARD_KEYS_FILE)`,
    );
  }
  const file = parseKeyFile(path, readFileSync(path, 'utf8'));
  const report = inspect(token, header, file, {
    path,
    issuer: config.issuer ?? 'keycard',
    audience: config.audience ?? 'keycard',
    nowMs: Date.now(),
  });
  if (parsed.values.json) print(context.stdout, JSON.stringify(report, null, 2));
  else for (const line of format(report)) print(context.stdout, line);
  return report.valid ? EXIT_OK : EXIT_FAILURE;
}

interface Report {
  valid: boolean;
  code: string | null;
  reason: string | null;
  message: string;
  /** Whether a valid signature vouches for the claims (true also for expired or wrong-audience tokens). */
  signatureVerified: boolean;
  header: Record<string, unknown>;
  claims: Record<string, unknown> | null;
  /** iat, nbf and exp as ISO times, with "expires in 12 min"-style notes. */
  times: Record<string, { iso: string; relative: string }>;
  key: { kid: string; status: string; file: string } | null;
  expected: { issuer: string; audience: string; typ: string[] };
}

/** Verifies with core's verifyJWT and gathers what the explanation needs. */
function inspect(
  token: string,
  header: Record<string, unknown>,
  file: KeyFile,
  expected: { path: string; issuer: string; audience: string; nowMs: number },
): Report {
  const { issuer, audience, nowMs } = expected;
  const now = nowMs / 1000;
  const keys = buildKeySet(expected.path, file, nowMs);
  const typ = normalizeTyp(header.typ);
  const resolve = keySetResolver(keys);
  const result = verifyJWT(token, resolve, {
    now,
    typ: typ === CLIENT_TOKEN_TYPE ? CLIENT_TOKEN_TYPE : ACCESS_TOKEN_TYPE,
    issuer,
    audience,
    leewaySeconds: LEEWAY_SECONDS,
    maxTokenBytes: MAX_TOKEN_BYTES,
  });
  const segments = token.split('.');
  const claims = token.length > MAX_TOKEN_BYTES ? null : decodeObject(segments[1] as string);
  const times: Report['times'] = {};
  for (const [name, verbs] of Object.entries(TIME_VERBS)) {
    const iso = isoTime(claims?.[name]);
    if (iso !== undefined) times[name] = { iso, relative: relative(claims?.[name] as number, now, ...verbs) };
  }
  const kid = header.kid;
  const report = {
    header,
    claims,
    times,
    key:
      typeof kid === 'string'
        ? { kid, status: describeKey(file, keys, kid, nowMs), file: expected.path }
        : null,
    expected: { issuer, audience, typ: [ACCESS_TOKEN_TYPE, CLIENT_TOKEN_TYPE] },
  };
  if (result.ok) {
    return {
      valid: true,
      code: null,
      reason: null,
      message: `valid: signed by key ${clean(result.key.kid)}; type, issuer, audience and times check out`,
      signatureVerified: true,
      ...report,
    };
  }
  const explain = REASONS[result.reason] ?? (() => result.reason);
  return {
    valid: false,
    code: result.code,
    reason: result.reason,
    message: explain({
      header: header as JWTHeader,
      claims,
      issuer,
      audience,
      keyAlg: resolve(header as JWTHeader)?.alg,
      segment: (['payload', 'signature'] as const).find(
        (_, index) => !isCanonical(segments[index + 1] ?? ''),
      ),
      now,
    }),
    signatureVerified: !UNSIGNED_REASONS.has(result.reason),
    ...report,
  };
}

/** The report as an aligned table: header, claims (each with a note), verdict. */
function format(report: Report): string[] {
  const { header, claims, expected } = report;
  const typ = normalizeTyp(header.typ);
  const lines: string[] = [];
  const row = (name: string, value: string, note?: string) =>
    lines.push(`  ${clean(name).padEnd(9)} ${value}${note ? `  (${note})` : ''}`);
  lines.push('header');
  row('alg', plain(header.alg), 'signature algorithm');
  if (header.typ !== undefined) row('typ', plain(header.typ), TYPE_NOTES[typ] ?? 'not a keycard token type');
  if (header.kid !== undefined) row('kid', plain(header.kid), report.key?.status);
  for (const [name, value] of Object.entries(header)) {
    if (!['alg', 'typ', 'kid'].includes(name)) row(name, plain(value), 'unexpected header field');
  }
  lines.push(
    report.valid
      ? 'claims'
      : report.signatureVerified
        ? 'claims (signature verified)'
        : 'claims (unverified: no valid signature vouches for them)',
  );
  if (claims === null) lines.push('  (the payload could not be decoded)');
  for (const [name, value] of Object.entries(claims ?? {})) {
    const time = report.times[name];
    const audienceMatches =
      value === expected.audience || (Array.isArray(value) && value.includes(expected.audience));
    if (time) row(name, time.iso, time.relative);
    else if (name === 'iss' && value !== expected.issuer)
      row(name, plain(value), `expected '${clean(expected.issuer)}'`);
    else if (name === 'aud' && !audienceMatches)
      row(name, plain(value), `expected '${clean(expected.audience)}'`);
    else if (name === 'sid' && typeof value === 'string' && value.startsWith('client:'))
      row(name, plain(value), 'the client secret generation that minted it');
    else if (name === 'sub')
      row(name, plain(value), typ === CLIENT_TOKEN_TYPE ? "the API client's id" : "the user's id");
    else row(name, plain(value), CLAIM_NOTES[name]);
  }
  lines.push('verdict');
  lines.push(report.valid ? `  ${report.message}` : `  ${report.code}: ${report.message}`);
  return lines;
}
