/**
 * redactURL: the one rule for showing a store URL. Every shape of store URL keycard takes, with the
 * password in the user info or in a `password=` option, and malformed input that no parser would accept
 * but that may still hold a password. redactSecrets: the safety net for text keycard did not write.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { REDACTED, redactSecrets, redactURL } from 'keycard/stores';

const PW = 'S3cretPw-xyz';

/** [input, what must be shown]. */
const SHAPES: [string, string][] = [
  // PostgreSQL: user info, and the query options pg reads like libpq
  ['postgres://postgres:S3cretPw-xyz@127.0.0.1:5432/test', 'postgres://postgres:***@127.0.0.1:5432/test'],
  ['postgresql://app:S3cretPw-xyz@db/app?schema=kc', 'postgresql://app:***@db/app?schema=kc'],
  ['postgres://app@db/app?password=S3cretPw-xyz', 'postgres://app@db/app?password=***'],
  [
    'postgres://app@db/app?sslmode=require&PASSWORD=S3cretPw-xyz',
    'postgres://app@db/app?sslmode=require&PASSWORD=***',
  ],
  ['postgres://app@db/app?Password=S3cretPw-xyz&schema=kc', 'postgres://app@db/app?Password=***&schema=kc'],
  ['postgres://app@db/app?p%61ssword=S3cretPw-xyz', 'postgres://app@db/app?p%61ssword=***'],
  ['postgres://app@db/app?sslpassword=S3cretPw-xyz', 'postgres://app@db/app?sslpassword=***'],
  ['postgres://app:S3cretPw-xyz@db/app?password=S3cretPw-xyz', 'postgres://app:***@db/app?password=***'],
  // Redis: standalone, TLS, Cluster; a password alone, or user and password (ACL)
  ['redis://:S3cretPw-xyz@127.0.0.1:6379', 'redis://:***@127.0.0.1:6379'],
  [
    'redis://default:S3cretPw-xyz@127.0.0.1:6379/2?prefix=kc',
    'redis://default:***@127.0.0.1:6379/2?prefix=kc',
  ],
  ['rediss://app:S3cretPw-xyz@cache.internal', 'rediss://app:***@cache.internal'],
  ['redis+cluster://a:S3cretPw-xyz@h1:7000,h2:7001', 'redis+cluster://a:***@h1:7000,h2:7001'],
  ['redis://:p%40ss%3Aword@h', 'redis://:***@h'],
  // Redis through Sentinel: the servers' password in the user info, the Sentinels' in an option
  [
    'redis+sentinel://app:S3cretPw-xyz@s1:26379,s2:26379/kcprimary?sentinelPassword=S3cretPw-xyz&durability=replicated',
    'redis+sentinel://app:***@s1:26379,s2:26379/kcprimary?sentinelPassword=***&durability=replicated',
  ],
  [
    'redis+sentinel://s1,s2/kcprimary/2?sentinelUsername=watch&SENTINELPASSWORD=S3cretPw-xyz',
    'redis+sentinel://s1,s2/kcprimary/2?sentinelUsername=watch&SENTINELPASSWORD=***',
  ],
  ['redis+sentinel://:S3cret/Pw@xyz@s1/kcprimary', 'redis+sentinel://:***@s1/kcprimary'],
  // MongoDB: host lists, SRV, credentials in options
  ['mongodb://u:S3cretPw-xyz@h1,h2/db?replicaSet=rs0', 'mongodb://u:***@h1,h2/db?replicaSet=rs0'],
  ['mongodb+srv://u:S3cretPw-xyz@cluster0.example.net/db', 'mongodb+srv://u:***@cluster0.example.net/db'],
  [
    'mongodb://h/db?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:S3cretPw-xyz',
    'mongodb://h/db?authMechanism=MONGODB-AWS&authMechanismProperties=***',
  ],
  // Nothing to hide: shown exactly as given
  ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
  ['postgres://postgres@127.0.0.1:5432/test?schema=kc', 'postgres://postgres@127.0.0.1:5432/test?schema=kc'],
  ['sqlite:./keycard.db', 'sqlite:./keycard.db'],
  ['sqlite:/var/lib/keycard/k@1.db', 'sqlite:/var/lib/keycard/k@1.db'],
  ['memory:', 'memory:'],
  ['postgres://u:@h/db', 'postgres://u:@h/db'],
  ['postgres://u@h/db?password=', 'postgres://u@h/db?password='],
  // A sqlite or memory URL has no user info, but its query is searched all the same
  ['sqlite:./k.db?password=S3cretPw-xyz', 'sqlite:./k.db?password=***'],
  // Malformed: a password written without percent-encoding, a broken host, a missing scheme or slash
  ['postgres://u:S3cretPw@xyz/more@host/db', 'postgres://u:***@host/db'],
  ['redis://:S3cret/Pw?xyz#q@host', 'redis://:***@host'],
  ['postgres://postgres:S3cretPw-xyz@[::1/test', 'postgres://postgres:***@[::1/test'],
  ['postgres:/postgres:S3cretPw-xyz@h/db', 'postgres:/postgres:***@h/db'],
  ['postgres:postgres:S3cretPw-xyz@h/db', 'postgres:***@h/db'],
  ['postgres//u:S3cretPw-xyz@h', 'postgres//u:***@h'],
  ['u:S3cretPw-xyz@h', 'u:***@h'],
  ['//u:S3cretPw-xyz@h', '//u:***@h'],
  ['postgres://h/db password=S3cretPw-xyz', 'postgres://h/db password=***'],
  ['redis://:S3cretPw-xyz@h?x=1#password=S3cretPw-xyz', 'redis://:***@h?x=1#password=***'],
  // An @ in the query makes the rule hide more than needed, never less
  ['postgres://h:5432/db?application_name=a@b', 'postgres://h:***@b'],
];

