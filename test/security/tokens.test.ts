/**
 * The abuse suite, part 2: forged, bent and stolen-then-edited credentials against a real `keycard serve`,
 * in every strategy and transport they apply to. Each attack is refused with the documented status and
 * code, touches nothing in the store, is never echoed, and leaves the victim's genuine credential working.
 *
 * Access tokens (jwt and hybrid; Bearer header and cookie; EdDSA, ES256, RS256 and HS256 keys): one
 * character changed, truncated, re-encoded with the same bytes or the same claims, expired, wrong
 * audience/issuer/typ (signed with the server's own key, read from its key file), `alg: none` in four
 * spellings, algorithm confusion with the JWKS public key as HMAC secret, `jwk`/`jku`/`x5u` pointing at
 * an attacker's key (whose server must never be contacted), `crit`, and oversized tokens.
 * Refresh tokens: edited or oversized ones. Session cookies: edited, truncated and oversized ones.
 */
import assert from 'node:assert/strict';
import { createPublicKey, createSecretKey, type JsonWebKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Algorithm, signBytes } from '../../src/core/jwt/algorithms.js';
import { exportPublicJWK } from '../../src/core/jwt/keys.js';
import { generateJWTKey, type JWTKey, verifyJWT } from '../../src/index.js';
import { openStore } from '../../src/stores/url.js';
import { ManualClock } from '../helpers/clock.js';
import { type CountingStore, countingStore } from '../helpers/counting-store.js';
import { type Response, request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import {
  assertError,
  bearer,
  credentialReads,
  decodeJWT,
  encodeSegment,
  forgeJWT,
  nonCanonicalTail,
  otherBase64urlChar,
  replaceAt,
  serverSigningKey,
  storeWrites,
} from './helpers.js';

type Strategy = 'jwt' | 'hybrid';
type Transport = 'header' | 'cookie';

interface TokenTarget {
  strategy: Strategy;
  transport: Transport;
  alg: Algorithm;
}

/** Every strategy × transport on the default key, and every other algorithm keycard signs with. */
const TARGETS: TokenTarget[] = [
  { strategy: 'jwt', transport: 'header', alg: 'EdDSA' },
  { strategy: 'jwt', transport: 'cookie', alg: 'EdDSA' },
  { strategy: 'hybrid', transport: 'cookie', alg: 'EdDSA' },
  { strategy: 'hybrid', transport: 'header', alg: 'EdDSA' },
  { strategy: 'jwt', transport: 'header', alg: 'RS256' },
  { strategy: 'jwt', transport: 'cookie', alg: 'ES256' },
  { strategy: 'hybrid', transport: 'cookie', alg: 'RS256' },
  { strategy: 'hybrid', transport: 'header', alg: 'HS256' },
];

const ACCESS_COOKIE = 'keycard_access';
const REFRESH_COOKIE = 'keycard_refresh';
const SESSION_COOKIE = 'keycard_session';
const MAX_TOKEN_BYTES = 8192;

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A real server on its default SQLite store, wrapped to count store calls, with a hand-moved clock. */
async function startCounted(
  clock: ManualClock,
  flags: Record<string, unknown>,
): Promise<{ server: TestServer; counting: CountingStore }> {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-security-'));
  dirs.push(dir);
  const counting = countingStore(await openStore(`sqlite:${join(dir, 'keycard.db')}`, { clock }));
  const server = await startTestServer({ clock, store: counting.store, flags });
  return { server, counting };
}

/** A key pair an attacker made, served from a JWKS the attacker runs (which must never be fetched). */
interface Attacker {
  key: JWTKey;
  url: string;
  hits: string[];
  server: Server;
}

async function startAttacker(): Promise<Attacker> {
  const key = generateJWTKey('EdDSA', 'attacker-key');
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [exportPublicJWK(key)] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { key, url: `http://127.0.0.1:${port}`, hits, server };
}

const signer = (key: JWTKey) => (input: Buffer) =>
  signBytes(key.alg, key.signKey as NonNullable<JWTKey['signKey']>, input);

/** The byte strings an attacker might try as the HMAC secret when all they have is a public JWK. */
function confusionSecrets(jwk: JsonWebKey): [string, Buffer][] {
  const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
  const secrets: [string, Buffer][] = [
    ['the SPKI PEM', Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string)],
    [
      'the SPKI PEM without its final newline',
      Buffer.from((publicKey.export({ type: 'spki', format: 'pem' }) as string).trimEnd()),
    ],
    ['the SPKI DER', publicKey.export({ type: 'spki', format: 'der' })],
    ['the JWK JSON', Buffer.from(JSON.stringify(jwk))],
  ];
  const raw = jwk.kty === 'OKP' ? jwk.x : jwk.kty === 'RSA' ? jwk.n : undefined;
  if (raw) secrets.push(['the raw public key bytes', Buffer.from(raw, 'base64url')]);
  if (jwk.kty === 'RSA')
    secrets.push([
      'the PKCS#1 PEM',
      Buffer.from(publicKey.export({ type: 'pkcs1', format: 'pem' }) as string),
    ]);
  return secrets;
}

