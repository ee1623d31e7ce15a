/**
 * JWT micro-benchmarks: keycard's sign and verify against jose, fast-jwt (cache off and on) and
 * jsonwebtoken on the same tokens, for HS256, ES256 and EdDSA, plus the raw node:crypto floor for
 * verification (signature check + base64url decode + JSON.parse, no claim checks). Run: npm run bench -- jwt
 */
import {
  createHmac,
  createSecretKey,
  verify as cryptoVerify,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import { jwtVerify, SignJWT } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import { createKeySet, generateJWTKey, keySetResolver, VerifiedTokenCache, verifyJWT } from 'keycard';
import { signJWT } from '../src/core/jwt/sign.js';
import { type Candidate, compare, microSection } from './lib/micro.js';
import { formatSections, type Section } from './lib/report.js';

export async function runJWTBench(
  options: { rounds?: number; durationMs?: number } = {},
): Promise<Section[]> {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: 'keycard',
    aud: 'keycard',
    sub: 'user-1234',
    iat: now,
    exp: now + 900,
    jti: 'a1b2c3',
    sid: 's1',
    username: 'alice',
    role: 'user',
  };
  const secret = randomBytes(32);
  const hsKey = {
    ...generateJWTKey('HS256', 'hs'),
    verifyKey: createSecretKey(secret),
    signKey: createSecretKey(secret),
  };
  const edKey = generateJWTKey('EdDSA', 'ed');
  const esKey = generateJWTKey('ES256', 'es');
  const verifyOptions = {
    now,
    typ: 'at+jwt',
    issuer: 'keycard',
    audience: 'keycard',
    leewaySeconds: 10,
    maxTokenBytes: 8192,
  };
  const sections: Section[] = [];

  for (const [alg, key] of [
    ['HS256', hsKey],
    ['ES256', esKey],
    ['EdDSA', edKey],
  ] as const) {
    const token = signJWT(claims, key, { typ: 'at+jwt' });
    const resolve = keySetResolver(createKeySet([key]));
    const publicPEM = alg === 'HS256' ? secret : key.verifyKey.export({ type: 'spki', format: 'pem' });
    const privatePEM =
      alg === 'HS256' ? secret : (key.signKey?.export({ type: 'pkcs8', format: 'pem' }) as string);
    const fastVerify = createVerifier({
      key: publicPEM as never,
      cache: false,
      algorithms: [alg],
      allowedIss: 'keycard',
      allowedAud: 'keycard',
    });
    const fastVerifyCached = createVerifier({
      key: publicPEM as never,
      cache: true,
      algorithms: [alg],
      allowedIss: 'keycard',
      allowedAud: 'keycard',
    });
    // What the token service does for a token it has seen: one lookup by the token's exact bytes.
    const cache = new VerifiedTokenCache(1000, 10);
    cache.set(token, verifyJWT(token, resolve, verifyOptions));
    const currentKey = (kid: string) => (kid === key.kid ? key : undefined);
    const tokenBytes = Buffer.from(token, 'latin1');
    const verifyCandidates: Candidate[] = [
      {
        name: 'keycard verifyJWT',
        run: () => {
          if (!verifyJWT(token, resolve, verifyOptions).ok) throw new Error('keycard refused');
        },
      },
      {
        name: 'keycard (cache hit)',
        run: () => {
          // A fresh string each time, as from a request's header (V8 would reuse a string's hash).
          if (!cache.get(tokenBytes.toString('latin1'), now, currentKey))
            throw new Error('keycard cache missed');
        },
      },
      { name: 'fast-jwt (cache off)', run: () => fastVerify(token) },
      { name: 'fast-jwt (cache on)', run: () => fastVerifyCached(token) },
      {
        name: 'jose jwtVerify',
        run: () => jwtVerify(token, key.verifyKey, { issuer: 'keycard', audience: 'keycard', typ: 'at+jwt' }),
      },
    ];
    // jsonwebtoken has no EdDSA.
    if (alg !== 'EdDSA') {
      verifyCandidates.push({
        name: 'jsonwebtoken verify',
        run: () =>
          jsonwebtoken.verify(token, publicPEM as never, {
            algorithms: [alg],
            issuer: 'keycard',
            audience: 'keycard',
          }),
      });
    }
    if (alg === 'HS256') {
      // The floor: what any HS256 verification must do at the least.
      verifyCandidates.unshift({
        name: 'node:crypto floor',
        run: () => {
          const dot = token.lastIndexOf('.');
          const mac = createHmac('sha256', hsKey.verifyKey).update(token.slice(0, dot)).digest();
          if (!timingSafeEqual(mac, Buffer.from(token.slice(dot + 1), 'base64url'))) throw new Error('bad');
          return JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url').toString());
        },
      });
    } else {
      // ES256 signatures are JOSE's raw r||s (RFC 7518 §3.4), which node:crypto reads as ieee-p1363.
      const digest = alg === 'ES256' ? 'sha256' : null;
      const verifyKey =
        alg === 'ES256' ? { key: key.verifyKey, dsaEncoding: 'ieee-p1363' as const } : key.verifyKey;
      verifyCandidates.unshift({
        name: 'node:crypto floor',
        run: () => {
          const dot = token.lastIndexOf('.');
          if (
            !cryptoVerify(
              digest,
              Buffer.from(token.slice(0, dot)),
              verifyKey,
              Buffer.from(token.slice(dot + 1), 'base64url'),
            )
          )
            throw new Error('bad');
          return JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url').toString());
        },
      });
    }
    sections.push(
      microSection(
        `${alg} verify`,
        await compare(verifyCandidates, { reference: 'fast-jwt (cache off)', ...options }),
        'fast-jwt (cache off)',
        [
          'keycard remembers tokens that verified (by their exact bytes), so a repeated token costs one signature check: compare its cache hit with fast-jwt (cache on).',
        ],
      ),
    );

    const fastSign = createSigner({ key: privatePEM as never, algorithm: alg });
    const signCandidates: Candidate[] = [
      { name: 'keycard signJWT', run: () => signJWT({ ...claims }, key, { typ: 'at+jwt' }) },
      { name: 'fast-jwt signer', run: () => fastSign({ ...claims }) },
      {
        name: 'jose SignJWT',
        run: () =>
          new SignJWT({ ...claims }).setProtectedHeader({ alg, typ: 'at+jwt' }).sign(key.signKey as never),
      },
    ];
    if (alg !== 'EdDSA') {
      signCandidates.push({
        name: 'jsonwebtoken sign',
        run: () => jsonwebtoken.sign({ ...claims }, privatePEM as never, { algorithm: alg }),
      });
    }
    sections.push(
      microSection(
        `${alg} sign`,
        await compare(signCandidates, { reference: 'fast-jwt signer', ...options }),
        'fast-jwt signer',
      ),
    );
  }
  return sections;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sections = await runJWTBench();
  console.log(formatSections(sections));
}
