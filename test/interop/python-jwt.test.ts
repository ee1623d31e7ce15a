/**
 * Interoperability with an independent JOSE implementation, PyJWT (Debian's python3-jwt), both ways:
 * - PyJWT's PyJWKClient fetches a real `keycard serve`'s /.well-known/jwks.json and verifies the access
 *   token a login returned, with the algorithm, issuer and audience pinned;
 * - keycard/verify's `createVerifier`, pointed at a JWKS holding a key PyJWT generated, accepts the
 *   token PyJWT signed, and refuses it tampered with or unsigned (alg "none").
 * For EdDSA (the default), ES256 and RS256. Python runs as a child process, never blocking the event
 * loop: the server it fetches the JWKS from lives in this process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createVerifier } from 'keycard/verify';
import { request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { pythonJWT } from '../helpers/services.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/pyjwt_interop.py', import.meta.url));
const found = pythonJWT();
const ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const;

interface PythonResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runPython(args: string[], stdin: string): Promise<PythonResult> {
  const child = spawn(found.python as string, [SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.end(stdin);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const decodeSegment = (token: string, index: number) =>
  JSON.parse(Buffer.from(token.split('.')[index] ?? '', 'base64url').toString('utf8'));

/** The token with one character in the middle of its signature changed. */
function tamper(token: string): string {
  const at = token.lastIndexOf('.') + Math.floor((token.length - token.lastIndexOf('.')) / 2);
  return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
}

describe('interop: PyJWT verifies tokens keycard serve issues', { skip: found.skipReason }, () => {
  for (const alg of ALGORITHMS) {
    describe(alg, () => {
      let server: TestServer;
      let userId: string;
      before(async () => {
        server = await startTestServer({ flags: { preset: 'api', 'key-algorithm': alg } });
        userId = (await server.keycard.users.create({ username: 'alice', password: 'alice-password' })).id;
      });
      after(async () => {
        await server?.close();
      });

      test('PyJWKClient fetches our JWKS and PyJWT accepts the access token; wrong audience or signature fail', async () => {
        const login = await request(server.url, 'POST', '/auth/login', {
          json: { username: 'alice', password: 'alice-password' },
        });
        assert.equal(login.status, 200, login.text);
        const token = login.json.access_token as string;
        const header = decodeSegment(token, 0);
        assert.equal(header.alg, alg, 'the server signs with the configured algorithm');
        const jwksURL = `${server.url}/.well-known/jwks.json`;

        const verified = await runPython(['verify', jwksURL, alg, 'keycard', 'keycard'], token);
        assert.equal(verified.code, 0, verified.stderr);
        const output = JSON.parse(verified.stdout);
        assert.equal(output.kid, header.kid, 'PyJWKClient picked the key the header names');
        assert.deepEqual(output.header, header);
        assert.deepEqual(output.claims, decodeSegment(token, 1));
        assert.equal(output.claims.sub, userId);
        assert.equal(output.claims.sid, login.json.session.id);
        assert.equal(output.claims.username, 'alice');
        assert.equal(output.claims.exp - output.claims.iat, 900);

        // The checks PyJWT ran were real: the same token fails with another audience or a tampered signature.
        const [wrongAudience, tampered] = await Promise.all([
          runPython(['verify', jwksURL, alg, 'keycard', 'another-service'], token),
          runPython(['verify', jwksURL, alg, 'keycard', 'keycard'], tamper(token)),
        ]);
        assert.equal(wrongAudience.code, 3, wrongAudience.stderr);
        assert.match(wrongAudience.stderr, /InvalidAudienceError/);
        assert.equal(tampered.code, 3, tampered.stderr);
        assert.match(tampered.stderr, /InvalidSignatureError/);
      });
    });
  }
});

describe('interop: keycard/verify accepts tokens PyJWT signs', { skip: found.skipReason }, () => {
  let jwks: { keys: unknown[] } = { keys: [] };
  const jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  let jwksURL: string;
  before(async () => {
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksURL = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  after(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())));

  for (const alg of ALGORITHMS) {
    test(`a token PyJWT signed with ${alg} verifies; tampered or unsigned it is refused`, async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: 'keycard',
        aud: 'keycard',
        sub: 'user-from-python',
        iat: now,
        exp: now + 300,
        jti: `jti-${alg}`,
        sid: 'login-from-python',
        username: 'pat',
        role: 'user',
      };
      const signed = await runPython(['sign', alg], JSON.stringify(claims));
      assert.equal(signed.code, 0, signed.stderr);
      const { jwk, token, unsigned } = JSON.parse(signed.stdout);
      assert.equal(decodeSegment(token, 0).alg, alg);
      jwks = { keys: [jwk] };
      // A fresh verifier per algorithm: it fetches the JWKS that now holds PyJWT's public key.
      const verifier = createVerifier({ jwksURL });
      try {
        const accepted = await verifier.verify(token);
        assert.deepEqual(accepted, { ok: true, claims, kind: 'user' });

        const tampered = await verifier.verify(tamper(token));
        assert.equal(tampered.ok, false);
        assert.deepEqual(tampered.ok ? null : [tampered.code, tampered.reason], [
          'token_invalid',
          'signature',
        ]);

        assert.equal(decodeSegment(unsigned, 0).alg, 'none');
        const none = await verifier.verify(unsigned);
        assert.equal(none.ok, false);
        assert.equal(none.ok ? null : none.code, 'token_invalid');
      } finally {
        await verifier.close();
      }
    });
  }
});
