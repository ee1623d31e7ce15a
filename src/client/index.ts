/**
 * keycard/client: the front end's side of keycard's HTTP API, for browsers, React Native and Node — no
 * dependencies, no imports, so the same file is served as an ES module at `/auth/client.js`.
 *
 *   const auth = createClient({ baseUrl: 'https://auth.example.com', transport: 'cookie' });
 *   await auth.login({ username, password });
 *   const response = await auth.fetch('/api/orders', { method: 'POST', body }); // CSRF or Bearer added
 *   auth.onChange((session) => render(session.user));
 *
 * What it takes care of (docs/client.md):
 * - **Credentials on every call.** Cookie transport: `credentials: 'include'` and the CSRF token on unsafe
 *   methods (fetched before login, replaced by the login's own). Header transport: `Authorization: Bearer`.
 * - **Refresh, once.** Before a call whose access token expires within `refreshMarginSeconds`, or after a
 *   401 `token_expired`, the client refreshes and retries once. Any number of concurrent calls share one
 *   refresh; across tabs of one origin too (Web Locks, with the new expiry in `localStorage`), so rotation
 *   never sees two uses of one refresh token from the same user.
 * - **One state for every tab.** Login, logout and a refresh that finds the login ended reach the other
 *   tabs' `onChange` through a BroadcastChannel. A refresh refused as reused or revoked signs every tab out.
 * - **Tokens out of reach of scripts where it can.** Header transport keeps tokens in memory unless a
 *   `storage` is given (React Native secure storage, a file in Node); it never writes them to
 *   `localStorage` by itself, where any script injected into the page could read them.
 */

export interface ClientUser {
  id: string;
  username: string;
  role: string;
}

/** The client's view of the login: who, and until when the access token holds (epoch ms; null: unknown). */
export interface ClientSession {
  user: ClientUser | null;
  accessExpiresAt: number | null;
}

/** What header transport keeps between calls. */
export interface StoredTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms. */
  accessExpiresAt: number;
}

/** Where header-transport tokens live when not only in memory. Methods may be async. */
export interface TokenStorage {
  get(): StoredTokens | null | Promise<StoredTokens | null>;
  set(tokens: StoredTokens | null): void | Promise<void>;
}

export interface ClientOptions {
  /** Where keycard's API is: `https://auth.example.com`, or '' for the page's own origin. */
  baseUrl: string;
  /** As the server is configured (`--transport`): 'cookie' (browsers) or 'header' (apps, Node). */
  transport?: 'cookie' | 'header';
  /** Header transport: where tokens are kept (default: memory only). */
  storage?: TokenStorage;
  /** Refresh when the access token has less than this left (default 30 s). */
  refreshMarginSeconds?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** The clock, epoch ms (default Date.now): for tests. */
  now?: () => number;
  /** The name of the cross-tab channel and lock (default 'keycard'); one per keycard server. */
  channel?: string;
}

/** An answer keycard refused: `code` is keycard's error code (`invalid_credentials`, `too_many_requests`, …). */
export class KeycardClientError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'KeycardClientError';
    this.status = status;
    this.code = code;
  }
}

export interface KeycardClient {
  /** Signs in; rejects with KeycardClientError (401 `invalid_credentials`, 429 `too_many_requests`, …). */
  /**
   * `remember` (cookie transport): false for browser-session cookies, ended when the browser is; true, or
   * left out, for persistent ones (the server's default). Header transport: no effect.
   */
  login(credentials: { username: string; password: string; remember?: boolean }): Promise<ClientSession>;
  /** Ends this login (on the server too), in every tab. */
  logout(): Promise<void>;
  /** Ends every login of the user, this one included, in every tab. */
  logoutAll(): Promise<void>;
  /** Asks the server who is signed in (null if nobody), and updates `session`. */
  me(): Promise<ClientUser | null>;
  /** `fetch` with credentials, CSRF or Bearer, and refresh-and-retry-once. Relative URLs: on baseUrl. */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
  /** Refreshes now (shared with any refresh in flight); false if the login has ended. */
  refresh(): Promise<boolean>;
  readonly session: ClientSession;
  /** Called on every change of `session`, in this tab or another; returns the unsubscribe function. */
  onChange(listener: (session: ClientSession) => void): () => void;
  /** Closes the cross-tab channel. */
  close(): void;
}

