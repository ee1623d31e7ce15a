/**
 * Session-token micro-benchmarks: what keycard does per login (generate a 256-bit token, hash it) and per
 * request (check the token's shape, hash it) against node:crypto done by hand, and against the per-request
 * check of the signed-cookie peers (express-session and @fastify/session verify an HMAC-SHA256 signature of
 * the session id on every request). Run: npm run bench -- tokens
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { generateToken, hashToken, isWellFormedToken } from '../src/core/random-tokens.js';
import { compare, microSection } from './lib/micro.js';
import { formatSections, type Section } from './lib/report.js';

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

export async function runTokensBench(
  options: { rounds?: number; durationMs?: number } = {},
): Promise<Section[]> {
  const token = generateToken();
  const secret = randomBytes(32);
  // express-session's cookie value: s:<id>.<base64 HMAC-SHA256 of the id> (cookie-signature).
  const sessionId = randomBytes(24).toString('base64url');
  const signed = `${sessionId}.${createHmac('sha256', secret).update(sessionId).digest('base64').replace(/=+$/, '')}`;

  const generation = await compare(
    [
      { name: 'keycard generateToken (256 bits)', run: () => generateToken() },
      { name: 'node:crypto randomBytes(32) → base64url', run: () => randomBytes(32).toString('base64url') },
      { name: 'node:crypto randomUUID (122 bits)', run: () => randomUUID() },
      {
        name: 'keycard login token + id (generateToken, hashToken)',
        run: () => hashToken(generateToken()),
      },
    ],
    { reference: 'node:crypto randomBytes(32) → base64url', ...options },
  );

  const perRequest = await compare(
    [
      {
        name: 'keycard isWellFormedToken + hashToken (what validate does first)',
        run: () => isWellFormedToken(token) && hashToken(token),
      },
      {
        name: 'node:crypto shape check + SHA-256 by hand',
        run: () => TOKEN_PATTERN.test(token) && createHash('sha256').update(token).digest('base64url'),
      },
      {
        name: 'signed-cookie check (HMAC-SHA256 + timingSafeEqual), as express-session does',
        run: () => {
          const dot = signed.lastIndexOf('.');
          const value = signed.slice(0, dot);
          const expected = Buffer.from(
            `${value}.${createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '')}`,
          );
          const given = Buffer.from(signed);
          return expected.length === given.length && timingSafeEqual(expected, given);
        },
      },
    ],
    { reference: 'node:crypto shape check + SHA-256 by hand', ...options },
  );

  return [
    microSection(
      'Session token generation (per login)',
      generation,
      'node:crypto randomBytes(32) → base64url',
    ),
    microSection(
      'Token to store key (per request)',
      perRequest,
      'node:crypto shape check + SHA-256 by hand',
      [
        'keycard stores only SHA-256(token); the signed-cookie peers store the id itself and check an HMAC instead.',
      ],
    ),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(formatSections(await runTokensBench()));
}