describe('redactURL', () => {
  for (const [input, shown] of SHAPES) {
    test(`${input} → ${shown}`, () => {
      assert.equal(redactURL(input), shown);
    });
  }

  test('no output of the table contains the password, and the input is never returned when it had one', () => {
    for (const [input] of SHAPES) {
      const shown = redactURL(input);
      assert.ok(!shown.includes(PW) && !shown.includes('S3cret'), `${input} → ${shown}`);
      if (input.includes('S3cret')) assert.notEqual(shown, input);
    }
  });

  test('a password of any length is hidden, even one character', () => {
    assert.equal(redactURL('redis://:x@h'), `redis://:${REDACTED}@h`);
    assert.equal(redactURL('postgres://h/db?password=x'), `postgres://h/db?password=${REDACTED}`);
  });

  test('a value that is not a string is never echoed', () => {
    assert.equal(redactURL({ toString: () => PW } as unknown as string), REDACTED);
  });
});

describe('redactSecrets', () => {
  const url = 'postgres://app:S3cret%22Pw%5Cxyz@db/app?sslpassword=Other-Secret-9';

  test('hides the URL and its secrets in every form: as written, percent-decoded and JSON-escaped', () => {
    const decoded = 'S3cret"Pw\\xyz';
    const text = [
      `connecting to ${url}`,
      `auth failed with S3cret%22Pw%5Cxyz`,
      `auth failed with ${decoded}`,
      JSON.stringify({ err: { args: [decoded] } }),
      'ssl key password Other-Secret-9',
    ].join('\n');
    const safe = redactSecrets(text, url);
    for (const form of ['S3cret', 'Other-Secret-9']) assert.ok(!safe.includes(form), safe);
    assert.ok(safe.includes('connecting to postgres://app:***@db/app?sslpassword=***'), safe);
    // The JSON line stays JSON.
    assert.deepEqual(JSON.parse(safe.split('\n')[3] as string), { err: { args: ['***'] } });
  });

  test('with hideUser, also the user name, which a driver may quote from a URL it cannot parse', () => {
    const url = 'mongodb://us/er:S3cretPw-xyz@h/db';
    const message = 'Username contains unescaped characters us/er';
    assert.equal(redactSecrets(message, url), message);
    assert.equal(
      redactSecrets(message, url, { hideUser: true }),
      'Username contains unescaped characters ***',
    );
  });

  test('hides a Sentinel password that a driver message quotes, decoded', () => {
    const url = 'redis+sentinel://s1/kcprimary?sentinelPassword=S3cret%26Pw-xyz';
    const safe = redactSecrets('sentinel AUTH S3cret&Pw-xyz refused by s1:26379', url);
    assert.equal(safe, 'sentinel AUTH *** refused by s1:26379');
  });

  test('leaves text alone when the URL has no secret, and keeps user names', () => {
    const text = 'user app on db.internal: connection refused';
    assert.equal(redactSecrets(text, 'postgres://app@db.internal/app'), text);
    assert.equal(redactSecrets(text, 'postgres://app:S3cretPw-xyz@db.internal/app'), text);
  });
});
