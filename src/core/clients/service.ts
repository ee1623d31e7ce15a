/**
 * API clients and the OAuth 2.0 client-credentials grant (RFC 6749 §4.4), done the way standards and
 * operators expect rather than `jwt.sign({ clientId }, SECRET)`:
 * - a client has an id (public) and a secret of 256 random bits, shown once and stored only as SHA-256;
 * - a client token is a JWT with `typ: client-at+jwt` — distinct from user access tokens (`at+jwt`), so
 *   neither can pass where the other is required — carrying `sub` = `client_id`, `scope`, and `sid` =
 *   `client:<id>:g<generation>`, the secret generation that minted it;
 * - rotating the secret keeps the previous one working for an overlap; when the overlap ends, the old
 *   secret stops and the tokens it minted are revoked (a revocation of its generation's `sid`);
 * - disabling or removing a client revokes all of its tokens (a subject-wide revocation) — through the
 *   same revocation records as users' logins, so services on the revocation feed refuse them at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { type Duration, parseDuration } from '../duration.js';
import { configurationError, KeycardError } from '../errors.js';
import type { EventContext, EventEmitter } from '../events.js';
import type { KeySet } from '../jwt/keys.js';
import { signJWT } from '../jwt/sign.js';
import { CLIENT_TOKEN_TYPE } from '../jwt/token-types.js';
import { constantTimeEqual, generateId } from '../random-tokens.js';
import type { ClientRecord, RevocationRecord, Store } from '../store.js';

export { CLIENT_TOKEN_TYPE } from '../jwt/token-types.js';

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
const CLIENT_ID = /^kc_[A-Za-z0-9_-]{22}$/;
const MAX_SCOPES = 50;

export interface ClientOptions {
  /** Lifetime of client tokens (default '15m'). */
  tokenTTL?: Duration;
  /** How long a rotated-out secret keeps working (default '1h'). */
  rotationOverlap?: Duration;
}

export interface PublicClient {
  client_id: string;
  name: string;
  scopes: string[];
  disabled: boolean;
  /** When the previous secret stops working, if a rotation's overlap is running. */
  previous_secret_expires_at: string | null;
  created_at: string;
}

export type ClientAuthentication =
  | { ok: true; client: ClientRecord; generation: number }
  | { ok: false; reason: 'invalid_client' };

export type ClientTokenResult =
  | { ok: true; accessToken: string; expiresIn: number; scope: string }
  | { ok: false; error: 'invalid_scope'; description: string };

/**
 * Managing clients. Each change emits its audit event (`client_created`, …); `context` adds where the
 * request came from, as for the user admin's changes.
 */
export interface ClientService {
  readonly tokenTTLSeconds: number;
  create(
    input: { name: string; scopes: string[] },
    context?: EventContext,
  ): Promise<{ client: ClientRecord; secret: string }>;
  get(id: string): Promise<ClientRecord | null>;
  list(options?: { limit?: number; after?: string }): Promise<ClientRecord[]>;
  /** A new secret (shown once); the previous one works for `overlap` (default the configured overlap). */
  rotateSecret(
    id: string,
    options?: { overlap?: Duration },
    context?: EventContext,
  ): Promise<{ client: ClientRecord; secret: string }>;
  disable(id: string, context?: EventContext): Promise<ClientRecord>;
  enable(id: string, context?: EventContext): Promise<ClientRecord>;
  remove(id: string, context?: EventContext): Promise<boolean>;
  setScopes(id: string, scopes: string[], context?: EventContext): Promise<ClientRecord>;
  /** Checks a client id and secret (current, or previous within its overlap). Constant-time compare. */
  authenticate(clientId: unknown, secret: unknown): Promise<ClientAuthentication>;
  /** True when tokens can be issued (there is a signing key). */
  readonly canIssue: boolean;
  /** Issues a token for `requested` scopes (space-separated; default: all the client's scopes). */
  issueToken(
    auth: { client: ClientRecord; generation: number },
    requested: string | undefined,
  ): ClientTokenResult;
  /** Ends every rotation overlap that is over (revoking the old generation's tokens); returns how many. */
  finalizeRotations(): Promise<number>;
}

export function toPublicClient(client: ClientRecord): PublicClient {
  return {
    client_id: client.id,
    name: client.name,
    scopes: [...client.scopes],
    disabled: client.disabled,
    previous_secret_expires_at:
      client.previousSecretExpiresAt === null ? null : new Date(client.previousSecretExpiresAt).toISOString(),
    created_at: new Date(client.createdAt).toISOString(),
  };
}

