/**
 * The HTTP benchmark's variants — floors, peers and keycard — and the issue 7 targets that compare them.
 * Each variant is a server script in bench/servers/, its environment, the authenticated GET it is measured
 * on, and how the driver signs in to it.
 */
import { existsSync } from 'node:fs';
import { loadServerConfig } from 'keycard/server';
import { benchConfig } from './config.js';
import { BUN } from './process.js';
import { postgresStoreURL, redisStoreURL } from './services.js';
import type { Login } from './sign-in.js';

export type Group = 'floor' | 'peer' | 'keycard';

export interface Variant {
  name: string;
  group: Group;
  script: string;
  env: Record<string, string>;
  path: string;
  login: Login;
  needs: ('redis' | 'postgres')[];
  /** Store commands/queries are counted by the server (network stores). */
  countsOperations: boolean;
  /** The runtime the server runs on (default node). */
  runtime?: 'node' | 'bun';
  /** Why the variant cannot run here (checked before anything starts). */
  unavailable?: () => string | null;
}

export const FLOOR = 'node:http (bare)';
export const NAMES = {
  floorRedis: 'node:http + Redis GET',
  floorHS256: 'node:http + HS256 (node:crypto)',
  fastifyBare: 'Fastify (no auth)',
  honoBare: 'Hono on @hono/node-server (no auth)',
  expressMemory: 'Express 5 + express-session (MemoryStore)',
  expressRedis: 'Express 5 + express-session + connect-redis',
  fastifyJWTHS256: 'Fastify + @fastify/jwt HS256',
  fastifyJWTEdDSA: 'Fastify + @fastify/jwt EdDSA',
  fastifySession: 'Fastify + @fastify/session + connect-redis',
  serveMemory: 'keycard serve, session, memory',
  serveSQLite: 'keycard serve, session, SQLite',
  serveRedis: 'keycard serve, session, Redis',
  servePostgres: 'keycard serve, session, PostgreSQL',
  serveJWTHS256: 'keycard serve, jwt HS256',
  serveJWTEdDSA: 'keycard serve, jwt EdDSA',
  serveHybrid: 'keycard serve, hybrid EdDSA, Redis',
  adapterMemory: 'keycard/express, session, memory',
  adapterRedis: 'keycard/express, session, Redis',
  fetchMemory: 'keycard/fetch on @hono/node-server, session, memory',
  honoMemory: 'keycard/hono, session, memory',
  bunBare: 'Bun.serve (no auth)',
  bunFetchMemory: 'Bun.serve + keycard/fetch, session, memory',
} as const;

/** The hybrid slot runs as soon as `keycard serve --strategy hybrid` is accepted. */
function hybridUnavailable(): string | null {
  try {
    loadServerConfig({ env: {}, flags: { strategy: 'hybrid' } });
    return null;
  } catch {
    return 'keycard serve does not accept --strategy hybrid yet (being built); this slot runs once it does';
  }
}

/** Bun comes with the `bun` devDependency. */
function bunUnavailable(): string | null {
  return existsSync(BUN) ? null : 'the bun binary (devDependency) is not installed: run npm ci';
}

/** Every variant; Redis keys under `prefix` (and `prefix-…`), the PostgreSQL store in `schema`. */
export function variants(prefix: string, schema: string): Variant[] {
  const all = currentVariants(prefix, schema);
  const before = benchConfig.before;
  if (!before) return all;
  // The same keycard serve variants run from the other checkout's build (its bench/servers script imports
  // its own dist/), under Redis keys and a schema of their own.
  const earlier = currentVariants(`${prefix}-before`, `${schema}_before`)
    .filter((variant) => variant.script === 'keycard-serve')
    .map((variant) => ({
      ...variant,
      name: `${variant.name} (before)`,
      script: `${before}/bench/servers/${variant.script}.ts`,
    }));
  return [...all, ...earlier];
}

