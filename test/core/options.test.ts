import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { type KeycardOptions, resolveOptions } from '../../src/core/options.js';
import { OWASP_ARGON2ID } from '../../src/core/passwords/hash.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { ManualClock } from '../helpers/clock.js';
import { expectKeycardError, FAST_ARGON2, thrown } from './support.js';

const store = new MemoryStore();
after(() => store.close());

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function resolve(options: Partial<KeycardOptions> = {}) {
  return resolveOptions({ store, environment: 'development', ...options });
}

describe('resolveOptions: presets and defaults', () => {
  test('defaults to the web-app preset: idle 24 h, absolute 7 d, Lax, persistent', () => {
    const options = resolve();
    assert.equal(options.preset, 'web-app');
    assert.equal(options.strategy, 'session');
    assert.deepEqual(options.session, {
      idleTimeoutMs: DAY,
      absoluteTimeoutMs: 7 * DAY,
      touchIntervalMs: DAY / 10,
      maxDataBytes: 16_384,
      maxLoginsPerUser: 100,
    });
    assert.deepEqual(options.cookie, {
      name: 'keycard_session',
      sameSite: 'lax',
      secure: 'auto',
      domain: undefined,
      persistent: true,
    });
    assert.equal(options.trustedOrigins, null);
    assert.deepEqual(options.passwordPolicy, { minLength: 8, maxLength: 1024 });
    assert.deepEqual(options.argon2, OWASP_ARGON2ID);
    assert.equal(options.clock, systemClock);
    assert.equal(options.store, store);
  });

  test('web-app named explicitly gives the same values as the default', () => {
    const explicit = resolve({ preset: 'web-app' });
    assert.deepEqual(explicit.session, resolve().session);
    assert.deepEqual(explicit.cookie, resolve().cookie);
  });

  test('banking: idle 15 min, absolute 8 h, Strict, a browser-session cookie', () => {
    const options = resolve({ preset: 'banking' });
    assert.equal(options.preset, 'banking');
    assert.equal(options.session.idleTimeoutMs, 15 * MINUTE);
    assert.equal(options.session.absoluteTimeoutMs, 8 * HOUR);
    assert.equal(options.session.touchIntervalMs, 90_000);
    assert.equal(options.cookie.sameSite, 'strict');
    assert.equal(options.cookie.persistent, false);
  });

  test('overrides win over the preset, and the rest of the preset stays', () => {
    const options = resolve({
      preset: 'banking',
      session: { idleTimeout: '30m', touchInterval: '1m', maxDataBytes: 4096 },
      cookie: { sameSite: 'lax', persistent: true, name: 'bank', domain: 'bank.example' },
    });
    assert.equal(options.session.idleTimeoutMs, 30 * MINUTE);
    assert.equal(options.session.absoluteTimeoutMs, 8 * HOUR);
    assert.equal(options.session.touchIntervalMs, MINUTE);
    assert.equal(options.session.maxDataBytes, 4096);
    assert.equal(options.cookie.sameSite, 'lax');
    assert.equal(options.cookie.persistent, true);
    assert.equal(options.cookie.name, 'bank');
    assert.equal(options.cookie.domain, 'bank.example');
  });

  test('passes the injected clock, Argon2 parameters and password policy through', () => {
    const clock = new ManualClock();
    const options = resolve({ clock, passwords: { minLength: 12, argon2: FAST_ARGON2 } });
    assert.equal(options.clock, clock);
    assert.deepEqual(options.argon2, FAST_ARGON2);
    assert.equal(options.passwordPolicy.minLength, 12);
    assert.equal(options.passwordPolicy.maxLength, 1024);
  });

  test('normalises trusted origins into a set', () => {
    const options = resolve({ trustedOrigins: ['https://front.example', 'http://localhost:5173/'] });
    assert.deepEqual([...(options.trustedOrigins ?? [])], ['https://front.example', 'http://localhost:5173']);
  });

  test('allows cookie.secure: false in development', () => {
    assert.equal(resolve({ cookie: { secure: false } }).cookie.secure, false);
  });

  test('takes the environment from NODE_ENV when not given', () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      assert.equal(resolveOptions({ store }).environment, 'production');
      expectKeycardError(
        thrown(() => resolveOptions({ store, cookie: { secure: false } })),
        'invalid_configuration',
      );
    } finally {
      if (previous === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = previous;
    }
    assert.equal(
      resolveOptions({ store }).environment,
      previous === 'production' ? 'production' : 'development',
    );
  });
});

