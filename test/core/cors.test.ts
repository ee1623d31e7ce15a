/**
 * The CORS decision (src/core/http/cors.ts) as a function: which requests get which headers, which
 * preflights are answered and which refused. The HTTP behaviour on both hosts is in
 * test/security/cors.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientRoutes } from '../../src/api/clients.js';
import { adminRoutes, authRoutes } from '../../src/api/routes.js';
import { CORS_ALLOWED_METHODS, type CORSDecision, decideCORS } from '../../src/core/http/cors.js';
import { createKeycard } from '../../src/core/keycard.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { FAST_ARGON2, requestInfo } from './support.js';

const APP = 'https://app.example.com';
const TRUSTED: ReadonlySet<string> = new Set([APP, 'http://localhost:5173']);

function decide(
  method: string,
  headers: Record<string, string | undefined>,
  trusted: ReadonlySet<string> | null = TRUSTED,
): CORSDecision {
  return decideCORS(requestInfo({ method, headers }), trusted);
}

const PREFLIGHT = {
  'Access-Control-Request-Method': 'POST',
  'Access-Control-Request-Headers': 'content-type',
};

describe('decideCORS', () => {
  test('a request without Origin gets nothing but Vary, and nothing at all without trusted origins', () => {
    assert.deepEqual(decide('GET', {}), { action: 'continue', headers: { vary: 'Origin' } });
    assert.deepEqual(decide('POST', {}, null), { action: 'continue', headers: {} });
    // An OPTIONS without Origin is no preflight (curl, a health check).
    assert.deepEqual(decide('OPTIONS', PREFLIGHT, null), { action: 'continue', headers: {} });
  });

  test('a trusted origin gets itself back with credentials, exposed headers and Vary', () => {
    for (const origin of TRUSTED) {
      for (const method of ['GET', 'POST', 'DELETE', 'OPTIONS']) {
        assert.deepEqual(decide(method, { Origin: origin }), {
          action: 'continue',
          headers: {
            'access-control-allow-origin': origin,
            'access-control-allow-credentials': 'true',
            'access-control-expose-headers': 'Retry-After',
            vary: 'Origin',
          },
        });
      }
    }
  });

  test('a preflight from a trusted origin is answered with the lists and a max age', () => {
    assert.deepEqual(decide('OPTIONS', { Origin: APP, ...PREFLIGHT }), {
      action: 'preflight',
      headers: {
        'access-control-allow-origin': APP,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'GET, HEAD, POST, PATCH, DELETE',
        'access-control-allow-headers': 'Content-Type, X-CSRF-Token, Authorization',
        'access-control-max-age': '600',
        vary: 'Origin',
      },
    });
  });

  const untrusted = [
    'null',
    'https://app.example.com:443x',
    'https://app.example.com:8443',
    'http://app.example.com',
    'https://app.example.com.evil.test',
    'https://evil.app.example.com',
    'https://app.example.co',
    'https://app.example.com/',
    'HTTPS://APP.EXAMPLE.COM',
    ' https://app.example.com',
    'https://app.example.com, https://evil.test',
    'http://localhost:5174',
    '*',
    '',
  ];

  test('every other origin gets no CORS header on a request', () => {
    for (const origin of untrusted) {
      for (const method of ['GET', 'POST']) {
        assert.deepEqual(decide(method, { Origin: origin }), {
          action: 'continue',
          headers: { vary: 'Origin' },
        });
      }
    }
  });

  test('a preflight from every other origin is refused, naming the origin and the setting', () => {
    for (const origin of untrusted) {
      const decision = decide('OPTIONS', { Origin: origin, ...PREFLIGHT });
      assert.equal(decision.action, 'refuse', origin);
      assert.deepEqual(decision.headers, { vary: 'Origin' });
      if (decision.action !== 'refuse') continue;
      assert.equal(decision.error.code, 'cors_origin_refused');
      assert.equal(decision.error.status, 403);
      assert.ok(decision.error.message.includes(`'${origin.replaceAll("'", '?')}'`), decision.error.message);
      assert.match(decision.error.message, /trustedOrigins \(keycard serve: --trusted-origin/);
    }
    const none = decide('OPTIONS', { Origin: APP, ...PREFLIGHT }, null);
    assert.equal(none.action, 'refuse');
    if (none.action === 'refuse') assert.match(none.error.message, /no origin is trusted/);
    const opaque = decide('OPTIONS', { Origin: 'null', ...PREFLIGHT });
    if (opaque.action === 'refuse') assert.match(opaque.error.message, /opaque origin/);
  });

  test('a refusal quotes a hostile origin as short printable ASCII', () => {
    const hostile = `https://${'x'.repeat(10_000)}\u0000\n\u202e'"`;
    const decision = decide('OPTIONS', { Origin: hostile, ...PREFLIGHT });
    assert.equal(decision.action, 'refuse');
    if (decision.action !== 'refuse') return;
    assert.ok(decision.error.message.length < 600);
    assert.doesNotMatch(decision.error.message, /[^\x20-\x7e…]/);
    const short = decide('OPTIONS', { Origin: 'https://xx\'\u0000\n\u202e"', ...PREFLIGHT });
    assert.equal(short.action, 'refuse');
    if (short.action === 'refuse') assert.ok(short.error.message.includes(`'https://xx????"'`));
  });

  test('no decision ever allows every origin', () => {
    for (const origin of [APP, ...untrusted]) {
      for (const [method, headers] of [
        ['GET', { Origin: origin }],
        ['OPTIONS', { Origin: origin, ...PREFLIGHT }],
      ] as const) {
        const decision = decide(method, headers);
        assert.notEqual(decision.headers['access-control-allow-origin'], '*');
        const allowed = decision.headers['access-control-allow-origin'];
        if (allowed !== undefined) assert.ok(TRUSTED.has(allowed));
      }
    }
  });

  test("the allowed methods cover every method of the API's route table", () => {
    // guards: a new route method (PATCH, PUT) that cross-origin front ends could not call
    const keycard = createKeycard({ store: new MemoryStore(), passwords: { argon2: FAST_ARGON2 } });
    const methods = new Set(
      [...authRoutes(keycard), ...adminRoutes(keycard), ...clientRoutes(keycard)].map(
        (route) => route.method,
      ),
    );
    for (const method of methods) assert.ok(CORS_ALLOWED_METHODS.includes(method), method);
  });
});
