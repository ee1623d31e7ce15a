/**
 * Cookie micro-benchmarks: keycard's readCookie / parseCookieHeader / serializeCookie against the `cookie`
 * package (jshttp, the parser keycard builds on) on a realistic header. Run: npm run bench -- cookies
 */
import { parse, serialize } from 'cookie';
import { parseCookieHeader, readCookie } from '../src/core/cookies/parse.js';
import { serializeCookie } from '../src/core/cookies/serialize.js';
import { generateToken } from '../src/core/random-tokens.js';
import { compare, microSection } from './lib/micro.js';
import { formatSections, type Section } from './lib/report.js';

export async function runCookiesBench(
  options: { rounds?: number; durationMs?: number } = {},
): Promise<Section[]> {
  const token = generateToken();
  // What a browser sends to a typical app: analytics, a preference, the session, a CSRF cookie.
  const header = `_ga=GA1.1.1234567890.1700000000; theme=dark; keycard_session=${token}; _gid=GA1.1.987654321.1700000000; csrf=${generateToken()}`;
  const identity = (value: string) => value;

  const parsing = await compare(
    [
      {
        name: 'keycard readCookie (one name, duplicates detected)',
        run: () => {
          const read = readCookie(header, 'keycard_session');
          if (read.status !== 'present') throw new Error('not found');
        },
      },
      { name: 'keycard parseCookieHeader (all)', run: () => parseCookieHeader(header).keycard_session },
      { name: 'cookie.parse (all)', run: () => parse(header).keycard_session },
      {
        name: 'cookie.parse (all, no decode)',
        run: () => parse(header, { decode: identity }).keycard_session,
      },
    ],
    { reference: 'cookie.parse (all)', ...options },
  );

  const attributes = { httpOnly: true, secure: true, sameSite: 'lax' as const, path: '/' };
  const serializing = await compare(
    [
      {
        name: 'keycard serializeCookie (checks prefix rules, 4096 bytes)',
        run: () =>
          serializeCookie('__Host-keycard_session', token, { ...attributes, maxAgeSeconds: 604_800 }),
      },
      {
        name: 'cookie.serialize',
        run: () => serialize('__Host-keycard_session', token, { ...attributes, maxAge: 604_800 }),
      },
    ],
    { reference: 'cookie.serialize', ...options },
  );

  return [
    microSection('Cookie header parse', parsing, 'cookie.parse (all)', [
      `The header has 5 cookies (${header.length} bytes).`,
    ]),
    microSection('Set-Cookie serialize', serializing, 'cookie.serialize'),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(formatSections(await runCookiesBench()));
}
