/**
 * keycard/verify in Cloudflare's workerd, with no compatibility flag: examples/workers-verify/worker.ts is
 * bundled with esbuild exactly as Wrangler would (conditions `workerd`, `worker`), run in a real workerd
 * through Miniflare, and sent tokens from real `keycard serve` instances (EdDSA, ES256, RS256 from their
 * JWKS; HS256 with the shared secret given as a key) and forged ones. A second Worker (the probe) returns
 * the verifier's whole result, so each refusal is checked for its reason, not only for a 401.
 * Also: the Web build's import graph has no `node:` module, nor keycard's index or stores.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { Miniflare, fetch as miniflareFetch } from 'miniflare';
import { signJWT } from '../../src/core/jwt/sign.js';
import { type Algorithm, generateJWTKey, importJWK, type JWTKey } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.js';
import { request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { IN_CI } from '../helpers/services.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE = join(root, 'examples/workers-verify/worker.ts');
const WEB_CONDITIONS = ['workerd', 'worker'];

/**
 * The probe: the same verifier, answering with its whole result (reason included), and option errors. Its
 * clock is injected (POST /advance?seconds=N moves it), so cooldowns are tested without waiting.
 */
const PROBE = `
import { createVerifier } from 'keycard/verify';
let verifier;
let offsetMs = 0;
const clock = { now: () => Date.now() + offsetMs };
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/advance') {
      offsetMs += Number(url.searchParams.get('seconds')) * 1000;
      return Response.json({ offsetMs });
    }
    if (url.pathname === '/revocations') {
      try {
        createVerifier({ jwksURL: env.JWKS_URL, revocations: 'redis://127.0.0.1:6379' });
        return Response.json({ created: true });
      } catch (error) {
        return Response.json({ code: error.code, message: error.message });
      }
    }
    verifier ??= createVerifier({
      ...(env.JWKS_URL ? { jwksURL: env.JWKS_URL } : { keys: [JSON.parse(env.SHARED_KEY)] }),
      clock,
    });
    return Response.json(await verifier.verify(request.headers.get('x-token') ?? ''));
  },
};
`;

interface Bundle {
  code: string;
  metafile: Metafile;
}

/** Bundles a Worker as Wrangler does: ESM, every import inlined, Web export conditions. */
async function bundle(entry: { path: string } | { contents: string }, conditions: string[]): Promise<Bundle> {
  const result = await build({
    ...('path' in entry
      ? { entryPoints: [entry.path] }
      : { stdin: { contents: entry.contents, resolveDir: root, loader: 'js' as const } }),
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions,
    metafile: true,
    logLevel: 'silent',
  });
  return { code: result.outputFiles[0]?.text ?? '', metafile: result.metafile };
}

/** Every module in a bundle's import graph, and every import it names (node: ones would stay external). */
function graphOf(metafile: Metafile): { inputs: string[]; imports: string[] } {
  const inputs = Object.keys(metafile.inputs);
  const imports = [
    ...Object.values(metafile.inputs).flatMap((input) => input.imports.map((i) => i.path)),
    ...Object.values(metafile.outputs).flatMap((output) => output.imports.map((i) => i.path)),
  ];
  return { inputs, imports };
}