function currentVariants(prefix: string, schema: string): Variant[] {
  const redis = { BENCH_REDIS_URL: benchConfig.redisURL, BENCH_REDIS_PREFIX: prefix };
  const cookieLogin: Login = { path: '/login', credential: 'cookie' };
  const bearerLogin: Login = { path: '/login', credential: 'bearer' };
  const serveCookie: Login = { path: '/auth/login', credential: 'cookie' };
  const serveBearer: Login = { path: '/auth/login', credential: 'bearer' };
  const serve = (name: string, strategy: string, store: string, extra: Record<string, string> = {}) => ({
    name,
    group: 'keycard' as const,
    script: 'keycard-serve',
    env: { BENCH_STRATEGY: strategy, BENCH_STORE_URL: store, ...extra },
    path: '/auth/verify',
    login: strategy === 'session' ? serveCookie : serveBearer,
    needs: store.startsWith('redis')
      ? (['redis'] as const).slice()
      : store.startsWith('postgres')
        ? (['postgres'] as const).slice()
        : [],
    countsOperations: store.startsWith('redis') || store.startsWith('postgres'),
  });
  const n = NAMES;
  return [
    {
      name: FLOOR,
      group: 'floor',
      script: 'node-bare',
      env: {},
      path: '/me',
      login: { path: '', credential: 'none' },
      needs: [],
      countsOperations: false,
    },
    {
      name: n.floorRedis,
      group: 'floor',
      script: 'node-redis',
      env: { ...redis, BENCH_REDIS_PREFIX: `${prefix}:floor` },
      path: '/me',
      login: cookieLogin,
      needs: ['redis'],
      countsOperations: true,
    },
    {
      name: n.floorHS256,
      group: 'floor',
      script: 'node-hs256',
      env: {},
      path: '/me',
      login: bearerLogin,
      needs: [],
      countsOperations: false,
    },
    {
      name: n.fastifyBare,
      group: 'floor',
      script: 'fastify-bare',
      env: {},
      path: '/me',
      login: { path: '', credential: 'none' },
      needs: [],
      countsOperations: false,
    },
    {
      name: n.honoBare,
      group: 'floor',
      script: 'hono-bare',
      env: {},
      path: '/me',
      login: { path: '', credential: 'none' },
      needs: [],
      countsOperations: false,
    },
    {
      name: n.expressMemory,
      group: 'peer',
      script: 'express-session',
      env: { BENCH_STORE: 'memory' },
      path: '/me',
      login: cookieLogin,
      needs: [],
      countsOperations: false,
    },
    {
      name: n.expressRedis,
      group: 'peer',
      script: 'express-session',
      env: { ...redis, BENCH_STORE: 'redis' },
      path: '/me',
      login: cookieLogin,
      needs: ['redis'],
      countsOperations: true,
    },
    {
      name: n.fastifyJWTHS256,
      group: 'peer',
      script: 'fastify-jwt',
      env: { BENCH_ALG: 'HS256' },
      path: '/me',
      login: bearerLogin,
      needs: [],
      countsOperations: false,
    },
    {
      name: n.fastifyJWTEdDSA,
      group: 'peer',
      script: 'fastify-jwt',
      env: { BENCH_ALG: 'EdDSA' },
      path: '/me',
      login: bearerLogin,
      needs: [],
      countsOperations: false,
    },
    {
      name: n.fastifySession,
      group: 'peer',
      script: 'fastify-session',
      env: redis,
      path: '/me',
      login: cookieLogin,
      needs: ['redis'],
      countsOperations: true,
    },
    serve(n.serveMemory, 'session', 'memory:'),
    serve(n.serveSQLite, 'session', 'sqlite:{dir}/bench.db'),
    serve(n.serveRedis, 'session', redisStoreURL(`${prefix}-serve`)),
    serve(n.servePostgres, 'session', postgresStoreURL(schema)),
    serve(n.serveJWTHS256, 'jwt', 'memory:', { BENCH_ALG: 'HS256' }),
    serve(n.serveJWTEdDSA, 'jwt', 'memory:', { BENCH_ALG: 'EdDSA' }),
    {
      ...serve(n.serveHybrid, 'hybrid', redisStoreURL(`${prefix}-hybrid`), { BENCH_ALG: 'EdDSA' }),
      unavailable: hybridUnavailable,
    },
    {
      name: n.adapterMemory,
      group: 'keycard',
      script: 'express-keycard',
      env: { BENCH_STORE: 'memory' },
      path: '/me',
      login: cookieLogin,
      needs: [],
      countsOperations: false,
    },
    {
      name: n.adapterRedis,
      group: 'keycard',
      script: 'express-keycard',
      env: { ...redis, BENCH_REDIS_PREFIX: `${prefix}-adapter`, BENCH_STORE: 'redis' },
      path: '/me',
      login: cookieLogin,
      needs: ['redis'],
      countsOperations: true,
    },
    {
      name: n.fetchMemory,
      group: 'keycard',
      script: 'hono-keycard',
      env: { BENCH_MODE: 'fetch' },
      path: '/auth/verify',
      login: serveCookie,
      needs: [],
      countsOperations: false,
    },
    {
      name: n.bunBare,
      group: 'floor',
      script: 'bun-bare',
      env: {},
      path: '/me',
      login: { path: '', credential: 'none' },
      needs: [],
      countsOperations: false,
      runtime: 'bun',
      unavailable: bunUnavailable,
    },
    {
      name: n.bunFetchMemory,
      group: 'keycard',
      script: 'bun-keycard',
      env: {},
      path: '/auth/verify',
      login: serveCookie,
      needs: [],
      countsOperations: false,
      runtime: 'bun',
      unavailable: bunUnavailable,
    },
    {
      name: n.honoMemory,
      group: 'keycard',
      script: 'hono-keycard',
      env: { BENCH_MODE: 'hono' },
      path: '/me',
      login: cookieLogin,
      needs: [],
      countsOperations: false,
    },
  ];
}

