/**
 * The JWKS caching rules both verifiers share (src/verify/key-cache.ts), with an injected clock and a
 * fetch the test controls: one fetch for concurrent callers, the cooldown, and a fetch that never settles
 * (a Worker's request ended under it) abandoned after its timeout instead of hanging every later request.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exportPublicJWK } from '../../src/core/jwt/keys.js';
import { generateJWTKey, importJWK } from '../../src/index.js';
import { createKeyCache } from '../../src/verify/key-cache.js';
import { ManualClock } from '../helpers/clock.js';

const key = generateJWTKey('EdDSA', 'k1');
const jwks = () => new Response(JSON.stringify({ keys: [exportPublicJWK(key)] }));

function cacheWith(fetchImpl: () => Promise<Response>, clock: ManualClock) {
  let fetches = 0;
  const cache = createKeyCache({
    url: new URL('https://auth.example/.well-known/jwks.json'),
    ttlMs: 600_000,
    cooldownMs: 30_000,
    timeoutMs: 5_000,
    fetch: () => {
      fetches++;
      return fetchImpl();
    },
    now: () => clock.now(),
    importKey: (jwk, name) => importJWK(jwk as never, name),
  });
  return { cache, fetches: () => fetches };
}

test('concurrent callers for an unknown kid share one fetch', async () => {
  const clock = new ManualClock();
  const { cache, fetches } = cacheWith(async () => jwks(), clock);
  const found = await Promise.all([cache.get('k1'), cache.get('k1'), cache.get('other')]);
  assert.deepEqual(
    found.map((k) => k?.kid ?? null),
    ['k1', 'k1', null],
  );
  assert.equal(fetches(), 1);
});

// guards: a Worker's cancelled fetch left inFlight pending forever, and every later unknown kid waited on it.
test('a fetch that never settles is abandoned after its timeout; the next one past the cooldown runs', async () => {
  const clock = new ManualClock();
  let hang = true;
  const { cache, fetches } = cacheWith(
    () => (hang ? new Promise<Response>(() => {}) : Promise.resolve(jwks())),
    clock,
  );
  void cache.get('k1'); // never settles
  assert.equal(fetches(), 1);
  clock.advanceSeconds(6); // past the timeout, within the cooldown: not waited for, no new fetch
  assert.equal(await cache.get('k1'), null);
  assert.equal(fetches(), 1);
  hang = false;
  clock.advanceSeconds(30); // past the cooldown: a new fetch, not the abandoned one
  assert.equal((await cache.get('k1'))?.kid, 'k1');
  assert.equal(fetches(), 2);
});

test('a JWKS over 256 KiB is refused without being used', async () => {
  const clock = new ManualClock();
  const errors: unknown[] = [];
  const huge = JSON.stringify({ keys: [exportPublicJWK(key)], padding: 'x'.repeat(300 * 1024) });
  const cache = createKeyCache({
    url: new URL('https://auth.example/jwks'),
    ttlMs: 600_000,
    cooldownMs: 30_000,
    timeoutMs: 5_000,
    fetch: async () => new Response(huge),
    now: () => clock.now(),
    importKey: (jwk, name) => importJWK(jwk as never, name),
    onError: (error) => errors.push(error),
  });
  assert.equal(await cache.get('k1'), null);
  assert.equal(cache.empty, true);
  assert.match(String(errors[0]), /over 262144 bytes/);
});
