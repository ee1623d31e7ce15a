/**
 * Abuse suite: keys are used only for what they are for (RFC 7517 §4.2 `use`, §4.3 `key_ops`). A key
 * marked for encryption — `"use": "enc"`, `"key_ops": ["encrypt"]` — or whose marks are malformed
 * (unknown or repeated operations, `use` and `key_ops` that disagree) never checks a signature: refused
 * with the reason when imported from configuration or a key file, skipped (and reported) in a JWKS while
 * the JWKS's other keys keep working — end to end through `createVerifier` and a JWKS served over HTTP.
 */
import assert from 'node:assert/strict';
import { sign as signBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportPublicJWK } from '../../src/core/jwt/keys.js';
import { signJWT } from '../../src/core/jwt/sign.js';
import {
  exportPrivateJWK,
  generateJWTKey,
  importJWK,
  type JWTKey,
  KeycardError,
  verifyJWT,
} from '../../src/index.js';
import {
  generateKeyFile,
  loadServerConfig,
  loadServerKeys,
  startServer,
  writeKeyFile,
} from '../../src/server/index.js';
import { createVerifier } from '../../src/verify/index.js';
import { ManualClock } from '../helpers/clock.js';
import { forgeJWT } from './helpers.js';

type Marks = { use?: unknown; key_ops?: unknown };

const clock = new ManualClock(Date.now());
const claims = () => {
  const now = Math.floor(clock.now() / 1000);
  return { iss: 'keycard', aud: 'keycard', sub: 'user-1', iat: now, exp: now + 900, jti: 'j', sid: 's' };
};

/** The public JWK of `key` with the given marks instead of the `"use": "sig"` keycard publishes. */
function publicJWK(key: JWTKey, marks: Marks): Record<string, unknown> {
  const { use: _published, ...jwk } = exportPublicJWK(key) as unknown as Record<string, unknown>;
  return { ...jwk, ...marks };
}

/** True when `key` verifies a token `signer` signed. */
function verifies(key: JWTKey, signer: JWTKey): boolean {
  const token = signJWT(claims(), signer, { typ: 'at+jwt' });
  return verifyJWT(token, () => key, {
    typ: 'at+jwt',
    issuer: 'keycard',
    audience: 'keycard',
    leewaySeconds: 0,
    maxTokenBytes: 8192,
    now: clock.now() / 1000,
  }).ok;
}

const refusedWith = (pattern: RegExp) => (error: unknown) =>
  error instanceof KeycardError && error.code === 'invalid_configuration' && pattern.test(error.message);

/** Public-key marks that are refused, with what the message must say. */
const UNFIT: [string, Marks, RegExp][] = [
  ['use "enc"', { use: 'enc' }, /use "enc" marks a key that is not for signatures/],
  [
    'use "SIG" (values are case-sensitive)',
    { use: 'SIG' },
    /use "SIG" marks a key that is not for signatures/,
  ],
  ['a use that is not a string', { use: 7 }, /use must be a string/],
  [
    'key_ops ["encrypt"]',
    { key_ops: ['encrypt'] },
    /key_ops \[encrypt\] marks a key that is not for signatures/,
  ],
  ['key_ops ["sign"] on a public key', { key_ops: ['sign'] }, /key_ops \[sign\] does not include "verify"/],
  ['an empty key_ops', { key_ops: [] }, /key_ops \[\] does not include "verify"/],
  ['key_ops that is not a list', { key_ops: 'verify' }, /key_ops must be a list/],
  ['a duplicate operation', { key_ops: ['verify', 'verify'] }, /key_ops lists "verify" twice/],
  [
    'an unknown operation',
    { key_ops: ['verify', 'frobnicate'] },
    /key_ops has "frobnicate", which is not a key operation/,
  ],
  [
    'signature and encryption operations together',
    { key_ops: ['verify', 'encrypt'] },
    /mixes signature operations with unrelated ones/,
  ],
  [
    'use "sig" with key_ops ["encrypt"]',
    { use: 'sig', key_ops: ['encrypt'] },
    /use "sig" and key_ops \[encrypt\] disagree/,
  ],
  [
    'use "enc" with key_ops ["verify"]',
    { use: 'enc', key_ops: ['verify'] },
    /use "enc" and key_ops \[verify\] disagree/,
  ],
  [
    'use "enc" with key_ops ["encrypt"] (consistent, not for signatures)',
    { use: 'enc', key_ops: ['encrypt'] },
    /use "enc" marks a key/,
  ],
];

/** Public-key marks that verify. */
const FIT: [string, Marks][] = [
  ['no use and no key_ops', {}],
  ['use "sig"', { use: 'sig' }],
  ['key_ops ["verify"]', { key_ops: ['verify'] }],
  ['use "sig" with key_ops ["verify"]', { use: 'sig', key_ops: ['verify'] }],
];