function assertWebGraph(metafile: Metafile, verifyEntry: RegExp): void {
  const { inputs, imports } = graphOf(metafile);
  assert.ok(
    inputs.some((path) => verifyEntry.test(path)),
    `the Web build is in the graph: ${inputs.join(', ')}`,
  );
  for (const path of [...inputs, ...imports]) {
    assert.ok(!path.startsWith('node:'), `no node: import (found ${path})`);
    assert.ok(
      !/(^|\/)(src|dist)\/index\.(ts|js)$/.test(path),
      `no import of keycard's index (found ${path})`,
    );
    assert.ok(!/(^|\/)(src|dist)\/stores\//.test(path), `no import of keycard/stores (found ${path})`);
    assert.ok(
      !/(^|\/)(src|dist)\/verify\/(verifier|jwks|middleware)\./.test(path),
      `no Node verifier (${path})`,
    );
  }
  for (const output of Object.values(metafile.outputs)) {
    assert.deepEqual(output.imports, [], 'everything is bundled: no import is left for the runtime');
  }
}

describe('the Web build of keycard/verify', () => {
  test('its bundled import graph has no node: module, no keycard index, no stores', async () => {
    const { metafile } = await bundle({ path: EXAMPLE }, [...WEB_CONDITIONS, 'source']);
    assertWebGraph(metafile, /src\/verify\/web\/verifier\.ts$/);
  });

  test('the Node build is not what Workers get: bundling it for the Web fails on node: modules', async () => {
    // guards: the graph test above would pass vacuously if the conditions resolved to nothing.
    await assert.rejects(
      bundle({ contents: "export { createVerifier } from 'keycard/verify';" }, ['source']),
      /Could not resolve "(node:)?[a-z_]+"/,
    );
  });

  test('the published files (dist) resolve to the Web build too, with the same clean graph', async (t) => {
    if (!existsSync(join(root, 'dist/verify/web/index.js'))) {
      const reason = 'dist/ is not built (npm run build; npm ci builds it)';
      if (IN_CI) assert.fail(`CI=true: ${reason}`);
      t.skip(reason);
      return;
    }
    const { metafile } = await bundle({ path: EXAMPLE }, WEB_CONDITIONS);
    assertWebGraph(metafile, /dist\/verify\/web\/verifier\.js$/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// In workerd.

interface Issuer {
  alg: Algorithm;
  server: TestServer;
  clock: ManualClock;
  /** The server's signing key (read from its key file), to forge tokens with the real key. */
  key: JWTKey;
  /** The secret as a JWK, for HS256 (no JWKS publishes a secret). */
  sharedKey: Record<string, unknown> | null;
}

const ALGORITHMS: Algorithm[] = ['EdDSA', 'ES256', 'RS256', 'HS256'];
const issuers = new Map<Algorithm, Issuer>();
/** JWKS fetches each Worker made, by worker name. */
const jwksFetches = new Map<string, number>();
let miniflare: Miniflare | undefined;
let skipReason: string | undefined;

async function startIssuer(alg: Algorithm): Promise<Issuer> {
  const clock = new ManualClock(Date.now());
  const server = await startTestServer({ clock, flags: { preset: 'api', 'key-algorithm': alg } });
  await server.keycard.users.create({ username: 'alice', password: 'alice-password', role: 'admin' });
  const file = JSON.parse(readFileSync(join(server.dir, 'keys.json'), 'utf8')) as {
    signingKeys: Array<{ kid: string; alg: Algorithm; jwk: Record<string, unknown> }>;
  };
  const entry = file.signingKeys[0];
  assert.ok(entry, 'the server wrote its signing key');
  const key = importJWK({ ...entry.jwk, kid: entry.kid, alg: entry.alg } as never, 'server key');
  const sharedKey = alg === 'HS256' ? { kty: 'oct', k: entry.jwk.k, kid: entry.kid, alg } : null;
  return { alg, server, clock, key, sharedKey };
}

const workerName = (alg: Algorithm, role: 'example' | 'probe') => `${role}-${alg.toLowerCase()}`;

before(async () => {
  for (const alg of ALGORITHMS) issuers.set(alg, await startIssuer(alg));
  const example = await bundle({ path: EXAMPLE }, [...WEB_CONDITIONS, 'source']);
  const probe = await bundle({ contents: PROBE }, [...WEB_CONDITIONS, 'source']);
  const workers = ALGORITHMS.flatMap((alg) => {
    const issuer = issuers.get(alg) as Issuer;
    const bindings: Record<string, string> = issuer.sharedKey
      ? { SHARED_KEY: JSON.stringify(issuer.sharedKey) }
      : { JWKS_URL: `${issuer.server.url}/.well-known/jwks.json` };
    return (['example', 'probe'] as const).map((role) => {
      const name = workerName(alg, role);
      jwksFetches.set(name, 0);
      return {
        name,
        modules: [
          {
            type: 'ESModule' as const,
            path: `${name}.mjs`,
            contents: (role === 'example' ? example : probe).code,
          },
        ],
        compatibilityDate: '2025-01-01',
        // No compatibilityFlags: in particular no nodejs_compat.
        bindings,
        // Every fetch the Worker makes goes through here: counted, then sent to the real server.
        outboundService: async (outgoing: Request) => {
          if (new URL(outgoing.url).pathname === '/.well-known/jwks.json') {
            jwksFetches.set(name, (jwksFetches.get(name) ?? 0) + 1);
          }
          return miniflareFetch(outgoing.url, { headers: { accept: 'application/json' } });
        },
      };
    });
  });
  try {
    miniflare = new Miniflare({ workers: workers as never });
    await miniflare.ready;
  } catch (error) {
    const reason = `Miniflare/workerd cannot start: ${(error as Error).message}`;
    if (IN_CI) throw new Error(`CI=true: ${reason}`);
    skipReason = reason;
  }
});

after(async () => {
  await miniflare?.dispose();
  for (const issuer of issuers.values()) await issuer.server.close();
});

interface WorkerFetcher {
  fetch(url: string, init?: { headers?: Record<string, string>; method?: string }): Promise<Response>;
}

const workerOf = async (alg: Algorithm, role: 'example' | 'probe'): Promise<WorkerFetcher> =>
  (await (miniflare as Miniflare).getWorker(workerName(alg, role))) as unknown as WorkerFetcher;

async function callWorker(
  alg: Algorithm,
  role: 'example' | 'probe',
  headers: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown>; challenge: string | null }> {
  const response = await (await workerOf(alg, role)).fetch('http://worker.test/orders', { headers });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    challenge: response.headers.get('www-authenticate'),
  };
}

/** The example Worker's answer to a Bearer token. */
const askExample = (alg: Algorithm, token: string) =>
  callWorker(alg, 'example', { authorization: `Bearer ${token}` });
/** The verifier's whole result for a token, from inside workerd. */
const probe = async (alg: Algorithm, token: string) =>
  (await callWorker(alg, 'probe', { 'x-token': token })).body;

async function login(issuer: Issuer): Promise<string> {
  const response = await request(issuer.server.url, 'POST', '/auth/login', {
    json: { username: 'alice', password: 'alice-password' },
  });
  assert.equal(response.status, 200, response.text);
  return response.json.access_token as string;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const decodePart = (token: string, index: number) =>
  JSON.parse(Buffer.from(token.split('.')[index] as string, 'base64url').toString('utf8'));
const nowSeconds = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: 'keycard',
  aud: 'keycard',
  sub: 'forged-user',
  iat: nowSeconds(),
  exp: nowSeconds() + 600,
  sid: 's',
  jti: 'j',
  ...extra,
});

describe('keycard/verify in workerd (Miniflare, no compatibility flags)', () => {
  for (const alg of ALGORITHMS) {
    test(`${alg}: a token from keycard serve gets 200; none gets 401 with a Bearer challenge`, async (t) => {
      if (skipReason) return t.skip(skipReason);
      const issuer = issuers.get(alg) as Issuer;
      const token = await login(issuer);
      assert.equal(decodePart(token, 0).alg, alg);
      // A fresh isolate, four requests at once: all wait for the one JWKS fetch, none hangs or fails.
      const first = await Promise.all([1, 2, 3, 4].map(() => askExample(alg, token)));
      assert.deepEqual(
        first.map((answer) => answer.status),
        [200, 200, 200, 200],
      );
      assert.equal(jwksFetches.get(workerName(alg, 'example')), alg === 'HS256' ? 0 : 1, 'one JWKS fetch');
      const accepted = await askExample(alg, token);
      assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
      assert.equal(accepted.body.kind, 'user');
      assert.equal(accepted.body.role, 'admin');
      assert.equal(accepted.body.sub, decodePart(token, 1).sub);
      const anonymous = await callWorker(alg, 'example', {});
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.challenge, 'Bearer');
      assert.equal((anonymous.body.error as { code: string }).code, 'unauthenticated');
      const basic = await callWorker(alg, 'example', { authorization: 'Basic YWxpY2U6cGFzcw==' });
      assert.equal(basic.status, 401);
      assert.equal(basic.challenge, 'Bearer error="invalid_request"');
    });

    test(`${alg}: a tampered signature or payload is refused`, async (t) => {
      if (skipReason) return t.skip(skipReason);
      const token = await login(issuers.get(alg) as Issuer);
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const flipped = `${signature.slice(0, 5)}${signature[5] === 'A' ? 'B' : 'A'}${signature.slice(6)}`;
      const forgedPayload = b64({ ...decodePart(token, 1), sub: 'someone-else' });
      for (const forged of [`${header}.${payload}.${flipped}`, `${header}.${forgedPayload}.${signature}`]) {
        const answer = await askExample(alg, forged);
        assert.equal(answer.status, 401);
        assert.match(answer.challenge ?? '', /^Bearer error="invalid_token"/);
        assert.deepEqual(await probe(alg, forged), { ok: false, code: 'token_invalid', reason: 'signature' });
      }
    });

    test(`${alg}: an expired token is refused as expired`, async (t) => {
      if (skipReason) return t.skip(skipReason);
      const issuer = issuers.get(alg) as Issuer;
      issuer.clock.advanceSeconds(-3600); // the server issues a 15-minute token an hour ago
      let token: string;
      try {
        token = await login(issuer);
      } finally {
        issuer.clock.advanceSeconds(3600);
      }
      const answer = await askExample(alg, token);
      assert.equal(answer.status, 401);
      assert.equal((answer.body.error as { code: string }).code, 'token_expired');
      assert.deepEqual(await probe(alg, token), { ok: false, code: 'token_expired', reason: 'exp' });
    });

    test(`${alg}: the real key with the wrong issuer, audience or type is refused`, async (t) => {
      if (skipReason) return t.skip(skipReason);
      const { key } = issuers.get(alg) as Issuer;
      const cases: Array<[string, string]> = [
        [signJWT(claims({ iss: 'evil' }), key, { typ: 'at+jwt' }), 'iss'],
        [signJWT(claims({ aud: 'other-service' }), key, { typ: 'at+jwt' }), 'aud'],
        [signJWT(claims(), key, { typ: 'client-at+jwt' }), 'typ'],
        [signJWT(claims({ nbf: nowSeconds() + 3600 }), key, { typ: 'at+jwt' }), 'nbf'],
      ];
      const good = signJWT(claims(), key, { typ: 'at+jwt' });
      assert.equal((await askExample(alg, good)).status, 200, 'the same key and claims, unchanged, pass');
      for (const [token, reason] of cases) {
        assert.equal((await askExample(alg, token)).status, 401, reason);
        assert.deepEqual(await probe(alg, token), { ok: false, code: 'token_invalid', reason });
      }
    });

    test(`${alg}: alg none, another alg in the header, and oversized tokens are refused`, async (t) => {
      if (skipReason) return t.skip(skipReason);
      const { key } = issuers.get(alg) as Issuer;
      const good = signJWT(claims(), key, { typ: 'at+jwt' });
      const [header, payload, signature] = good.split('.') as [string, string, string];
      const decodedHeader = decodePart(good, 0);
      const other = alg === 'HS256' ? 'EdDSA' : 'HS256';
      const cases: Array<[string, string]> = [
        [`${b64({ ...decodedHeader, alg: 'none' })}.${payload}.${signature}`, 'alg_none'],
        [`${b64({ ...decodedHeader, alg: 'NONE' })}.${payload}.${signature}`, 'alg_none'],
        [`${b64({ ...decodedHeader, alg: 'none' })}.${payload}.`, 'malformed'],
        [`${b64({ ...decodedHeader, alg: other })}.${payload}.${signature}`, 'alg_mismatch'],
        [`${b64({ ...decodedHeader, crit: ['exp'] })}.${payload}.${signature}`, 'crit'],
        [`${header}.${payload}.${signature}=`, 'malformed'],
        [signJWT(claims({ padding: 'x'.repeat(9000) }), key, { typ: 'at+jwt' }), 'too_large'],
      ];
      if (alg !== 'HS256') {
        // Algorithm confusion: HS256 "signed" with the public key as the secret, under the real kid.
        const confused = importJWK({
          kty: 'oct',
          k: Buffer.from(JSON.stringify(key.verifyKey.export({ format: 'jwk' }))).toString('base64url'),
          kid: key.kid,
        } as never);
        cases.push([signJWT(claims(), confused, { typ: 'at+jwt' }), 'alg_mismatch']);
      }
      for (const [token, reason] of cases) {
        assert.equal((await askExample(alg, token)).status, 401, reason);
        assert.deepEqual(await probe(alg, token), { ok: false, code: 'token_invalid', reason });
      }
    });
  }

  test('the example Worker: unknown kids and oversized tokens fetch nothing within the cooldown', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const alg: Algorithm = 'ES256';
    const name = workerName(alg, 'example');
    const { key } = issuers.get(alg) as Issuer;
    assert.equal((await askExample(alg, signJWT(claims(), key, { typ: 'at+jwt' }))).status, 200);
    const fetched = jwksFetches.get(name) ?? 0;
    assert.ok(fetched >= 1, 'the Worker fetched the JWKS to verify a token');
    for (const kid of ['flood-1', 'flood-2', 'flood-3']) {
      const answer = await askExample(
        alg,
        signJWT(claims(), generateJWTKey('ES256', kid), { typ: 'at+jwt' }),
      );
      assert.equal(answer.status, 401);
    }
    await askExample(alg, signJWT(claims({ padding: 'x'.repeat(9000) }), key, { typ: 'at+jwt' }));
    assert.equal(jwksFetches.get(name), fetched, 'a flood of unknown kids is not a flood of fetches');
  });

  test('an unknown kid refetches the JWKS once per cooldown (injected clock in workerd)', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const alg: Algorithm = 'EdDSA';
    const name = workerName(alg, 'probe');
    const { key } = issuers.get(alg) as Issuer;
    const probeWorker = await workerOf(alg, 'probe');
    const advance = (seconds: number) =>
      probeWorker.fetch(`http://worker.test/advance?seconds=${seconds}`, { method: 'POST' });
    const unknown = (kid: string) => signJWT(claims(), generateJWTKey('EdDSA', kid), { typ: 'at+jwt' });
    const unknownKey = { ok: false, code: 'token_invalid', reason: 'unknown_key' };

    assert.equal((await probe(alg, signJWT(claims(), key, { typ: 'at+jwt' }))).ok, true);
    const start = jwksFetches.get(name) ?? 0;
    assert.ok(start >= 1);
    await advance(31); // past the 30 s cooldown: the next unknown kid may refetch, once
    assert.deepEqual(await probe(alg, unknown('rotated-1')), unknownKey);
    assert.equal(jwksFetches.get(name), start + 1, 'the unknown kid triggered one refetch');
    assert.deepEqual(await probe(alg, unknown('rotated-2')), unknownKey);
    await advance(20); // 20 s after the refetch: still within the cooldown
    assert.deepEqual(await probe(alg, unknown('rotated-3')), unknownKey);
    assert.equal(jwksFetches.get(name), start + 1, 'within the cooldown, no further fetch');
    await advance(11); // 31 s after the refetch
    assert.deepEqual(await probe(alg, unknown('rotated-4')), unknownKey);
    assert.equal(jwksFetches.get(name), start + 2, 'after the cooldown, one more');
    assert.equal(
      (await probe(alg, signJWT(claims(), key, { typ: 'at+jwt' }))).ok,
      true,
      'known keys still work',
    );
  });

  test('the revocation feed is refused with a configuration error that says why', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const worker = await workerOf('EdDSA', 'probe');
    const response = await worker.fetch('http://worker.test/revocations');
    const answer = (await response.json()) as Record<string, string>;
    assert.equal(answer.code, 'invalid_configuration');
    assert.match(answer.message ?? '', /revocations is not available in keycard\/verify's Web build/);
  });
});
