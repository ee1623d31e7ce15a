/**
 * Headers on every auth answer: no caching of anything that may carry a credential or personal data, no
 * MIME sniffing, and no framing. HTML pages also get the full document policy: a strict
 * Content-Security-Policy (the pages use no inline script or style), a referrer only to this origin (so a
 * form refused for step-up can go back to its page: docs/mfa.md), a separate browsing context group. A JSON answer is never rendered as a document, so it carries only what still applies to
 * it (OWASP's REST security headers, and no referrer, as every auth response).
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

export const API_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'content-security-policy': API_CONTENT_SECURITY_POLICY,
  'referrer-policy': 'no-referrer',
});

export const DOCUMENT_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
});

/** The security headers for an answer of this content type. */
export function securityHeaders(contentType: string | undefined): Readonly<Record<string, string>> {
  return contentType?.startsWith('application/json') ? API_HEADERS : DOCUMENT_HEADERS;
}