describe('importing a public key for verification', () => {
  const key = generateJWTKey('ES256', 'k1');
  for (const [label, marks, message] of UNFIT) {
    test(`refuses ${label}, naming the key and the reason`, () => {
      assert.throws(
        () => importJWK(publicJWK(key, marks) as never, 'keys[3]'),
        refusedWith(new RegExp(`^keys\\[3\\]: .*${message.source}`)),
      );
    });
  }
  for (const [label, marks] of FIT) {
    test(`accepts ${label}`, () => {
      const imported = importJWK(publicJWK(key, marks) as never, 'keys[0]');
      assert.equal(imported.signKey, undefined);
      assert.ok(verifies(imported, key));
    });
  }
});

describe('importing a private key or a secret', () => {
  const pair = generateJWTKey('EdDSA', 'p1');
  const privateJWK = (marks: Marks) => ({ ...exportPrivateJWK(pair), ...marks }) as never;

  test('key_ops ["sign"] signs, and its public half verifies (the form WebCrypto exports)', () => {
    const key = importJWK(privateJWK({ key_ops: ['sign'] }));
    assert.ok(key.signKey);
    assert.ok(verifies(key, key));
  });

  test('key_ops ["verify"] verifies only: it never signs', () => {
    const key = importJWK(privateJWK({ key_ops: ['verify'] }));
    assert.equal(key.signKey, undefined);
    assert.ok(verifies(key, pair));
    assert.throws(() => signJWT(claims(), key, { typ: 'at+jwt' }), /cannot sign/);
  });

  test('key_ops ["decrypt"], use "enc" and a repeated "sign" are refused', () => {
    assert.throws(() => importJWK(privateJWK({ key_ops: ['decrypt'] })), refusedWith(/not for signatures/));
    assert.throws(() => importJWK(privateJWK({ use: 'enc' })), refusedWith(/use "enc"/));
    assert.throws(() => importJWK(privateJWK({ key_ops: ['sign', 'sign'] })), refusedWith(/"sign" twice/));
  });

  test('an HS256 secret: ["sign", "verify"] both, ["verify"] verifies only, ["sign"] alone is refused', () => {
    const secret = generateJWTKey('HS256', 'h1');
    const jwk = (marks: Marks) => ({ ...exportPrivateJWK(secret), ...marks }) as never;
    assert.ok(importJWK(jwk({ key_ops: ['sign', 'verify'] })).signKey);
    const verifyOnly = importJWK(jwk({ key_ops: ['verify'] }));
    assert.equal(verifyOnly.signKey, undefined);
    assert.ok(verifies(verifyOnly, secret));
    assert.throws(() => importJWK(jwk({ key_ops: ['sign'] })), refusedWith(/does not include "verify"/));
  });
});

describe('createVerifier', () => {
  test('with local keys: a key marked for encryption is a configuration error that says which and why', () => {
    const key = generateJWTKey('EdDSA', 'local');
    assert.throws(
      () => createVerifier({ keys: [publicJWK(key, { use: 'sig' }), publicJWK(key, { use: 'enc' })], clock }),
      refusedWith(/^keys\[1\]: use "enc" marks a key that is not for signatures/),
    );
  });

  describe('with a JWKS served over HTTP', () => {
    // One key pair per entry, each under its own kid; the JWKS carries them with these marks.
    const entries: { kid: string; marks: Marks; fit: boolean; key: JWTKey }[] = [
      ...FIT.map(([, marks], index) => ({ kid: `fit-${index}`, marks, fit: true })),
      ...UNFIT.map(([, marks], index) => ({ kid: `unfit-${index}`, marks, fit: false })),
    ].map((entry) => ({ ...entry, key: generateJWTKey('EdDSA', entry.kid) }));
    let jwks: Record<string, unknown>[] = [];
    let fetches = 0;
    const server: Server = createServer((_request, response) => {
      fetches++;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: jwks }));
    });
    let url = '';
    before(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    });
    after(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    test('verifies with the keys fit for signatures; skips, reports and never uses the others', async () => {
      jwks = entries.map(({ key, marks }) => publicJWK(key, marks));
      fetches = 0;
      const errors: string[] = [];
      const verifier = createVerifier({
        jwksURL: url,
        clock,
        jwksCooldown: '1h',
        onError: (error) => errors.push((error as Error).message),
      });
      try {
        for (const { kid, fit, key } of entries) {
          const result = await verifier.verify(signJWT(claims(), key, { typ: 'at+jwt' }));
          assert.equal(
            result.ok,
            fit,
            `${kid} (${JSON.stringify(entries.find((e) => e.kid === kid)?.marks)})`,
          );
          if (!result.ok) assert.equal(result.code, 'token_invalid');
        }
      } finally {
        await verifier.close();
      }
      // One fetch: the unfit keys did not fail the set (nor make every unknown kid refetch it).
      assert.equal(fetches, 1);
      // A key plainly published for another purpose (`use` other than "sig") is skipped quietly — a JWKS
      // with encryption keys beside its signing keys is normal; broken keys are reported.
      const quiet = (marks: Marks) => typeof marks.use === 'string' && marks.use !== 'sig';
      const reported = UNFIT.map(([, marks], index) => ({ marks, index })).filter(
        ({ marks }) => !quiet(marks),
      );
      assert.equal(errors.length, reported.length, errors.join('\n'));
      for (const { index } of reported) {
        assert.ok(
          errors.some((message) => message.startsWith(`JWKS key ${FIT.length + index}: `)),
          errors.join('\n'),
        );
      }
    });

    // guards: the one key of a JWKS being used for a token without kid, even when it is marked "enc"
    test('a JWKS whose only key is marked for encryption verifies nothing, not even a token without kid', async () => {
      const encryption = generateJWTKey('EdDSA', 'enc-only');
      jwks = [publicJWK(encryption, { use: 'enc' })];
      const verifier = createVerifier({ jwksURL: url, clock, jwksCooldown: '1h', onError: () => {} });
      try {
        const withoutKid = forgeJWT({ alg: 'EdDSA', typ: 'at+jwt' }, claims(), (input) =>
          signBytes(null, input, encryption.signKey as never),
        );
        const withKid = signJWT(claims(), encryption, { typ: 'at+jwt' });
        for (const token of [withoutKid, withKid]) {
          const result = await verifier.verify(token);
          assert.equal(result.ok, false);
        }
        // The control: the same key marked "sig" verifies both.
        jwks = [publicJWK(encryption, { use: 'sig' })];
        const fresh = createVerifier({ jwksURL: url, clock });
        assert.equal((await fresh.verify(withoutKid)).ok, true);
        assert.equal((await fresh.verify(withKid)).ok, true);
        await fresh.close();
      } finally {
        await verifier.close();
      }
    });

    test('a private key published in a JWKS is never used, whatever its key_ops', async () => {
      const leaked = generateJWTKey('EdDSA', 'leaked');
      jwks = [{ ...exportPrivateJWK(leaked), key_ops: ['verify'] }];
      const verifier = createVerifier({ jwksURL: url, clock, jwksCooldown: '1h' });
      try {
        assert.equal((await verifier.verify(signJWT(claims(), leaked, { typ: 'at+jwt' }))).ok, false);
      } finally {
        await verifier.close();
      }
    });
  });
});