for (const target of TARGETS) {
  const { strategy, transport, alg } = target;
  describe(`abuse: access tokens, ${strategy} strategy, ${transport} transport, ${alg}`, () => {
    const clock = new ManualClock(Date.now());
    let server: TestServer;
    let counting: CountingStore;
    let attacker: Attacker;
    let key: JWTKey;
    /** The victim's genuine credentials. */
    let access: string;
    let refresh: string;
    let sid: string;
    let userId: string;

    /** Presents an access token the way this transport carries it. */
    const present = (token: string, path = '/auth/me'): Promise<Response> =>
      transport === 'header'
        ? request(server.url, 'GET', path, { headers: bearer(token) })
        : request(server.url, 'GET', path, {}, `${ACCESS_COOKIE}=${token}`);

    const presentRefresh = (token: string): Promise<Response> =>
      transport === 'header'
        ? request(server.url, 'POST', '/auth/refresh', { json: { refresh_token: token } })
        : request(server.url, 'POST', '/auth/refresh', {}, `${REFRESH_COOKIE}=${token}`);

    /** Signs a token with the server's own key: a genuine signature over claims keycard did not issue. */
    const resign = (header: Record<string, unknown>, payload: Record<string, unknown>) =>
      forgeJWT(header, payload, signer(key));

    /**
     * The heart of the suite: the token is refused with 401 `unauthenticated` (or what is given), the
     * store saw no write and no credential read, the answer echoes nothing, and the victim still works.
     */
    async function expectRefused(
      token: string,
      label: string,
      expected: { status: number; code: string; message?: RegExp } = { status: 401, code: 'unauthenticated' },
    ): Promise<void> {
      assert.notEqual(token, access, `${label}: the attack must differ from the genuine token`);
      const sessionsBefore = (await server.keycard.logins.listForUser(userId)).map((s) => s.id);
      counting.reset();
      const response = await present(token);
      assertError(response, expected.status, expected.code, label, [token]);
      if (expected.message) assert.match(response.json.error.message, expected.message, label);
      assert.deepEqual(storeWrites(counting), [], `${label}: no store write`);
      assert.equal(credentialReads(counting), 0, `${label}: refused before any store read`);
      const sessionsAfter = (await server.keycard.logins.listForUser(userId)).map((s) => s.id);
      assert.deepEqual(sessionsAfter, sessionsBefore, `${label}: the user's logins are unchanged`);
    }

    async function victimStillWorks(): Promise<void> {
      const me = await present(access);
      assert.equal(me.status, 200, me.text);
      assert.equal(me.json.session.id, sid);
    }

    before(async () => {
      ({ server, counting } = await startCounted(clock, {
        strategy,
        transport,
        'key-algorithm': alg,
      }));
      userId = (await server.keycard.users.create({ username: 'victim', password: 'victim-password' })).id;
      const login = await request(server.url, 'POST', '/auth/login', {
        json: { username: 'victim', password: 'victim-password' },
      });
      assert.equal(login.status, 200, login.text);
      sid = login.json.session.id;
      if (transport === 'header') {
        access = login.json.access_token;
        refresh = login.json.refresh_token;
      } else {
        const cookies = new Map(
          login.setCookies.map((header) => {
            const [pair = ''] = header.split(';');
            const eq = pair.indexOf('=');
            return [pair.slice(0, eq), pair.slice(eq + 1)] as const;
          }),
        );
        access = cookies.get(ACCESS_COOKIE) as string;
        refresh = cookies.get(REFRESH_COOKIE) as string;
      }
      assert.ok(access && refresh, 'the login issued both tokens');
      assert.equal(decodeJWT(access).header.alg, alg);
      key = serverSigningKey(server);
      assert.equal(key.kid, decodeJWT(access).header.kid, 'the key file is the one the server signs with');
      attacker = await startAttacker();
      await victimStillWorks();
    });
    after(async () => {
      await server?.close();
      await new Promise((resolve) => attacker?.server.close(resolve));
    });

    test('control: a token re-signed with the key file’s key over the genuine claims is accepted', async () => {
      // Proves the forgeries below fail for what they change, not because our signing is off.
      const { header, payload } = decodeJWT(access);
      const resigned = resign(header, payload);
      const response = await present(resigned);
      assert.equal(response.status, 200, response.text);
      assert.equal(response.json.session.id, sid);
    });

    test('one character changed in the header, the payload or the signature → 401', async () => {
      const { segments } = decodeJWT(access);
      let offset = 0;
      for (const [name, segment] of [
        ['header', segments[0]],
        ['payload', segments[1]],
        ['signature', segments[2]],
      ] as const) {
        for (const at of [0, Math.floor(segment.length / 2), segment.length - 2]) {
          const index = offset + at;
          const token = replaceAt(access, index, otherBase64urlChar(access[index] as string));
          await expectRefused(token, `${name}[${at}] changed`);
        }
        offset += segment.length + 1;
      }
      await victimStillWorks();
    });

    test('claims edited with the original signature (role: admin, another sub, later exp) → 401', async () => {
      const { header, payload, segments } = decodeJWT(access);
      for (const [label, edit] of [
        ['role admin', { role: 'admin' }],
        ['another user', { sub: 'AAAAAAAAAAAAAAAAAAAAAA' }],
        ['a later exp', { exp: (payload.exp as number) + 86_400 }],
      ] as const) {
        const token = `${encodeSegment(header)}.${encodeSegment({ ...payload, ...edit })}.${segments[2]}`;
        await expectRefused(token, label);
      }
      await victimStillWorks();
    });

    test('truncated tokens → 401', async () => {
      const { segments } = decodeJWT(access);
      const cases: [string, string][] = [
        ['last character dropped', access.slice(0, -1)],
        ['signature dropped (h.p.)', `${segments[0]}.${segments[1]}.`],
        ['signature and its dot dropped (h.p)', `${segments[0]}.${segments[1]}`],
        ['half the token', access.slice(0, Math.floor(access.length / 2))],
        ['header only', segments[0]],
        ['one character', access.slice(0, 1)],
      ];
      for (const [label, token] of cases) await expectRefused(token, label);
      await victimStillWorks();
    });

    test('re-encoded with the same bytes (non-canonical tail, padding, +/) or the same claims → 401', async () => {
      const { header, payload, segments } = decodeJWT(access);
      const cases: [string, string][] = [];
      // Same bytes, other text: the decoder must insist on the one canonical encoding (docs/jwt.md).
      for (const [index, name] of ['header', 'payload', 'signature'].entries()) {
        const segment = segments[index] as string;
        const tail = nonCanonicalTail(segment);
        if (tail !== undefined) {
          assert.deepEqual(Buffer.from(tail, 'base64url'), Buffer.from(segment, 'base64url'));
          const parts = [...segments];
          parts[index] = tail;
          cases.push([`${name}: unused low bits of the last character set`, parts.join('.')]);
        }
        const padding = '='.repeat((4 - (segment.length % 4)) % 4);
        if (padding !== '') {
          const parts = [...segments];
          parts[index] = segment + padding;
          cases.push([`${name}: '=' padding`, parts.join('.')]);
        }
        if (/[-_]/.test(segment)) {
          const standard = segment.replaceAll('-', '+').replaceAll('_', '/');
          assert.deepEqual(Buffer.from(standard, 'base64'), Buffer.from(segment, 'base64url'));
          const parts = [...segments];
          parts[index] = standard;
          cases.push([`${name}: standard base64 (+/)`, parts.join('.')]);
        }
      }
      const standardWhole = access.replaceAll('-', '+').replaceAll('_', '/');
      if (standardWhole !== access) cases.push(['whole token in standard base64 (+/)', standardWhole]);
      // Same claims, other bytes: the signature covers the encoded text, not the meaning.
      cases.push([
        'payload JSON re-serialized with whitespace',
        `${segments[0]}.${encodeSegment(JSON.stringify(payload, null, 1))}.${segments[2]}`,
      ]);
      cases.push([
        'header JSON re-serialized with whitespace',
        `${encodeSegment(JSON.stringify(header, null, 1))}.${segments[1]}.${segments[2]}`,
      ]);
      cases.push([
        'payload claims reordered',
        `${segments[0]}.${encodeSegment(Object.fromEntries(Object.entries(payload).reverse()))}.${segments[2]}`,
      ]);
      assert.ok(cases.length >= 6, 'every re-encoding kind was tried');
      for (const [label, token] of cases) await expectRefused(token, label);
      await victimStillWorks();
    });

    test('wrong audience, issuer or typ, no exp, a future nbf or iat — signed with the server’s own key → 401', async () => {
      const { header, payload } = decodeJWT(access);
      const now = Math.floor(clock.now() / 1000);
      const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
        ['wrong aud', header, { ...payload, aud: 'another-service' }],
        ['aud array without ours', header, { ...payload, aud: ['another-service', 'a-third'] }],
        ['aud missing', header, { ...payload, aud: undefined }],
        ['wrong iss', header, { ...payload, iss: 'https://evil.example' }],
        ['iss missing', header, { ...payload, iss: undefined }],
        ['typ JWT', { ...header, typ: 'JWT' }, payload],
        ['typ missing', { ...header, typ: undefined }, payload],
        ['exp missing', header, { ...payload, exp: undefined }],
        ['exp as a string', header, { ...payload, exp: String(payload.exp) }],
        ['nbf in the future', header, { ...payload, nbf: now + 3600 }],
        ['iat in the future', header, { ...payload, iat: now + 3600 }],
        ['kid unknown', { ...header, kid: 'no-such-key' }, payload],
      ];
      for (const [label, h, p] of cases) await expectRefused(resign(h, p), label);
      await victimStillWorks();
    });

    test('alg none in four spellings, with and without a signature → 401', async () => {
      const { header, payload, segments } = decodeJWT(access);
      for (const none of ['none', 'None', 'NONE', 'nOnE']) {
        const unsigned = forgeJWT({ ...header, alg: none }, payload);
        await expectRefused(unsigned, `alg ${none}, empty signature`);
        await expectRefused(`${unsigned}${segments[2]}`, `alg ${none}, the genuine signature`);
        await expectRefused(
          forgeJWT({ alg: none, typ: header.typ }, { ...payload, role: 'admin' }),
          `alg ${none}, no kid, role admin`,
        );
      }
      await victimStillWorks();
    });

    if (alg === 'HS256') {
      test('HS256: the JWKS publishes nothing an attacker could use as an HMAC secret', async () => {
        const jwks = await request(server.url, 'GET', '/.well-known/jwks.json');
        assert.equal(jwks.status, 200);
        assert.deepEqual(jwks.json.keys, []);
        assert.equal(jwks.text.includes(key.kid), false);
      });
    } else {
      test('algorithm confusion: HS256 “signed” with the JWKS public key as the secret → 401', async () => {
        const { header, payload } = decodeJWT(access);
        const jwks = await request(server.url, 'GET', '/.well-known/jwks.json');
        assert.equal(jwks.status, 200);
        const jwk = jwks.json.keys.find((candidate: { kid: string }) => candidate.kid === header.kid);
        assert.ok(jwk, 'the JWKS publishes the signing key');
        let tried = 0;
        for (const [secretName, secret] of confusionSecrets(jwk)) {
          const sign = (input: Buffer) => signBytes('HS256', createSecretKey(secret), input);
          for (const [label, h] of [
            ['kid kept', { ...header, alg: 'HS256' }],
            ['no kid', { alg: 'HS256', typ: header.typ }],
          ] as const) {
            await expectRefused(
              forgeJWT(h, { ...payload, role: 'admin' }, sign),
              `HS256 with ${secretName}, ${label}`,
            );
            tried++;
          }
        }
        assert.ok(tried >= 8);
        await victimStillWorks();
      });
    }

    test('jwk, jku and x5u headers pointing at an attacker’s key → 401, and the attacker is never contacted', async () => {
      const { header, payload } = decodeJWT(access);
      const evil = attacker.key;
      const evilJWK = exportPublicJWK(evil);
      const claims = { ...payload, role: 'admin' };
      const evilHeader = { alg: evil.alg, typ: header.typ };
      const cases: [string, Record<string, unknown>][] = [
        ['embedded jwk, attacker kid', { ...evilHeader, kid: evil.kid, jwk: evilJWK }],
        [
          'embedded jwk, the server’s kid',
          { ...evilHeader, kid: header.kid, jwk: { ...evilJWK, kid: header.kid } },
        ],
        ['embedded jwk, no kid', { ...evilHeader, jwk: evilJWK }],
        ['jku, attacker kid', { ...evilHeader, kid: evil.kid, jku: `${attacker.url}/jwks.json` }],
        ['jku, the server’s kid', { ...evilHeader, kid: header.kid, jku: `${attacker.url}/jwks.json` }],
        ['x5u, attacker kid', { ...evilHeader, kid: evil.kid, x5u: `${attacker.url}/cert.pem` }],
        ['x5u, the server’s kid', { ...evilHeader, kid: header.kid, x5u: `${attacker.url}/cert.pem` }],
        ['x5c garbage, attacker kid', { ...evilHeader, kid: evil.kid, x5c: ['MIIBkTCB+wIJAKHHIG...'] }],
      ];
      for (const [label, h] of cases) {
        const forged = forgeJWT(h, claims, signer(evil));
        // A well-made forgery: it verifies against the attacker's key, so only trust can refuse it.
        const againstEvil = verifyJWT(forged, () => evil, {
          now: clock.now() / 1000,
          typ: String(header.typ),
          leewaySeconds: 10,
          maxTokenBytes: MAX_TOKEN_BYTES,
        });
        assert.equal(againstEvil.ok, true, `${label}: the forgery is well made`);
        await expectRefused(forged, label);
      }
      assert.deepEqual(attacker.hits, [], 'the server never fetched the attacker’s URLs');
      await victimStillWorks();
    });

    test('crit (any value) and b64 headers, even genuinely signed → 401', async () => {
      const { header, payload } = decodeJWT(access);
      const cases: [string, Record<string, unknown>][] = [
        ['crit [exp]', { ...header, crit: ['exp'] }],
        ['crit [x-unknown] with the member', { ...header, crit: ['x-unknown'], 'x-unknown': true }],
        ['crit []', { ...header, crit: [] }],
        ['crit [b64], b64 false', { ...header, crit: ['b64'], b64: false }],
        ['b64 true without crit', { ...header, b64: true }],
      ];
      for (const [label, h] of cases) await expectRefused(resign(h, payload), label);
      await victimStillWorks();
    });

    test('oversized: a genuinely signed token over 8 KiB is refused before decoding; under it works', async () => {
      const { header, payload } = decodeJWT(access);
      const padded = (length: number): string => {
        // Grow a claim until the whole token has exactly `length` characters (±3 for base64 rounding).
        let pad = Math.max(0, Math.floor(((length - access.length) * 3) / 4));
        let token = resign(header, { ...payload, pad: 'x'.repeat(pad) });
        while (token.length > length) token = resign(header, { ...payload, pad: 'x'.repeat(--pad) });
        return token;
      };
      // The Cookie header itself is capped at 8192 bytes (docs/security.md, Limits): a cookie-borne
      // token must stay under it with its name, so that is where the under-the-limit probe sits.
      const under = padded(MAX_TOKEN_BYTES - ACCESS_COOKIE.length - 1);
      const accepted = await present(under);
      assert.equal(accepted.status, 200, `${under.length} characters: ${accepted.text}`);
      const over = padded(MAX_TOKEN_BYTES + 64);
      assert.ok(over.length > MAX_TOKEN_BYTES);
      if (transport === 'header') {
        await expectRefused(over, `${over.length}-character Bearer token`);
        // Past the header section limit (16 KiB), Node answers before keycard sees the request.
        const huge = padded(20_000);
        const response = await present(huge);
        assertError(response, 431, 'header_too_large', '20 000-character Bearer token', [huge]);
      } else {
        // Documented: a Cookie header over 8192 bytes is 400 invalid_request, before any store I/O.
        await expectRefused(over, `${over.length}-character access cookie`, {
          status: 400,
          code: 'invalid_request',
          message: /Cookie header is longer than 8192 bytes/,
        });
      }
      await victimStillWorks();
    });

    test('the credential in the other transport is not a credential at all → 401', async () => {
      counting.reset();
      const response =
        transport === 'header'
          ? await request(server.url, 'GET', '/auth/me', {}, `${ACCESS_COOKIE}=${access}`)
          : await request(server.url, 'GET', '/auth/me', { headers: bearer(access) });
      assertError(response, 401, 'unauthenticated', 'other transport', [access]);
      assert.equal(response.json.error.message, 'sign in first');
      assert.deepEqual(storeWrites(counting), []);
      await victimStillWorks();
    });

    test('edited, truncated or oversized refresh tokens → refused; the genuine one is untouched', async () => {
      // [label, token, status, code, rotation attempts: a well-formed token is looked up (the store's atomic
      // rotate, which finds nothing), a malformed one never reaches the store]
      // A refresh token is loginId.generation.MAC: an edit that keeps its shape costs one read of the login
      // it names (to check the MAC against that login's nonce), never a write.
      const macAt = refresh.length - 10;
      const cases: [string, string, number, string, 0 | 1][] = [
        [
          'one character of the login id changed',
          replaceAt(refresh, 10, otherBase64urlChar(refresh[10] as string)),
          401,
          'token_invalid',
          1,
        ],
        [
          'one character of the MAC changed',
          replaceAt(refresh, macAt, otherBase64urlChar(refresh[macAt] as string)),
          401,
          'token_invalid',
          1,
        ],
        ['a later generation', refresh.replace(/\.0\./, '.1.'), 401, 'token_invalid', 1],
        [
          'last character of the MAC, same bytes (non-canonical)',
          `${refresh.slice(0, refresh.lastIndexOf('.') + 1)}${nonCanonicalTail(refresh.slice(refresh.lastIndexOf('.') + 1)) as string}`,
          401,
          'token_invalid',
          0,
        ],
        ['truncated', refresh.slice(0, -1), 401, 'token_invalid', 0],
        ['one character appended', `${refresh}A`, 401, 'token_invalid', 0],
        [
          'standard base64 + padding',
          `${refresh.replaceAll('-', '+').replaceAll('_', '/')}=`,
          401,
          'token_invalid',
          0,
        ],
        ['the access token', access.slice(0, 500), 401, 'token_invalid', 0],
      ];
      // Documented: a refresh_token over 512 characters in a body is 400 invalid_request.
      if (transport === 'header') cases.push(['600 characters', 'A'.repeat(600), 400, 'invalid_request', 0]);
      else cases.push(['600 characters', 'A'.repeat(600), 401, 'token_invalid', 0]);
      for (const [label, token, status, code, reads] of cases) {
        counting.reset();
        const response = await presentRefresh(token);
        assertError(response, status, code, `refresh: ${label}`, [token, refresh]);
        // The only write a failed refresh makes is the per-address failure counter (docs/security.md).
        const writes = storeWrites(counting).filter((call) => !call.startsWith('incrementCounter'));
        assert.deepEqual(writes, [], `refresh: ${label}: nothing but the throttle counter written`);
        assert.equal(counting.counts.get('getLogin') ?? 0, reads, `refresh: ${label}`);
      }
      assert.ok(await server.store.getLogin(sid), 'the login lives');
      const genuine = await presentRefresh(refresh);
      assert.equal(genuine.status, 200, genuine.text);
      access =
        transport === 'header'
          ? genuine.json.access_token
          : (genuine.setCookies
              .find((header) => header.startsWith(`${ACCESS_COOKIE}=`))
              ?.split(';')[0]
              ?.slice(ACCESS_COOKIE.length + 1) as string);
      await victimStillWorks();
    });

    // Last: it moves the clock past the victim's access token.
    test('expired (the clock moved past exp + leeway) → 401 saying so; nothing written', async () => {
      const { payload } = decodeJWT(access);
      const lifetime = (payload.exp as number) - Math.floor(clock.now() / 1000);
      clock.advanceSeconds(lifetime + 5);
      assert.equal((await present(access)).status, 200, 'inside the 10 s leeway it still works');
      clock.advanceSeconds(6);
      counting.reset();
      const response = await present(access);
      assertError(response, 401, 'token_expired', 'expired', [access]);
      assert.match(response.json.error.message, /expired/);
      assert.deepEqual(storeWrites(counting), []);
      assert.equal(credentialReads(counting), 0);
    });
  });
}

