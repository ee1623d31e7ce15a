/**
 * Writing `Set-Cookie` headers with the rules browsers enforce applied up front, so that a cookie a browser
 * would silently drop is an error here instead (RFC 6265bis §4.1.3 prefixes, §5.6 size limits).
 */
import { serialize } from 'cookie';
import { KeycardError } from '../errors.js';

/** Browsers drop a cookie whose name, value and attributes exceed 4096 bytes (RFC 6265bis §5.6). */
export const MAX_SET_COOKIE_BYTES = 4096;

/** cookie-name = token (RFC 9110 §5.6.2): tchar only, which keeps `=`, `;`, spaces and separators out. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** cookie-octet (RFC 6265 §4.1.1): printable US-ASCII without DQUOTE, comma, semicolon, backslash or space. */
const COOKIE_VALUE = /^[\u0021\u0023-\u002B\u002D-\u003A\u003C-\u005B\u005D-\u007E]*$/;

export type SameSite = 'strict' | 'lax' | 'none';

export interface CookieAttributes {
  httpOnly: boolean;
  secure: boolean;
  sameSite: SameSite;
  path: string;
  domain?: string | undefined;
  /** Seconds; 0 deletes the cookie. Omitted: a browser-session cookie. */
  maxAgeSeconds?: number | undefined;
}

function misuse(message: string): KeycardError {
  return new KeycardError('internal_error', `cookie refused: ${message}`);
}

/** Serializes one cookie; throws on anything a browser would reject or that breaks a prefix's promise. */
export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  if (!COOKIE_NAME.test(name)) throw misuse(`'${name}' is not a valid cookie name`);
  // The value is not echoed: it may be a credential.
  if (!COOKIE_VALUE.test(value))
    throw misuse(`the value of cookie '${name}' has characters outside cookie-octet`);
  if (name.startsWith('__Host-')) {
    if (!attributes.secure || attributes.path !== '/' || attributes.domain !== undefined) {
      throw misuse(`a __Host- cookie must be Secure, have Path=/ and no Domain (${name})`);
    }
  } else if (name.startsWith('__Secure-') && !attributes.secure) {
    throw misuse(`a __Secure- cookie must be Secure (${name})`);
  }
  if (attributes.sameSite === 'none' && !attributes.secure) {
    throw misuse(`SameSite=None requires Secure (${name})`);
  }
  if (attributes.maxAgeSeconds !== undefined && !Number.isInteger(attributes.maxAgeSeconds)) {
    throw misuse(`Max-Age must be a whole number of seconds (${name})`);
  }
  let header: string;
  try {
    header = serialize(name, value, {
      encode: (v) => v,
      httpOnly: attributes.httpOnly,
      secure: attributes.secure,
      sameSite: attributes.sameSite,
      path: attributes.path,
      domain: attributes.domain,
      maxAge: attributes.maxAgeSeconds,
    });
  } catch {
    // The library's message may echo the value, so it is not passed on.
    throw misuse(`an attribute of cookie '${name}' is invalid (domain or path)`);
  }
  if (Buffer.byteLength(header) > MAX_SET_COOKIE_BYTES) {
    throw misuse(
      `cookie '${name}' would be ${Buffer.byteLength(header)} bytes; browsers drop cookies over 4096`,
    );
  }
  return header;
}