const UNSAFE = /^(?:POST|PUT|PATCH|DELETE)$/i;

type Message =
  | { type: 'login'; user: ClientUser; accessExpiresAt: number | null }
  | { type: 'refreshed'; accessExpiresAt: number | null }
  | { type: 'logout' };

interface Locks {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export function createClient(options: ClientOptions): KeycardClient {
  if (!options || typeof options.baseUrl !== 'string') {
    throw new TypeError("createClient needs { baseUrl: 'https://auth.example.com' } ('' for this origin)");
  }
  const transport = options.transport ?? 'cookie';
  if (transport !== 'cookie' && transport !== 'header') {
    throw new TypeError(`createClient: transport must be 'cookie' or 'header', not '${String(transport)}'`);
  }
  const base = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const now = options.now ?? Date.now;
  const margin = (options.refreshMarginSeconds ?? 30) * 1000;
  const name = options.channel ?? 'keycard';
  const storage = options.storage;
  const locks = (globalThis as { navigator?: { locks?: Locks } }).navigator?.locks;
  const shared = sharedStore(name);
  // Tabs share a login through cookies (cookie transport) or a shared `storage`; header transport with
  // tokens in memory gives each client a login of its own, so there is nothing to tell the others.
  const shares = transport === 'cookie' || storage !== undefined;
  const channel =
    shares && typeof BroadcastChannel === 'function' ? new BroadcastChannel(`${name}:session`) : undefined;
  // Node: the channel must not keep a program (a CLI, a test) alive once its work is done.
  (channel as { unref?: () => void } | undefined)?.unref?.();

  let session: ClientSession = { user: null, accessExpiresAt: null };
  let tokens: StoredTokens | null = null;
  let tokensLoaded = !storage;
  let csrf: string | null = null;
  let refreshing: Promise<boolean> | null = null;
  /** Counts the credentials received (logins and refreshes): a call that failed with older ones retries. */
  let generation = 0;
  const listeners = new Set<(session: ClientSession) => void>();

  const setSession = (next: ClientSession, tell?: Message): void => {
    session = next;
    if (tell) channel?.postMessage(tell);
    for (const listener of listeners) listener(session);
  };

  const saveTokens = async (next: StoredTokens | null): Promise<void> => {
    tokens = next;
    tokensLoaded = true;
    await storage?.set(next);
  };

  const loadTokens = async (): Promise<StoredTokens | null> => {
    if (!tokensLoaded) {
      tokens = (await storage?.get()) ?? null;
      tokensLoaded = true;
      if (tokens && !session.user) session = { ...session, accessExpiresAt: tokens.accessExpiresAt };
    }
    return tokens;
  };

  const signedOut = async (tell: boolean): Promise<void> => {
    csrf = null;
    shared.set(null);
    if (transport === 'header') await saveTokens(null);
    setSession({ user: null, accessExpiresAt: null }, tell ? { type: 'logout' } : undefined);
  };

  channel?.addEventListener('message', (event: MessageEvent<Message>) => {
    const message = event.data;
    if (message.type === 'logout') {
      void signedOut(false);
    } else if (message.type === 'login') {
      csrf = null; // the other tab's login bound new CSRF tokens to its cookie
      tokensLoaded = !storage; // and wrote its tokens to the shared storage
      generation++;
      setSession({ user: message.user, accessExpiresAt: message.accessExpiresAt });
    } else if (message.type === 'refreshed') {
      tokensLoaded = !storage; // the refresh token rotated: the stored one is the only live one
      generation++; // calls that failed with the old access token retry without refreshing again
      setSession({ ...session, accessExpiresAt: message.accessExpiresAt });
    }
  });

  const url = (input: string | URL): string => {
    const text = String(input);
    return /^[a-z][a-z0-9+.-]*:/i.test(text) ? text : `${base}${text.startsWith('/') ? '' : '/'}${text}`;
  };