const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('base64url');
/** A prefix that secret scanners (and people) recognise. */
const newSecret = (): string => `kcs_${randomBytes(32).toString('base64url')}`;

/** The scopes, validated and de-duplicated; throws `invalid_request` naming the problem. */
export function checkScopes(scopes: unknown): string[] {
  if (!Array.isArray(scopes) || scopes.length === 0) {
    throw new KeycardError('invalid_request', 'scopes must be a non-empty list such as ["orders:read"]', {
      field: 'scopes',
    });
  }
  if (scopes.length > MAX_SCOPES)
    throw new KeycardError('invalid_request', `at most ${MAX_SCOPES} scopes`, { field: 'scopes' });
  for (const scope of scopes) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) {
      throw new KeycardError(
        'invalid_request',
        'a scope is 1–64 printable characters without spaces, " or \\',
        { field: 'scopes' },
      );
    }
  }
  return [...new Set(scopes as string[])].sort();
}

export interface ClientServiceDependencies {
  store: Store;
  /** Signs client tokens; null where there are none (managing clients works, issuing tokens does not). */
  keys: KeySet | null;
  clock: Clock;
  issuer: string;
  audience: string;
  /** How long revocation records are kept: longer than a client token lives. */
  leewaySeconds: number;
  options?: ClientOptions;
  /** Receives the audit events of client changes. */
  emit?: EventEmitter;
}

