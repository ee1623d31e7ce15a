/**
 * The abuse suite's properties, in process (fast-check):
 * (a) keycard's own cookie serializer and parser round-trip any valid name, value and attributes;
 * (b) any single-character change to a valid credential is rejected — access JWTs of every algorithm
 *     keycard signs (core verifyJWT, and keycard's TokenService with its verified-token cache), session
 *     tokens (keycard.logins.validate on a memory store) and CSRF tokens.
 *
 * The property is exact, not weakened near base64url's last character: there, a changed character can
 * keep the decoded bytes (the unused low bits), and keycard's decoders insist on the one canonical
 * encoding (docs/jwt.md), so such a change must be rejected like any other. The last character of each
 * segment is also checked exhaustively, since a random search rarely lands on it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { parseCookieHeader, readCookie } from '../../src/core/cookies/parse.js';
import { type CookieAttributes, serializeCookie } from '../../src/core/cookies/serialize.js';
import { createCSRFToken, verifyCSRFToken } from '../../src/core/csrf/token.js';
import { signJWT } from '../../src/core/jwt/sign.js';
import {
  ALGORITHMS,
  type Algorithm,
  createKeycard,
  createKeySet,
  generateJWTKey,
  type JWTKey,
  type Keycard,
  keySetResolver,
  type VerifyOptions,
  verifyJWT,
} from '../../src/index.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { parseSetCookie } from '../helpers/http.js';
import { BASE64URL, replaceAt } from './helpers.js';

// ---------------------------------------------------------------------------------------------------
// (a) Cookies

/** cookie-name = token (RFC 9110 §5.6.2). */
const TCHAR_NAME = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,24}$/);
/** cookie-value = *cookie-octet (RFC 6265 §4.1.1). */
const COOKIE_VALUE = fc.stringMatching(
  /^[\u0021\u0023-\u002B\u002D-\u003A\u003C-\u005B\u005D-\u007E]{0,160}$/,
);

/** A cookie keycard may write: any name (prefixed ones with the attributes their prefix demands). */
const cookieArbitrary = fc
  .record({
    prefix: fc.constantFrom('', '', '__Host-', '__Secure-'),
    name: TCHAR_NAME,
    value: COOKIE_VALUE,
    httpOnly: fc.boolean(),
    secure: fc.boolean(),
    sameSite: fc.constantFrom('strict', 'lax', 'none') as fc.Arbitrary<CookieAttributes['sameSite']>,
    path: fc.constantFrom('/', '/auth/refresh', '/a-b_c.d~e'),
    maxAgeSeconds: fc.option(fc.integer({ min: 0, max: 400 * 86_400 }), { nil: undefined }),
  })
  .map(({ prefix, name, value, ...rest }) => {
    const attributes: CookieAttributes = { ...rest };
    if (prefix !== '' || attributes.sameSite === 'none') attributes.secure = true;
    if (prefix === '__Host-') attributes.path = '/';
    return { name: `${prefix}${name}`, value, attributes };
  });