  /** One raw call to keycard: credentials attached, no refresh. */
  const call = async (input: string | URL, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    const method = (init.method ?? 'GET').toUpperCase();
    if (transport === 'cookie') {
      if (UNSAFE.test(method) && !headers.has('x-csrf-token')) headers.set('x-csrf-token', await csrfToken());
    } else {
      const current = await loadTokens();
      if (current && !headers.has('authorization'))
        headers.set('authorization', `Bearer ${current.accessToken}`);
    }
    return doFetch(url(input), {
      ...init,
      method,
      headers,
      credentials: transport === 'cookie' ? 'include' : init.credentials,
    });
  };

  const csrfToken = async (): Promise<string> => {
    if (csrf) return csrf;
    const response = await doFetch(url('/auth/csrf'), { credentials: 'include' });
    const body = (await readJSON(response)) as { token?: string };
    if (!response.ok || typeof body.token !== 'string') throw failure(response, body);
    csrf = body.token;
    return csrf;
  };

  const expiresAt = (body: { expires_in?: unknown }): number | null =>
    typeof body.expires_in === 'number' ? now() + body.expires_in * 1000 : null;

  /** Takes a login or refresh answer: tokens, expiry, CSRF token. */
  const accept = async (body: Record<string, unknown>): Promise<number | null> => {
    const accessExpiresAt = expiresAt(body);
    if (typeof body.csrf_token === 'string') csrf = body.csrf_token;
    if (transport === 'header') {
      if (typeof body.access_token !== 'string' || typeof body.refresh_token !== 'string') {
        throw mismatch();
      }
      await saveTokens({
        accessToken: body.access_token,
        refreshToken: body.refresh_token,
        accessExpiresAt: accessExpiresAt ?? now(),
      });
    }
    shared.set(accessExpiresAt);
    generation++;
    return accessExpiresAt;
  };

  /** The refresh itself, once per user across tabs (the lock), skipped if another tab just did it. */
  const refreshOnce = async (seenShared: number | null, seenToken: string | null): Promise<boolean> => {
    if (transport === 'cookie') {
      // Another tab refreshed while this one waited for the lock: its cookies are this tab's too.
      const fresh = shared.get();
      if (fresh !== null && fresh !== seenShared && fresh - now() > margin) {
        setSession({ ...session, accessExpiresAt: fresh });
        return true;
      }
    } else if (storage) {
      tokensLoaded = false; // read what another tab or process may have stored meanwhile
      const stored = await loadTokens();
      if (stored && stored.accessToken !== seenToken && stored.accessExpiresAt - now() > margin) {
        setSession({ ...session, accessExpiresAt: stored.accessExpiresAt });
        return true;
      }
    }
    const current = transport === 'header' ? await loadTokens() : null;
    if (transport === 'header' && !current) return false;
    const response = await call('/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(current ? { refresh_token: current.refreshToken } : {}),
    });
    const body = (await readJSON(response)) as Record<string, unknown> & { error?: { code?: string } };
    if (!response.ok) {
      // 401 (`token_invalid`, `refresh_token_reused`, `token_revoked`, …): the login is over, in every tab.
      if (response.status === 401) {
        await signedOut(true);
        return false;
      }
      throw failure(response, body);
    }
    const accessExpiresAt = await accept(body);
    const user = (body.user as ClientUser | undefined) ?? session.user;
    setSession({ user, accessExpiresAt }, { type: 'refreshed', accessExpiresAt });
    return true;
  };

  const refresh = (): Promise<boolean> => {
    if (refreshing) return refreshing;
    const seenShared = shared.get();
    const seenToken = tokens?.accessToken ?? null;
    const run = () => refreshOnce(seenShared, seenToken);
    refreshing = (locks ? locks.request(`${name}:refresh`, run) : run()).finally(() => {
      refreshing = null;
    });
    return refreshing;
  };

  const needsRefresh = (): boolean => {
    const at = session.accessExpiresAt;
    return (session.user !== null || tokens !== null) && at !== null && at - now() <= margin;
  };

