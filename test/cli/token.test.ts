/**
 * keycard token inspect, run as the real CLI: it verifies with the server's key file (core's verifyJWT)
 * and explains the claims and the verdict; exit 0 valid, 1 failed verification, 2 not a JWT at all.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { signJWT } from '../../src/core/jwt/sign.js';
import { generateJWTKey, type JWTKey } from '../../src/index.js';
import { buildKeySet, generateKeyFile, serializeKeyFile } from '../../src/server/keys.js';
import { request } from '../helpers/http.js';
import { startTestServer } from '../helpers/server.js';
import { assertOneLineFailure, assertSuccess, type CLIResult, runCLI, tempDir } from './helpers.js';

/** A key file in a temp directory, and a signer with its signing key. */
function keyFile(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const path = join(dir, 'keys.json');
  const file = generateKeyFile('EdDSA');
  writeFileSync(path, serializeKeyFile(file), { mode: 0o600 });
  const key = buildKeySet(path, file, Date.now()).signing as JWTKey;
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: 'keycard',
    aud: 'keycard',
    sub: 'u_alice',
    iat: now - 60,
    exp: now + 14 * 60,
    jti: 'jti-1',
    sid: 'login-1',
    username: 'alice',
    role: 'admin',
  };
  const sign = (overrides: Record<string, unknown> = {}, typ = 'at+jwt', signer = key) =>
    signJWT({ ...claims, ...overrides }, signer, { typ });
  const inspect = (args: string[], stdin?: string): Promise<CLIResult> =>
    runCLI(['token', 'inspect', ...args, '--keys', path], { cwd: dir, stdin });
  return { dir, path, key, now, sign, inspect, privateD: (file.signingKeys[0]?.jwk.d as string) ?? '?' };
}

/** The token with one character in the middle of its signature changed. */
function tamper(token: string): string {
  const at = token.lastIndexOf('.') + Math.floor((token.length - token.lastIndexOf('.')) / 2);
  return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
}

const signatureOf = (token: string) => token.slice(token.lastIndexOf('.') + 1);

