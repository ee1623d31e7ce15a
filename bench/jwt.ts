/**
 * JWT micro-benchmarks: keycard's sign and verify against jose, fast-jwt (cache off and on) and
 * jsonwebtoken on the same tokens, plus the raw node:crypto floor for HS256 verification (HMAC + base64url
 * decode + JSON.parse, no claim checks). Run: npm run bench -- jwt
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
import { createKeySet, generateJWTKey, keySetResolver, signJWT, verifyJWT } from '../src/index.js';
import { type Candidate, compare, formatTable, type MicroResult } from './lib/micro.js';

export interface BenchSection {
  title: string;
  reference: string;
  results: MicroResult[];
}

export async function runJWTBench(
  options: { rounds?: number; durationMs?: number } = {},
): Promise<BenchSection[]> {
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
  const verifyOptions = {
    now,
    typ: 'at+jwt',
    issuer: 'keycard',
    audience: 'keycard',
    leewaySeconds: 10,
    maxTokenBytes: 8192,
  };
  const sections: BenchSection[] = [];

  for (const [alg, key] of [
    ['HS256', hsKey],
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
    const verifyCandidates: Candidate[] = [
      {
        name: 'keycard verifyJWT',
        run: () => {
          if (!verifyJWT(token, resolve, verifyOptions).ok) throw new Error('keycard refused');
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
    if (alg === 'HS256') {
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
      verifyCandidates.unshift({
        name: 'node:crypto floor',
        run: () => {
          const dot = token.lastIndexOf('.');
          if (
            !cryptoVerify(
              null,
              Buffer.from(token.slice(0, dot)),
              edKey.verifyKey,
              Buffer.from(token.slice(dot + 1), 'base64url'),
            )
          )
            throw new Error('bad');
          return JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url').toString());
        },
      });
    }
    sections.push({
      title: `${alg} verify`,
      reference: 'fast-jwt (cache off)',
      results: await compare(verifyCandidates, { reference: 'fast-jwt (cache off)', ...options }),
    });

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
    if (alg === 'HS256') {
      signCandidates.push({
        name: 'jsonwebtoken sign',
        run: () => jsonwebtoken.sign({ ...claims }, privatePEM as never, { algorithm: alg }),
      });
    }
    sections.push({
      title: `${alg} sign`,
      reference: 'fast-jwt signer',
      results: await compare(signCandidates, { reference: 'fast-jwt signer', ...options }),
    });
  }
  return sections;
}

export function formatSections(sections: BenchSection[]): string {
  return sections
    .map((section) => formatTable(section.title, section.results, section.reference))
    .join('\n\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sections = await runJWTBench();
  console.log(formatSections(sections));
}