describe('abuse: session cookies (session strategy)', () => {
  const clock = new ManualClock(Date.now());
  let server: TestServer;
  let counting: CountingStore;
  let token: string;
  let sid: string;

  before(async () => {
    ({ server, counting } = await startCounted(clock, {}));
    await server.keycard.users.create({ username: 'victim', password: 'victim-password' });
    const login = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'victim', password: 'victim-password' },
    });
    assert.equal(login.status, 200, login.text);
    sid = login.json.session.id;
    const cookie = login.setCookies.find((header) => header.startsWith(`${SESSION_COOKIE}=`)) ?? '';
    token = (cookie.split(';')[0] as string).slice(SESSION_COOKIE.length + 1);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  });
  after(async () => {
    await server?.close();
  });

  const present = (value: string) => request(server.url, 'GET', '/auth/me', {}, `${SESSION_COOKIE}=${value}`);

  test('edited, truncated, re-encoded and oversized session cookies → 401 with no store write', async () => {
    const record = await server.store.getLogin(sid);
    assert.ok(record);
    // [label, value, store reads allowed: a well-formed token costs its one lookup, a malformed one none]
    const cases: [string, string, 0 | 1][] = [
      ['first character changed', replaceAt(token, 0, otherBase64urlChar(token[0] as string)), 1],
      ['middle character changed', replaceAt(token, 21, otherBase64urlChar(token[21] as string)), 1],
      ['last character changed (canonical)', replaceAt(token, 42, token[42] === 'A' ? 'E' : 'A'), 1],
      ['last character, same bytes (non-canonical)', nonCanonicalTail(token) as string, 0],
      ['truncated by one', token.slice(0, -1), 0],
      ['truncated to half', token.slice(0, 21), 0],
      ['one character appended', `${token}A`, 0],
      ['= padding', `${token}=`, 0],
      ['percent-encoded first character', `%${token.charCodeAt(0).toString(16)}${token.slice(1)}`, 0],
      ['the login id (its SHA-256) instead of the token', sid, 1],
      ['oversized (4000 characters)', token.repeat(93).slice(0, 4000), 0],
    ];
    if (/[-_]/.test(token))
      cases.push(['standard base64 (+/)', token.replaceAll('-', '+').replaceAll('_', '/'), 0]);
    for (const [label, value, reads] of cases) {
      assert.notEqual(value, token, label);
      counting.reset();
      const response = await present(value);
      assertError(response, 401, 'unauthenticated', label, [value, token]);
      assert.deepEqual(storeWrites(counting), [], `${label}: no store write`);
      assert.ok((counting.counts.get('getLogin') ?? 0) <= reads, `${label}: at most ${reads} read`);
      const cleared = response.setCookies.find((header) => header.startsWith(`${SESSION_COOKIE}=;`));
      assert.ok(cleared && /Max-Age=0/i.test(cleared), `${label}: the bad cookie is cleared`);
    }
    // Past the Cookie header limit the whole request is refused before any lookup (docs/security.md).
    counting.reset();
    const huge = await present(token.repeat(200));
    assertError(huge, 400, 'invalid_request', '8600-character session cookie', [token]);
    assert.equal(counting.counts.size, 0, 'no store call at all');
    assert.deepEqual(await server.store.getLogin(sid), record, 'the victim’s record is unchanged');
    const me = await present(token);
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.session.id, sid);
  });
});