describe('resolveOptions: refusals say what to do', () => {
  // Inputs are typed loosely on purpose: they are what a JavaScript caller or a config file can pass.
  const refusals: Array<[string, unknown, RegExp]> = [
    [
      'an idle timeout longer than the absolute timeout',
      { session: { idleTimeout: '2h', absoluteTimeout: '1h' } },
      /session\.idleTimeout must not be longer than session\.absoluteTimeout/,
    ],
    [
      'a touch interval equal to the idle timeout',
      { session: { idleTimeout: '1h', touchInterval: '1h' } },
      /session\.touchInterval must be shorter than session\.idleTimeout/,
    ],
    [
      'a touch interval longer than the idle timeout',
      { session: { idleTimeout: '1h', touchInterval: '2h' } },
      /session\.touchInterval must be shorter/,
    ],
    [
      'a bare-number idle timeout',
      { session: { idleTimeout: 900 } },
      /session\.idleTimeout must be a duration string such as '15m'/,
    ],
    [
      'a unit-less absolute timeout',
      { session: { absoluteTimeout: '15' } },
      /session\.absoluteTimeout is '15'/,
    ],
    ['a bad touch interval', { session: { touchInterval: '0s' } }, /session\.touchInterval is '0s'/],
    [
      'maxDataBytes of 1',
      { session: { maxDataBytes: 1 } },
      /session\.maxDataBytes must be a whole number between 2 and 1048576/,
    ],
    ['fractional maxDataBytes', { session: { maxDataBytes: 100.5 } }, /session\.maxDataBytes/],
    ['maxDataBytes over 1 MiB', { session: { maxDataBytes: 2_000_000 } }, /session\.maxDataBytes/],
    [
      'a cookie name with a space',
      { cookie: { name: 'my session' } },
      /cookie\.name must be 1–64 letters, digits, _ or -/,
    ],
    ['a cookie name with a semicolon', { cookie: { name: 'a;b' } }, /cookie\.name/],
    ['an empty cookie name', { cookie: { name: '' } }, /cookie\.name/],
    ['a 65-character cookie name', { cookie: { name: 'a'.repeat(65) } }, /cookie\.name/],
    [
      'a cookie name that already has the __Host- prefix',
      { cookie: { name: '__Host-sid' } },
      /without a __Host-\/__Secure- prefix/,
    ],
    [
      'a cookie name that already has the __Secure- prefix',
      { cookie: { name: '__Secure-sid' } },
      /without a __Host-\/__Secure- prefix/,
    ],
    [
      'a cookie name with the prefix in other case',
      { cookie: { name: '__HOST-sid' } },
      /without a __Host-\/__Secure- prefix/,
    ],
    [
      'cookie.secure: false in production',
      { environment: 'production', cookie: { secure: false } },
      /cookie\.secure: false is refused in production/,
    ],
    ["cookie.secure: 'yes'", { cookie: { secure: 'yes' } }, /cookie\.secure must be 'auto', true or false/],
    ["SameSite 'none'", { cookie: { sameSite: 'none' } }, /cookie\.sameSite must be 'lax' or 'strict'/],
    [
      "SameSite 'Lax' (wrong case)",
      { cookie: { sameSite: 'Lax' } },
      /cookie\.sameSite must be 'lax' or 'strict'/,
    ],
    [
      'a cookie domain with a space',
      { cookie: { domain: 'exa mple.com' } },
      /cookie\.domain 'exa mple\.com' is not a host name/,
    ],
    [
      'a cookie domain with an empty label',
      { cookie: { domain: 'a..example' } },
      /cookie\.domain 'a\.\.example' is not a host name/,
    ],
    ['a cookie domain with a label starting with -', { cookie: { domain: '-a.example' } }, /cookie\.domain/],
    [
      'a trusted origin with a path',
      { trustedOrigins: ['https://front.example/login'] },
      /trustedOrigins: 'https:\/\/front\.example\/login' must be scheme:\/\/host\[:port\] only, with no path \(did you mean 'https:\/\/front\.example'\?\)/,
    ],
    [
      'a trusted origin with a query',
      { trustedOrigins: ['https://front.example?x=1'] },
      /did you mean 'https:\/\/front\.example'/,
    ],
    [
      'a trusted origin without a scheme',
      { trustedOrigins: ['front.example'] },
      /trustedOrigins: 'front\.example' is not an origin such as https:\/\/app\.example\.com/,
    ],
    [
      'a trusted origin with another scheme',
      { trustedOrigins: ['ftp://front.example'] },
      /must be scheme:\/\/host\[:port\] only/,
    ],
    [
      'an empty trustedOrigins list',
      { trustedOrigins: [] },
      /trustedOrigins must be a non-empty list of origins/,
    ],
    [
      'trustedOrigins as a string',
      { trustedOrigins: 'https://front.example' },
      /trustedOrigins must be a non-empty list/,
    ],
    [
      'an unknown preset',
      { preset: 'kiosk' },
      /preset 'kiosk' is unknown; choose one of: web-app, banking, spa, api, microservices, mobile/,
    ],
    ['the spa preset without keys (hybrid)', { preset: 'spa' }, /jwt\.keys is required/],
    [
      'a preset named after an Object.prototype property',
      {
        preset: 'toString',
        strategy: 'session',
        session: { idleTimeout: '1h', absoluteTimeout: '2h' },
        cookie: { sameSite: 'lax', persistent: false },
      },
      /preset 'toString' is unknown; choose one of: web-app, banking/,
    ],
    ["the preset '__proto__'", { preset: '__proto__' }, /preset '__proto__' is unknown/],
    [
      'an unknown strategy',
      { strategy: 'cookies' },
      /strategy 'cookies' is unknown; choose one of: session, jwt, hybrid/,
    ],
    ['the jwt strategy without keys', { strategy: 'jwt' }, /jwt\.keys is required/],
    ['a jwt preset without keys', { preset: 'api' }, /jwt\.keys is required/],
    [
      'a password minimum under 8',
      { passwords: { minLength: 6 } },
      /passwords\.minLength must be a whole number of at least 8/,
    ],
  ];
  for (const [label, input, message] of refusals) {
    test(`refuses ${label}`, () => {
      const error = expectKeycardError(
        thrown(() => resolve(input as Partial<KeycardOptions>)),
        'invalid_configuration',
      );
      assert.match(error.message, message);
    });
  }

  const missingStore: Array<[string, unknown]> = [
    ['no store', {}],
    ['a store that is not a store', { store: {} }],
    ['a null store', { store: null }],
  ];
  for (const [label, input] of missingStore) {
    test(`refuses ${label}, naming a store to pass`, () => {
      const error = expectKeycardError(
        thrown(() => resolveOptions(input as KeycardOptions)),
        'invalid_configuration',
      );
      assert.match(
        error.message,
        /options\.store is required: pass a store such as new SQLiteStore\(\{ path \}\)/,
      );
    });
  }

  test('refuses a missing options object', () => {
    const error = expectKeycardError(
      thrown(() => resolveOptions(undefined as unknown as KeycardOptions)),
      'invalid_configuration',
    );
    assert.match(error.message, /createKeycard needs an options object/);
  });
});

describe('resolveOptions: roles', () => {
  test('are user and admin unless the app lists its own', () => {
    assert.deepEqual(resolve().roles, ['user', 'admin']);
    assert.deepEqual(resolve({ roles: ['user', 'editor', 'admin'] }).roles, ['user', 'editor', 'admin']);
  });

  const refused: [string, unknown, RegExp][] = [
    ['an empty list', [], /non-empty list/],
    ['a name that is not an identifier', ['user', 'Super Admin'], /"Super Admin" is not a role name/],
    ['a repeated role', ['user', 'admin', 'admin'], /must not repeat/],
    ['a list without user, the default role', ['admin'], /must include 'user'/],
  ];
  for (const [label, roles, message] of refused) {
    test(`refuses ${label}`, () => {
      const error = expectKeycardError(
        thrown(() => resolve({ roles: roles as string[] })),
        'invalid_configuration',
      );
      assert.match(error.message, message);
    });
  }
});