describe('properties: cookies', () => {
  test('serializeCookie → a browser’s Cookie header → readCookie and parseCookieHeader give the value back', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(cookieArbitrary, { minLength: 1, maxLength: 8, selector: (cookie) => cookie.name }),
        fc.nat(),
        (cookies, rotation) => {
          const pairs: string[] = [];
          for (const { name, value, attributes } of cookies) {
            const header = serializeCookie(name, value, attributes);
            // The attributes come back as written.
            const parsed = parseSetCookie(header);
            assert.equal(parsed.name, name);
            assert.equal(parsed.value, value);
            assert.equal(parsed.attributes.get('path'), attributes.path);
            assert.equal(parsed.attributes.has('httponly'), attributes.httpOnly);
            assert.equal(parsed.attributes.has('secure'), attributes.secure);
            assert.equal(parsed.attributes.get('samesite')?.toLowerCase(), attributes.sameSite);
            assert.equal(
              parsed.attributes.get('max-age'),
              attributes.maxAgeSeconds === undefined ? undefined : String(attributes.maxAgeSeconds),
            );
            assert.equal(parsed.attributes.has('domain'), false);
            pairs.push(header.split(';')[0] as string);
          }
          // The browser sends the pairs back in some order (RFC 6265 §5.4), joined by "; ".
          const shift = rotation % pairs.length;
          const cookieHeader = [...pairs.slice(shift), ...pairs.slice(0, shift)].join('; ');
          const all = parseCookieHeader(cookieHeader);
          for (const { name, value } of cookies) {
            assert.deepEqual(readCookie(cookieHeader, name), { status: 'present', value });
            assert.equal(all[name], value);
          }
          assert.deepEqual(Object.keys(all).sort(), cookies.map((cookie) => cookie.name).sort());
        },
      ),
      { numRuns: 300 },
    );
  });

  test('serializeCookie refuses any name outside token or value outside cookie-octet', () => {
    const badChar = fc.constantFrom(' ', ';', ',', '"', '\\', '=', '\t', '\u0000', '\u007f', 'é', '\u2028');
    fc.assert(
      fc.property(
        TCHAR_NAME,
        COOKIE_VALUE,
        badChar,
        fc.nat(),
        fc.boolean(),
        (name, value, bad, at, inName) => {
          const attributes: CookieAttributes = { httpOnly: true, secure: true, sameSite: 'lax', path: '/' };
          const spoiled = (text: string) => replaceAt(text, at % (text.length + 1), bad);
          // '=' is a legal cookie-octet in a value; everything else listed is refused in both places.
          fc.pre(inName || bad !== '=');
          const [n, v] = inName ? [spoiled(name), value] : [name, spoiled(value)];
          assert.throws(() => serializeCookie(n, v, attributes), {
            name: 'KeycardError',
            code: 'internal_error',
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// (b) Single-character changes

/** Characters outside base64url: separators, padding, the standard alphabet, controls, non-ASCII. */
const OUTSIDE_BASE64URL = [
  '.',
  '=',
  '+',
  '/',
  ' ',
  '%',
  '"',
  ';',
  ',',
  '\\',
  '\u0000',
  '\u007f',
  'é',
  '\u00ff',
  '\u2028',
  '\uD800',
  '😀',
];

/** A single character to put in place of `original`: mostly base64url, sometimes anything at all. */
const replacementFor = (original: string): fc.Arbitrary<string> =>
  fc
    .oneof(
      { weight: 6, arbitrary: fc.constantFrom(...BASE64URL) },
      { weight: 2, arbitrary: fc.constantFrom(...OUTSIDE_BASE64URL) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    )
    .filter((char) => char !== original);

/** A position in `token` and a character different from the one there. */
const singleChange = (token: string): fc.Arbitrary<{ at: number; char: string }> =>
  fc.nat(token.length - 1).chain((at) => replacementFor(token[at] as string).map((char) => ({ at, char })));

/** Every single change of `token` at `at` to another base64url character or to one outside it. */
function* everyChangeAt(token: string, at: number): Generator<string> {
  for (const char of [...BASE64URL, ...OUTSIDE_BASE64URL])
    if (char !== token[at]) yield replaceAt(token, at, char);
}

/** The index of the last character of each `.`-separated segment. */
const segmentEnds = (token: string): number[] =>
  [...token.matchAll(/\./g)].map((match) => (match.index as number) - 1).concat(token.length - 1);

describe('properties: a single-character change to an access JWT is rejected', () => {
  const NOW = Math.floor(Date.now() / 1000);
  const options: VerifyOptions = {
    now: NOW,
    typ: 'at+jwt',
    issuer: 'keycard',
    audience: 'keycard',
    leewaySeconds: 10,
    maxTokenBytes: 8192,
  };
  const claims = {
    iss: 'keycard',
    aud: 'keycard',
    sub: 'AAAAAAAAAAAAAAAAAAAAAA',
    iat: NOW,
    exp: NOW + 900,
    jti: 'BBBBBBBBBBBBBBBBBBBBBB',
    sid: 'CCCCCCCCCCCCCCCCCCCCCC',
    username: 'alice',
    role: 'user',
  };

  for (const alg of ALGORITHMS as readonly Algorithm[]) {
    describe(alg, () => {
      let key: JWTKey;
      let token: string;
      let keycard: Keycard;
      let issued: string;

      before(async () => {
        key = generateJWTKey(alg);
        token = signJWT(claims, key, { typ: 'at+jwt' });
        // keycard's own path: the TokenService the server verifies with, verified-token cache included.
        keycard = createKeycard({
          store: new MemoryStore(),
          strategy: 'jwt',
          throttle: false,
          jwt: { keys: createKeySet([key]), refreshSecrets: [randomBytes(32)] },
        });
        const started = await keycard.tokens?.startLogin(
          { id: 'AAAAAAAAAAAAAAAAAAAAAA', username: 'alice', role: 'user' },
          { userAgent: null, ip: null },
        );
        issued = started?.accessToken as string;
        assert.equal(keycard.tokens?.verifyAccessToken(issued).ok, true, 'the genuine token (now cached)');
      });
      after(async () => {
        await keycard?.close();
      });

      const core = (candidate: string) => verifyJWT(candidate, keySetResolver(createKeySet([key])), options);
      const refused = (result: { ok: boolean; code?: string }) =>
        !result.ok && result.code === 'token_invalid';

      test('the genuine token verifies (control)', () => {
        assert.equal(core(token).ok, true);
      });

      test('any position, any other character → token_invalid (core verifyJWT)', () => {
        fc.assert(
          fc.property(singleChange(token), ({ at, char }) => refused(core(replaceAt(token, at, char)))),
          { numRuns: 400 },
        );
      });

      test('any position, any other character → token_invalid (keycard’s TokenService, cache warm)', () => {
        fc.assert(
          fc.property(singleChange(issued), ({ at, char }) =>
            refused(keycard.tokens?.verifyAccessToken(replaceAt(issued, at, char)) ?? { ok: true }),
          ),
          { numRuns: 200 },
        );
        assert.equal(keycard.tokens?.verifyAccessToken(issued).ok, true, 'the genuine one still verifies');
      });

      test('the last character of every segment, exhaustively — same-bytes (non-canonical) changes included', () => {
        let sameBytes = 0;
        for (const at of segmentEnds(token)) {
          const segment = token.slice(token.lastIndexOf('.', at) + 1, at + 1);
          for (const changed of everyChangeAt(token, at)) {
            const changedSegment = changed.slice(token.lastIndexOf('.', at) + 1, at + 1);
            if (
              /^[A-Za-z0-9_-]+$/.test(changedSegment) &&
              Buffer.from(changedSegment, 'base64url').equals(Buffer.from(segment, 'base64url'))
            )
              sameBytes++;
            assert.ok(refused(core(changed)), `position ${at}: ${JSON.stringify(changed[at])}`);
          }
        }
        // Every signature length keycard produces (43, 86, 342 characters) leaves unused bits in the last
        // character, so the pass really did present changes a lenient decoder reads as the same bytes.
        assert.ok(sameBytes > 0, 'some changes kept the decoded bytes');
      });
    });
  }
});

describe('properties: a single-character change to a session token is rejected', () => {
  let keycard: Keycard;
  let token: string;
  /** Tokens keycard issues: 42 base64url characters and a last one with its two unused bits zero. */
  const WELL_FORMED = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

  before(async () => {
    keycard = createKeycard({ store: new MemoryStore(), throttle: false });
    ({ token } = await keycard.logins.create({
      user: { id: 'AAAAAAAAAAAAAAAAAAAAAA', username: 'alice', role: 'user' },
    }));
    assert.equal((await keycard.logins.validate(token)).ok, true);
  });
  after(async () => {
    await keycard?.close();
  });

  /** Refused, and for the reason its shape gives: malformed without a lookup, else unknown. */
  async function assertRefused(changed: string): Promise<void> {
    const result = await keycard.logins.validate(changed);
    assert.equal(result.ok, false, JSON.stringify(changed));
    assert.equal(
      !result.ok && result.reason,
      WELL_FORMED.test(changed) ? 'unknown' : 'malformed',
      JSON.stringify(changed),
    );
  }

  test('every position × every base64url character and a set of outsiders (exhaustive)', async () => {
    let checked = 0;
    for (let at = 0; at < token.length; at++) {
      for (const changed of everyChangeAt(token, at)) {
        await assertRefused(changed);
        checked++;
      }
    }
    assert.equal(checked, token.length * (BASE64URL.length - 1 + OUTSIDE_BASE64URL.length));
    // The last character's unused bits: a same-bytes variant exists and is refused as malformed.
    const last = BASE64URL.indexOf(token.at(-1) as string);
    const sameBytes = replaceAt(token, 42, BASE64URL[last | 1] as string);
    assert.deepEqual(Buffer.from(sameBytes, 'base64url'), Buffer.from(token, 'base64url'));
    assert.deepEqual(await keycard.logins.validate(sameBytes), { ok: false, reason: 'malformed' });
    assert.equal((await keycard.logins.validate(token)).ok, true, 'the genuine token still works');
  });

  test('any position, any character at all (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(singleChange(token), async ({ at, char }) => {
        await assertRefused(replaceAt(token, at, char));
      }),
      { numRuns: 300 },
    );
  });
});

describe('properties: a single-character change to a CSRF token is rejected', () => {
  const secret = randomBytes(32);
  const binding = 'login:AAAAAAAAAAAAAAAAAAAAAA';
  const token = createCSRFToken(secret, binding);

  test('every position × every base64url character and a set of outsiders (exhaustive)', () => {
    assert.equal(verifyCSRFToken([secret], binding, token), true, 'control');
    const accepted: string[] = [];
    for (let at = 0; at < token.length; at++) {
      for (const changed of everyChangeAt(token, at)) {
        if (verifyCSRFToken([secret], binding, changed)) accepted.push(changed);
      }
    }
    assert.deepEqual(accepted, [], 'no changed token is accepted');
  });
});