test('a token from a real server login, on stdin, with the server key file from KEYCARD_KEYS_FILE: valid, exit 0', async (t) => {
  const server = await startTestServer({ flags: { preset: 'api' } });
  t.after(() => server.close());
  const user = await server.keycard.users.create({ username: 'alice', password: 'alice-password' });
  const login = await request(server.url, 'POST', '/auth/login', {
    json: { username: 'alice', password: 'alice-password' },
  });
  assert.equal(login.status, 200, login.text);
  const token = login.json.access_token as string;
  const kid = server.keys.jwtKeys.signing?.kid as string;

  const result = await runCLI(['token', 'inspect', '-'], {
    cwd: server.dir,
    stdin: `${token}\n`,
    env: { KEYCARD_KEYS_FILE: join(server.dir, 'keys.json') },
  });
  assertSuccess(result);
  const out = result.stdout;
  assert.match(out, /^header\n {2}alg {7}EdDSA {2}\(signature algorithm\)\n/);
  assert.match(out, /\n {2}typ {7}at\+jwt {2}\(a user's access token\)\n/);
  assert.ok(out.includes(`  kid       ${kid}  (EdDSA key in the key file, the current signing key)`), out);
  assert.ok(out.includes(`  sub       ${user.id}  (the user's id)`), out);
  assert.ok(out.includes(`  sid       ${login.json.session.id}  (the login it belongs to`), out);
  assert.match(out, /\n {2}username {2}alice {2}/);
  assert.match(out, /\n {2}exp {7}\d{4}-\d\d-\d\dT[\d:.]+Z {2}\(expires in 15 min\)\n/);
  assert.match(out, /\n {2}iat {7}\d{4}-\d\d-\d\dT[\d:.]+Z {2}\(issued \d+ s ago\)\n/);
  assert.match(out, /\nverdict\n {2}valid: signed by key \S+; type, issuer, audience and times check out\n$/);
  assert.ok(!out.includes(signatureOf(token)), 'the signature (and so the token) is never printed');
});

test('an expired token: token_expired, "expired 3 min ago", exit 1; control characters in claims are escaped', async (t) => {
  const keys = keyFile(t);
  const token = keys.sign({ exp: keys.now - 180, note: 'x\u001b[2Jy' });
  const result = await keys.inspect([token]);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stderr, '');
  assert.match(result.stdout, /\n {2}exp {7}\S+Z {2}\(expired 3 min ago\)\n/);
  assert.match(result.stdout, /\nclaims \(signature verified\)\n/);
  assert.match(result.stdout, /\nverdict\n {2}token_expired: it expired 3 min ago; .*genuine\n$/);
  assert.ok(!result.stdout.includes('\u001b'), 'no raw escape sequence reaches the terminal');
  assert.ok(result.stdout.includes('x\\u001b[2Jy'));
});

test('a tampered signature, a wrong audience and an unknown key: token_invalid with the reason, exit 1', async (t) => {
  const keys = keyFile(t);
  const valid = keys.sign();
  const stranger = generateJWTKey('EdDSA', 'someone-elses-key');
  const [tampered, wrongAudience, audienceFlag, unknownKey, control] = await Promise.all([
    keys.inspect([tamper(valid)]),
    keys.inspect([keys.sign({ aud: 'billing' })]),
    keys.inspect([keys.sign({ aud: 'billing' }), '--audience', 'billing']),
    keys.inspect(['--json', keys.sign({}, 'at+jwt', stranger)]),
    keys.inspect([valid]),
  ]);
  assertSuccess(control); // guards: the tampered case fails because of the one changed character

  assert.equal(tampered.code, 1, tampered.stderr);
  assert.match(tampered.stdout, /\nclaims \(unverified: no valid signature vouches for them\)\n/);
  assert.match(
    tampered.stdout,
    /\nverdict\n {2}token_invalid: bad signature: the header or claims were changed/,
  );

  assert.equal(wrongAudience.code, 1, wrongAudience.stderr);
  assert.match(wrongAudience.stdout, /\n {2}aud {7}billing {2}\(expected 'keycard'\)\n/);
  assert.match(
    wrongAudience.stdout,
    /token_invalid: wrong audience: the token is for 'billing', this server expects 'keycard'\n$/,
  );
  assertSuccess(audienceFlag); // --audience sets what is expected, as KEYCARD_AUDIENCE does for the server

  assert.equal(unknownKey.code, 1, unknownKey.stderr);
  const report = JSON.parse(unknownKey.stdout);
  assert.equal(report.valid, false);
  assert.equal(report.code, 'token_invalid');
  assert.equal(report.reason, 'unknown_key');
  assert.match(report.message, /no key with kid 'someone-elses-key' is in the key file/);
  assert.deepEqual(report.key, { kid: 'someone-elses-key', status: 'not in the key file', file: keys.path });
  assert.equal(report.claims.username, 'alice');
  assert.equal(report.times.exp.relative, 'expires in 14 min');

  for (const result of [tampered, wrongAudience, unknownKey]) {
    assert.ok(!result.stdout.includes(keys.privateD), 'no private key material');
    assert.ok(!result.stdout.includes(signatureOf(valid)), 'no signature');
  }
});

test("an API client's token is explained with its scope; --json of a valid token", async (t) => {
  const keys = keyFile(t);
  const token = keys.sign(
    { sub: 'kc_client', client_id: 'kc_client', scope: 'read write', sid: 'client:kc_client:g1' },
    'client-at+jwt',
  );
  const [text, json] = await Promise.all([keys.inspect([token]), keys.inspect(['-', '--json'], token)]);
  assertSuccess(text);
  assert.match(text.stdout, /\n {2}typ {7}client-at\+jwt {2}\(an API client's token\)\n/);
  assert.match(text.stdout, /\n {2}sub {7}kc_client {2}\(the API client's id\)\n/);
  assert.match(text.stdout, /\n {2}scope {5}read write {2}\(what the API client may do\)\n/);
  assert.match(text.stdout, /\n {2}sid {7}client:kc_client:g1 {2}\(the client secret generation/);
  assertSuccess(json);
  const report = JSON.parse(json.stdout);
  assert.equal(report.valid, true);
  assert.equal(report.code, null);
  assert.equal(report.header.kid, keys.key.kid);
  assert.equal(report.claims.scope, 'read write');
  assert.equal(report.times.exp.iso, new Date((keys.now + 14 * 60) * 1000).toISOString());
});

test('not a JWT, no token, a missing key file: one line on stderr, exit 2 (usage) or 1', async (t) => {
  const keys = keyFile(t);
  const [garbage, dots, empty, missing, noKeyFile] = await Promise.all([
    keys.inspect(['hello-world']),
    keys.inspect(['a.b.c']),
    keys.inspect(['-'], ''),
    runCLI(['token', 'inspect'], { cwd: keys.dir }),
    runCLI(['token', 'inspect', keys.sign()], { cwd: keys.dir }),
  ]);
  for (const result of [garbage, dots, empty]) {
    assert.match(
      assertOneLineFailure(result, 2),
      /^keycard: token inspect: this is not a JWT \(expected three/,
    );
  }
  assert.match(
    assertOneLineFailure(missing, 2),
    /token inspect: missing <token\|-> \(see keycard token inspect --help\)/,
  );
  assert.match(assertOneLineFailure(noKeyFile, 1), /the key file \.\/keycard\.keys\.json does not exist/);
});

test('help: keycard --help lists token inspect; token --help warns about shell history', async () => {
  const [top, help] = await Promise.all([runCLI(['--help']), runCLI(['token', 'inspect', '--help'])]);
  assertSuccess(top);
  assert.match(top.stdout, /\n {2}token inspect <token\|->/);
  assertSuccess(help);
  assert.match(help.stdout, /^Usage: keycard token inspect <token\|->/);
  assert.match(help.stdout, /shell history/);
  assert.match(help.stdout, /--json/);
});
