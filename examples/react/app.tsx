/**
 * A React app on keycard: `keycard/client` for the login, `keycard/react` for the session in components.
 * Bundled by build.ts (esbuild); served by server.ts under the same origin as keycard.
 */
import { createClient, KeycardClientError } from 'keycard/client';
import { SessionProvider, useSession } from 'keycard/react';
import { type FormEvent, useState } from 'react';
import { createRoot } from 'react-dom/client';

function SignIn() {
  const { client } = useSession();
  const [error, setError] = useState('');
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError('');
    try {
      await client.login({ username: String(form.get('username')), password: String(form.get('password')) });
    } catch (failure) {
      const wrong = failure instanceof KeycardClientError && failure.code === 'invalid_credentials';
      setError(wrong ? 'Wrong username or password' : String((failure as Error).message));
    }
  }
  return (
    <form onSubmit={submit}>
      <label>
        Username <input name="username" autoComplete="username" required />
      </label>
      <label>
        Password <input name="password" type="password" autoComplete="current-password" required />
      </label>
      <button type="submit">Sign in</button>
      {error && <p role="alert">{error}</p>}
    </form>
  );
}

function Hello() {
  const { client } = useSession();
  const [answer, setAnswer] = useState('');
  return (
    <>
      {/* client.fetch adds the CSRF token and refreshes the access token (once) when it expires. */}
      <button type="button" onClick={async () => setAnswer(await (await client.fetch('/api/hello')).text())}>
        Call the API
      </button>
      <button type="button" onClick={() => client.logout()}>
        Sign out
      </button>
      <pre>{answer}</pre>
    </>
  );
}

function App() {
  const { user } = useSession();
  return (
    <main>
      <h1>{user ? `Signed in as ${user.username}` : 'Signed out'}</h1>
      {user ? <Hello /> : <SignIn />}
    </main>
  );
}

const auth = createClient({ baseUrl: '', transport: 'cookie' });
createRoot(document.getElementById('root') as HTMLElement).render(
  <SessionProvider client={auth}>
    <App />
  </SessionProvider>,
);
