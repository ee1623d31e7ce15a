/**
 * keycard/react: the session of a keycard/client in React (react ≥ 18, an optional peer dependency).
 *
 *   const auth = createClient({ baseUrl: '' });
 *   root.render(<SessionProvider client={auth}><App /></SessionProvider>);
 *
 *   function Header() {
 *     const { user, client } = useSession();
 *     return user ? <button onClick={() => client.logout()}>Sign out {user.username}</button> : <SignIn />;
 *   }
 *
 * `useSession()` re-renders on every change of the client's session — a login, a logout or a refresh, in
 * this tab or another — through `useSyncExternalStore`, so every component sees the same state.
 */
import { createContext, type ReactNode, useContext, useEffect, useSyncExternalStore } from 'react';
import type { ClientSession, KeycardClient } from '../client/index.js';

const SessionContext = createContext<KeycardClient | null>(null);

export interface SessionProviderProps {
  client: KeycardClient;
  /** Ask the server who is signed in when mounted (default true): a page load starts signed out. */
  loadOnMount?: boolean;
  children?: ReactNode;
}

export function SessionProvider({ client, loadOnMount = true, children }: SessionProviderProps) {
  useEffect(() => {
    if (loadOnMount) client.me().catch(() => null);
  }, [client, loadOnMount]);
  return <SessionContext.Provider value={client}>{children}</SessionContext.Provider>;
}

export interface UseSession extends ClientSession {
  /** The client itself: `login`, `logout`, `fetch`, … */
  client: KeycardClient;
}

/** The current session (`user`, `accessExpiresAt`) and the client; needs a <SessionProvider> above. */
export function useSession(): UseSession {
  const client = useContext(SessionContext);
  if (!client) throw new Error('useSession() needs a <SessionProvider client={createClient(…)}> above it');
  const session = useSyncExternalStore(
    (onChange) => client.onChange(onChange),
    () => client.session,
    () => client.session,
  );
  return { ...session, client };
}