  const clientFetch = async (input: string | URL, init: RequestInit = {}): Promise<Response> => {
    // Header transport: tokens from storage first, so a cold start sees their expiry before the call.
    if (transport === 'header') await loadTokens();
    if (refreshing) await refreshing.catch(() => false);
    else if (needsRefresh()) await refresh().catch(() => false);
    const used = generation;
    const usedShared = shared.get();
    const response = await call(input, init);
    if (response.status !== 401) return response;
    const code = await errorCode(response);
    if (code !== 'token_expired') return response;
    // Retry once: at once if a refresh landed while this call was out (in this tab, or in another —
    // whose message may not have arrived yet, but whose expiry is in localStorage), else after one
    // refresh, shared with every other call that saw the same 401.
    if (generation !== used || shared.get() !== usedShared) return call(input, init);
    return (await refresh().catch(() => false)) ? call(input, init) : response;
  };

  const logoutWith = async (path: string): Promise<void> => {
    try {
      const response = await clientFetch(path, { method: 'POST' });
      // 401: already signed out on the server — the goal is reached.
      if (!response.ok && response.status !== 401) throw failure(response, await readJSON(response));
    } finally {
      await signedOut(true);
    }
  };

  return {
    get session() {
      return session;
    },
    async login(credentials) {
      const response = await call('/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          username: credentials?.username,
          password: credentials?.password,
          ...(typeof credentials?.remember === 'boolean' ? { remember: credentials.remember } : {}),
        }),
      });
      const body = (await readJSON(response)) as Record<string, unknown>;
      if (!response.ok) {
        const error = failure(response, body);
        // A header-transport login carries no cookie, so a server asking for a CSRF token uses cookies.
        if (transport === 'header' && error.code === 'csrf_rejected') throw mismatch();
        throw error;
      }
      const accessExpiresAt = await accept(body);
      const user = body.user as ClientUser;
      setSession({ user, accessExpiresAt }, { type: 'login', user, accessExpiresAt });
      return session;
    },
    logout: () => logoutWith('/auth/logout'),
    logoutAll: () => logoutWith('/auth/logout-all'),
    async me() {
      const response = await clientFetch('/auth/me');
      if (response.status === 401) {
        if (session.user) await signedOut(false);
        return null;
      }
      const body = (await readJSON(response)) as { user?: ClientUser };
      if (!response.ok || !body.user) throw failure(response, body);
      if (body.user.id !== session.user?.id) setSession({ ...session, user: body.user });
      return body.user;
    },
    fetch: clientFetch,
    refresh,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      channel?.close();
    },
  };
}

async function readJSON(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    return { error: { code: 'invalid_response', message: `not JSON (HTTP ${response.status})` } };
  }
}

/** The error code of a 401, read from a clone so the caller can still read the body. */
async function errorCode(response: Response): Promise<string | null> {
  const body = (await readJSON(response.clone())) as { error?: { code?: unknown } };
  return typeof body.error?.code === 'string' ? body.error.code : null;
}

function mismatch(): KeycardClientError {
  return new KeycardClientError(
    400,
    'transport_mismatch',
    "this keycard server uses cookie transport (its tokens travel in cookies): createClient({ transport: 'cookie' })",
  );
}

function failure(response: Response, body: unknown): KeycardClientError {
  const error = (body as { error?: { code?: unknown; message?: unknown } }).error;
  return new KeycardClientError(
    response.status,
    typeof error?.code === 'string' ? error.code : 'http_error',
    typeof error?.message === 'string' ? error.message : `HTTP ${response.status}`,
  );
}

/**
 * The access token's expiry as every tab of the origin sees it (localStorage; an expiry, no secret), so a
 * tab that waited for the refresh lock can tell another tab already refreshed. Memory where there is none.
 */
function sharedStore(name: string): { get(): number | null; set(value: number | null): void } {
  const key = `${name}:accessExpiresAt`;
  let memory: number | null = null;
  let local: Storage | undefined;
  try {
    local = (globalThis as { localStorage?: Storage }).localStorage;
  } catch {
    local = undefined; // a sandboxed frame may throw on access
  }
  return {
    get() {
      const value = local ? Number(local.getItem(key) ?? Number.NaN) : memory;
      return value !== null && Number.isFinite(value) ? value : null;
    },
    set(value) {
      memory = value;
      if (!local) return;
      if (value === null) local.removeItem(key);
      else local.setItem(key, String(value));
    },
  };
}