/** Targets of issue 7 that this benchmark measures: numerator / denominator ≥ minimum. */
export const TARGETS: { label: string; numerator: string; denominator: string; minimum: number }[] = [
  {
    label: 'session on Redis ≥ 4× express-session + connect-redis',
    numerator: NAMES.serveRedis,
    denominator: NAMES.expressRedis,
    minimum: 4,
  },
  {
    label: 'session on Redis ≥ 75 % of the node:http + Redis GET floor',
    numerator: NAMES.serveRedis,
    denominator: NAMES.floorRedis,
    minimum: 0.75,
  },
  {
    label: 'Express adapter ≥ 1.2× express-session (memory)',
    numerator: NAMES.adapterMemory,
    denominator: NAMES.expressMemory,
    minimum: 1.2,
  },
  {
    label: 'Express adapter ≥ 1.2× express-session (Redis)',
    numerator: NAMES.adapterRedis,
    denominator: NAMES.expressRedis,
    minimum: 1.2,
  },
  {
    label: 'jwt HS256 ≥ Fastify + @fastify/jwt HS256',
    numerator: NAMES.serveJWTHS256,
    denominator: NAMES.fastifyJWTHS256,
    minimum: 1,
  },
  {
    label: 'jwt HS256 ≥ 80 % of the node:http HS256 floor',
    numerator: NAMES.serveJWTHS256,
    denominator: NAMES.floorHS256,
    minimum: 0.8,
  },
  {
    label: 'jwt EdDSA not slower than @fastify/jwt EdDSA',
    numerator: NAMES.serveJWTEdDSA,
    denominator: NAMES.fastifyJWTEdDSA,
    minimum: 1,
  },
  {
    label: 'hybrid within 10 % of pure JWT (EdDSA)',
    numerator: NAMES.serveHybrid,
    denominator: NAMES.serveJWTEdDSA,
    minimum: 0.9,
  },
  {
    label: 'hybrid ≥ 3× session on Redis',
    numerator: NAMES.serveHybrid,
    denominator: NAMES.serveRedis,
    minimum: 3,
  },
];