describe('the server key file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-key-use-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A key file whose one signing key has these marks on its private JWK. */
  function keyFile(name: string, marks: Marks): string {
    const file = generateKeyFile('EdDSA');
    const entry = file.signingKeys[0] as (typeof file.signingKeys)[number];
    entry.jwk = { ...entry.jwk, ...marks };
    const path = join(dir, `${name}.json`);
    writeKeyFile(path, file);
    return path;
  }
  const load = (path: string) => loadServerKeys(path, { environment: 'production', needSigningKeys: true });

  const refused: [string, Marks, RegExp][] = [
    ['use "enc"', { use: 'enc' }, /signingKeys\[0\]: use "enc" marks a key that is not for signatures/],
    [
      'key_ops ["encrypt"]',
      { key_ops: ['encrypt'] },
      /signingKeys\[0\]: key_ops \[encrypt\] marks a key that is not for signatures/,
    ],
    [
      'key_ops ["verify"] (it could not sign)',
      { key_ops: ['verify'] },
      /signingKeys\[0\] \(eddsa-\w+\) cannot sign: its key_ops do not include "sign"/,
    ],
    ['a duplicate operation', { key_ops: ['sign', 'sign'] }, /signingKeys\[0\]: key_ops lists "sign" twice/],
    ['an unknown operation', { key_ops: ['sign', 'seal'] }, /signingKeys\[0\]: key_ops has "seal"/],
    [
      'use "sig" with key_ops ["decrypt"]',
      { use: 'sig', key_ops: ['decrypt'] },
      /signingKeys\[0\]: use "sig" and key_ops \[decrypt\] disagree/,
    ],
  ];
  for (const [label, marks, message] of refused) {
    test(`refuses a signing key with ${label}, saying which key and why`, () => {
      const path = keyFile(label.replace(/\W+/g, '-'), marks);
      assert.throws(() => load(path), refusedWith(new RegExp(`key file ${path}: .*${message.source}`)));
    });
  }

  test('accepts use "sig" and key_ops ["sign"] or ["sign", "verify"]: it signs and verifies', () => {
    for (const marks of [{ use: 'sig' }, { key_ops: ['sign'] }, { key_ops: ['sign', 'verify'] }]) {
      const keys = load(keyFile(`ok-${JSON.stringify(marks).replace(/\W+/g, '')}`, marks));
      const signing = keys.jwtKeys.signing as JWTKey;
      assert.ok(verifies(signing, signing));
    }
  });

  test('keycard serve refuses to start on such a key file', async () => {
    const config = loadServerConfig({
      flags: {
        port: '0',
        host: '127.0.0.1',
        strategy: 'jwt',
        env: 'production',
        store: `sqlite:${join(dir, 'keycard.db')}`,
        keys: keyFile('serve-enc', { use: 'enc' }),
      },
      env: {},
    });
    await assert.rejects(startServer(config), refusedWith(/signingKeys\[0\]: use "enc"/));
  });
});
