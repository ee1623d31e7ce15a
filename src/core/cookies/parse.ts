/**
 * Reading cookies from a `Cookie` request header, on top of jshttp/cookie.
 *
 * The parser never throws and returns an object without a prototype, so a cookie named `__proto__` or
 * `constructor` is just a key. For the cookie that carries a credential, a second occurrence in the same
 * header is an ambiguity an attacker can create (cookie tossing from a sibling subdomain, or a path-scoped
 * cookie that sorts first), so `readCookie` reports it instead of guessing which one is ours.
 */
import { parse } from 'cookie';
import { KeycardError } from '../errors.js';

export type CookieRead =
  | { readonly status: 'absent' }
  | { readonly status: 'present'; readonly value: string }
  | { readonly status: 'duplicate' };

const ABSENT: CookieRead = Object.freeze({ status: 'absent' });
const DUPLICATE: CookieRead = Object.freeze({ status: 'duplicate' });

/** Values are taken as sent: keycard's own cookie values are base64url or JWS, which need no decoding. */
const identity = (value: string): string => value;

/** All cookies of a header, by name; the first occurrence of a repeated name wins. Never throws. */
export function parseCookieHeader(header: string | undefined): Record<string, string | undefined> {
  if (!header) return Object.create(null) as Record<string, string | undefined>;
  try {
    return parse(header, { decode: identity });
  } catch {
    return Object.create(null) as Record<string, string | undefined>;
  }
}

/**
 * At most this many cookies in one request: RFC 6265 §6.1 asks user agents to keep at least 50 cookies per
 * domain, so a site of ours never needs more, while thousands of tiny pairs are a cheap way to make every
 * request cost parsing time.
 */
export const MAX_COOKIES = 50;

/**
 * At most this many bytes of Cookie header (characters as received: Node reads headers as Latin-1, one byte
 * each). 8 KiB is what common proxies accept for one header line (nginx's `large_client_header_buffers`),
 * and twice what one cookie may hold (RFC 6265 §6.1: 4096 bytes).
 */
export const MAX_COOKIE_HEADER_BYTES = 8192;

/**
 * Refuses a Cookie header over the limits with 400 `invalid_request`. `readCookie` calls it, so both
 * strategies refuse such a request before any store I/O; no browser talking to a well-behaved site sends one.
 */
export function checkCookieHeader(header: string | undefined): void {
  if (!header) return;
  checkLength(header);
  let cookies = 0;
  let start = 0;
  while (start <= header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    if (hasContent(header, start, end)) countCookie(++cookies);
    start = end + 1;
  }
}

function checkLength(header: string): void {
  if (header.length > MAX_COOKIE_HEADER_BYTES) {
    throw new KeycardError(
      'invalid_request',
      `the Cookie header is longer than ${MAX_COOKIE_HEADER_BYTES} bytes`,
    );
  }
}

function countCookie(count: number): void {
  if (count > MAX_COOKIES)
    throw new KeycardError('invalid_request', `the request carries more than ${MAX_COOKIES} cookies`);
}

/** True when header[start, end) has anything but spaces and tabs; no substring is allocated. */
function hasContent(header: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const code = header.charCodeAt(i);
    if (code !== 0x20 && code !== 0x09) return true;
  }
  return false;
}

/**
 * Reads one cookie by name. The header is scanned pair by pair (RFC 6265 §5.4: pairs are separated by
 * `;` and optional whitespace) so that a repeated name is noticed. Throws `invalid_request` for a header
 * over the limits (`checkCookieHeader`): the request is refused as a whole rather than read in part.
 */
export function readCookie(header: string | undefined, name: string): CookieRead {
  if (!header) return ABSENT;
  checkLength(header);
  let found: string | undefined;
  let cookies = 0;
  let start = 0;
  let nextEq = header.indexOf('=');
  const length = header.length;
  // One pass both finds our cookie and enforces the count limit (checkCookieHeader's rules).
  while (start < length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = length;
    if (hasContent(header, start, end)) countCookie(++cookies);
    // The next '=' is found once and reused while it lies ahead, so a header of many '='-less pieces
    // costs one scan, not one scan per piece.
    if (nextEq !== -1 && nextEq < start) nextEq = header.indexOf('=', start);
    const eq = nextEq;
    if (eq !== -1 && eq < end) {
      const pairName = header.slice(start, eq).trim();
      if (pairName === name) {
        if (found !== undefined) return DUPLICATE;
        found = header.slice(eq + 1, end).trim();
      }
    }
    start = end + 1;
  }
  if (found === undefined) return ABSENT;
  // RFC 6265 §4.1.1 allows the value in double quotes.
  if (found.length >= 2 && found.startsWith('"') && found.endsWith('"')) found = found.slice(1, -1);
  return { status: 'present', value: found };
}
