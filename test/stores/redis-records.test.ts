/**
 * The Redis store's session decoding (records.ts), without a server: `parseSession` reads the raw HGETALL
 * reply (Buffers) in one pass. The hash layout is unchanged from the version that decoded through
 * ioredis's object and a Map, so what that version decoded — from hashes written by `sessionFields` or
 * by hand — is the reference here, field by field.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { SessionRecord } from '../../src/core/store.js';
import { parseSession, sessionFields } from '../../src/stores/redis/records.js';

/** What HGETALL hands over raw: the pairs as Buffers, in whatever order the hash keeps them. */
function rawReply(pairs: string[]): Buffer[] {
  return pairs.map((part) => Buffer.from(part, 'utf8'));
}

/** Reorders field/value pairs (a hash has no order), keeping each pair together. */
function shuffledPairs(pairs: string[], seed: number): string[] {
  const list: [string, string][] = [];
  for (let i = 0; i < pairs.length; i += 2) list.push([pairs[i] as string, pairs[i + 1] as string]);
  let state = seed >>> 0 || 1;
  for (let i = list.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) >>> 0;
    const j = state % (i + 1);
    [list[i], list[j]] = [list[j] as [string, string], list[i] as [string, string]];
  }
  return list.flat();
}

/**
 * The decoder of the previous version (0.1, before issue 15), kept as the reference: ioredis's HGETALL
 * object, then a Map, then the record.
 */
function previousParseSession(id: string, pairs: string[]): SessionRecord | null {
  const hash = new Map<string, string>();
  for (let i = 0; i + 1 < pairs.length; i += 2) hash.set(pairs[i] as string, pairs[i + 1] as string);
  const createdAt = hash.get('c');
  if (createdAt === undefined) return null;
  const data: Record<string, unknown> = {};
  for (const [field, value] of hash) {
    if (field.startsWith('d')) {
      Object.defineProperty(data, JSON.parse(field.slice(1)), {
        value: JSON.parse(value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  const userId = hash.get('uid');
  const generation = hash.get('rg');
  return {
    id,
    user:
      userId === undefined
        ? null
        : { id: userId, username: hash.get('un') ?? '', role: hash.get('ur') ?? '' },
    createdAt: Number(createdAt),
    lastActiveAt: Number(hash.get('l')),
    expiresAt: Number(hash.get('e')),
    absoluteExpiresAt: Number(hash.get('a')),
    data,
    userAgent: hash.get('ua') ?? null,
    ip: hash.get('ip') ?? null,
    refresh:
      generation === undefined
        ? null
        : {
            generation: Number(generation),
            nonce: hash.get('rn') ?? '',
            rotatedAt: Number(hash.get('rr')),
            windowStartedAt: Number(hash.get('rw')),
            rotationsInWindow: Number(hash.get('rc')),
            revocationTTLMs: Number(hash.get('rt')),
          },
  };
}

const json = fc.jsonValue().filter((value) => JSON.stringify(value) !== undefined);
const time = fc.integer({ min: 0, max: 2 ** 53 - 1 });
const text = fc.string({ unit: 'binary', maxLength: 40 });

const record: fc.Arbitrary<SessionRecord> = fc.record({
  id: fc.string({ minLength: 1, maxLength: 64 }),
  user: fc.option(fc.record({ id: fc.string({ minLength: 1 }), username: text, role: text }), {
    nil: null,
  }),
  createdAt: time,
  lastActiveAt: time,
  expiresAt: time,
  absoluteExpiresAt: time,
  data: fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), json, { maxKeys: 6 }),
  userAgent: fc.option(text, { nil: null }),
  ip: fc.option(text, { nil: null }),
  refresh: fc.option(
    fc.record({
      generation: fc.nat(),
      nonce: text,
      rotatedAt: time,
      windowStartedAt: time,
      rotationsInWindow: fc.nat(),
      revocationTTLMs: fc.nat(),
    }),
    { nil: null },
  ),
});

describe('redis session records, decoded from the raw reply', () => {
  test('any record written by sessionFields reads back as itself, whatever the order of the fields', () => {
    fc.assert(
      fc.property(record, fc.integer(), (written, seed) => {
        // JSON decides what data is (-0 becomes 0, as it always did); it also gives the generated
        // objects (null-prototype ones among them) plain prototypes, as the decoder builds them.
        const expected = JSON.parse(JSON.stringify(written));
        const pairs = shuffledPairs(sessionFields(written), seed);
        assert.deepEqual(parseSession(written.id, rawReply(pairs)), expected);
      }),
      { numRuns: 300 },
    );
  });

  test('decodes exactly as the previous version did, hand-written hashes and odd values included', () => {
    const field = fc.constantFrom(
      'c',
      'l',
      'e',
      'a',
      'uid',
      'un',
      'ur',
      'ua',
      'ip',
      'rg',
      'rn',
      'rr',
      'rw',
      'rc',
      'rt',
    );
    // Times and counts as another writer might have left them: signs, fractions, exponents, blanks.
    const number = fc.oneof(
      time.map(String),
      fc.double().map(String),
      fc.constantFrom('', '-1', '+5', '1.5', '1e3', '0x10', ' 7', '0012', 'NaN', '12345678901234567890'),
    );
    const hash = fc.dictionary(field, number, { minKeys: 0, maxKeys: 15 });
    fc.assert(
      fc.property(hash, fc.integer(), (entries, seed) => {
        const pairs = shuffledPairs(Object.entries(entries).flat(), seed);
        assert.deepEqual(parseSession('s', rawReply(pairs)), previousParseSession('s', pairs));
      }),
      { numRuns: 500 },
    );
  });

  test('a record of the previous version, byte for byte, with a data key `__proto__` and a field from a later version', () => {
    // The layout a 0.1 deployment has in Redis today (records.ts): written by HSET, read by this version.
    const pairs = [
      'c',
      '1764670000000',
      'l',
      '1764670005000',
      'e',
      '1764673605000',
      'a',
      '1764756400000',
      'uid',
      'u_9',
      'un',
      'zoë',
      'ur',
      'admin',
      'ua',
      'Mozilla/5.0 (X11; Linux x86_64) 🦊',
      'ip',
      '2001:db8::1',
      'rg',
      '3',
      'rn',
      'n0nce',
      'rr',
      '1764670004000',
      'rw',
      '1764670000000',
      'rc',
      '2',
      'rt',
      '960000',
      'd"cart"',
      '[1,2,{"q":[]}]',
      'd"__proto__"',
      '{"polluted":true}',
      'd"ключ"',
      '-0.5',
      'x2',
      'a field this version does not know',
    ];
    const parsed = parseSession('sid', rawReply(pairs)) as SessionRecord;
    assert.deepEqual(parsed, previousParseSession('sid', pairs.slice(0, -2)));
    assert.equal(parsed.user?.username, 'zoë');
    assert.deepEqual(parsed.refresh?.generation, 3);
    assert.deepEqual(Object.keys(parsed.data), ['cart', '__proto__', 'ключ']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was touched');
    assert.equal(Object.getPrototypeOf(parsed.data), Object.prototype);
  });

  test('an empty or missing hash, or one without its creation time, is no session', () => {
    assert.equal(parseSession('s', null), null);
    assert.equal(parseSession('s', []), null);
    assert.equal(parseSession('s', rawReply(['l', '1', 'uid', 'u'])), null);
  });
});