export function createClientService(deps: ClientServiceDependencies): ClientService {
  const { store, keys, clock } = deps;
  const emit: EventEmitter = deps.emit ?? (() => {});
  const tokenTTLSeconds = parseDuration(deps.options?.tokenTTL ?? '15m', 'clients.tokenTTL');
  if (tokenTTLSeconds > 24 * 3600) throw configurationError('clients.tokenTTL must be at most 24h');
  const defaultOverlap = deps.options?.rotationOverlap ?? '1h';
  parseDuration(defaultOverlap, 'clients.rotationOverlap');

  const revoke = async (kind: RevocationRecord['kind'], id: string): Promise<void> => {
    const now = clock.now();
    await store.addRevocation({
      kind,
      id,
      at: now,
      expiresAt: now + (tokenTTLSeconds + deps.leewaySeconds + 60) * 1000,
    });
  };

  const require = async (id: string): Promise<ClientRecord> => {
    const client = typeof id === 'string' && CLIENT_ID.test(id) ? await store.getClient(id) : null;
    if (!client) throw new KeycardError('not_found', 'no such client');
    return client;
  };

  const update = async (id: string, change: Parameters<Store['updateClient']>[1]): Promise<ClientRecord> => {
    const client = await store.updateClient(id, change);
    if (!client) throw new KeycardError('not_found', 'no such client');
    return client;
  };

  /** Ends a finished overlap: the old secret stops and its generation's tokens are revoked. */
  const settle = async (client: ClientRecord): Promise<ClientRecord> => {
    if (client.previousSecretExpiresAt === null || client.previousSecretExpiresAt > clock.now())
      return client;
    await revoke('login', `client:${client.id}:g${client.generation - 1}`);
    return update(client.id, {
      previousSecretHash: null,
      previousSecretExpiresAt: null,
      updatedAt: clock.now(),
    });
  };

  return {
    tokenTTLSeconds,
    get canIssue() {
      return Boolean(keys?.signing);
    },

    async create(input, context = {}) {
      if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 100) {
        throw new KeycardError('invalid_request', 'name must be 1–100 characters', { field: 'name' });
      }
      const secret = newSecret();
      const now = clock.now();
      const client: ClientRecord = {
        id: `kc_${generateId()}`,
        name: input.name.trim(),
        scopes: checkScopes(input.scopes),
        secretHash: hashSecret(secret),
        previousSecretHash: null,
        previousSecretExpiresAt: null,
        generation: 1,
        disabled: false,
        createdAt: now,
        updatedAt: now,
      };
      await store.createClient(client);
      emit({ type: 'client_created', clientId: client.id, scopes: [...client.scopes], ...context });
      return { client, secret };
    },

    get: async (id) => (CLIENT_ID.test(id) ? store.getClient(id) : null),
    list: (options = {}) =>
      store.listClients({ limit: Math.min(options.limit ?? 100, 10_000), after: options.after }),

    async rotateSecret(id, options = {}, context = {}) {
      const client = await settle(await require(id));
      if (client.previousSecretHash !== null) {
        throw new KeycardError(
          'invalid_request',
          'a rotation is already in its overlap; wait for it to end first',
        );
      }
      const overlapMs = parseDuration(options.overlap ?? defaultOverlap, 'overlap') * 1000;
      const secret = newSecret();
      const now = clock.now();
      const rotated = await update(id, {
        secretHash: hashSecret(secret),
        previousSecretHash: client.secretHash,
        previousSecretExpiresAt: now + overlapMs,
        generation: client.generation + 1,
        updatedAt: now,
      });
      emit({ type: 'client_secret_rotated', clientId: id, ...context });
      return { client: rotated, secret };
    },

    async disable(id, context = {}) {
      await require(id);
      const client = await update(id, { disabled: true, updatedAt: clock.now() });
      await revoke('user', id);
      emit({ type: 'client_disabled', clientId: id, ...context });
      return client;
    },

    async enable(id, context = {}) {
      await require(id);
      const client = await update(id, { disabled: false, updatedAt: clock.now() });
      emit({ type: 'client_enabled', clientId: id, ...context });
      return client;
    },

    async remove(id, context = {}) {
      if (!CLIENT_ID.test(id)) return false;
      const removed = await store.deleteClient(id);
      if (removed) {
        await revoke('user', id);
        emit({ type: 'client_removed', clientId: id, ...context });
      }
      return removed;
    },

    async setScopes(id, scopes, context = {}) {
      await require(id);
      const client = await update(id, { scopes: checkScopes(scopes), updatedAt: clock.now() });
      emit({ type: 'client_scopes_changed', clientId: id, scopes: [...client.scopes], ...context });
      return client;
    },

    async authenticate(clientId, secret) {
      const fail = { ok: false, reason: 'invalid_client' } as const;
      if (
        typeof clientId !== 'string' ||
        typeof secret !== 'string' ||
        !CLIENT_ID.test(clientId) ||
        secret.length > 256
      ) {
        return fail;
      }
      const found = await store.getClient(clientId);
      if (!found) return fail;
      const client = await settle(found);
      const presented = hashSecret(secret);
      if (client.disabled) return fail;
      if (constantTimeEqual(presented, client.secretHash))
        return { ok: true, client, generation: client.generation };
      if (client.previousSecretHash !== null && constantTimeEqual(presented, client.previousSecretHash)) {
        return { ok: true, client, generation: client.generation - 1 };
      }
      return fail;
    },

    issueToken(auth, requested) {
      const { client } = auth;
      let scopes = client.scopes;
      if (requested !== undefined) {
        const asked = requested.split(' ').filter(Boolean);
        const outside = asked.filter((scope) => !client.scopes.includes(scope));
        if (asked.length === 0 || outside.length > 0) {
          return {
            ok: false,
            error: 'invalid_scope',
            description:
              asked.length === 0 ? 'scope is empty' : 'the requested scope exceeds what this client may have',
          };
        }
        scopes = [...new Set(asked)].sort();
      }
      const signing = keys?.signing;
      if (!signing) {
        throw new KeycardError(
          'invalid_configuration',
          'client tokens need a signing key (jwt.keys or clients.keys)',
        );
      }
      const now = Math.floor(clock.now() / 1000);
      const scope = scopes.join(' ');
      const accessToken = signJWT(
        {
          iss: deps.issuer,
          aud: deps.audience,
          sub: client.id,
          client_id: client.id,
          scope,
          iat: now,
          exp: now + tokenTTLSeconds,
          jti: generateId(),
          sid: `client:${client.id}:g${auth.generation}`,
        },
        signing,
        { typ: CLIENT_TOKEN_TYPE },
      );
      return { ok: true, accessToken, expiresIn: tokenTTLSeconds, scope };
    },

    async finalizeRotations() {
      let settled = 0;
      let after: string | undefined;
      for (;;) {
        const page = await store.listClients({ limit: 500, after });
        for (const client of page) {
          if (client.previousSecretExpiresAt !== null && client.previousSecretExpiresAt <= clock.now()) {
            await settle(client);
            settled++;
          }
        }
        if (page.length < 500) return settled;
        after = page[page.length - 1]?.id;
      }
    },
  };
}
