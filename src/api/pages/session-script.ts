/**
 * `/assets/keycard-session.js`: the one script of the server's pages, loaded only where access tokens
 * travel in cookies (jwt and hybrid strategies: the spa preset). It keeps the pages signed in for the
 * refresh token's lifetime, as a single-page app using keycard/client is: it refreshes the access token
 * before it expires, resumes a page whose access token had already expired (the body's `data-resume`)
 * by refreshing and reloading it, and goes to the sign-in page when a refresh finds the login ended or
 * another tab signs out. Without JavaScript the pages work as before, until the access token expires.
 */
export const SESSION_SCRIPT = `import { createClient } from '/auth/client.js';

const auth = createClient({ baseUrl: '' });
const data = document.body.dataset;
const signIn = () => location.replace('/login');
const RESUMED = 'keycard:resumedAt';

async function renew() {
  const ok = await auth.refresh().catch(() => false);
  if (!ok) signIn();
  return ok;
}

// Refresh 30 seconds before the access token expires, then again before the new one does.
function keep(expiresInMs) {
  setTimeout(async () => {
    if (await renew()) keep((auth.session.accessExpiresAt ?? Date.now()) - Date.now());
  }, Math.max(0, expiresInMs - 30000));
}

// Another tab signed out (or its refresh found the login ended): so is this one.
auth.onChange(async (session) => {
  if (session.user === null && !(await auth.me().catch(() => null))) signIn();
});

if (data.resume !== undefined) {
  // A page whose access token had expired: refresh, then show it — once; a second resume within ten
  // seconds means the refreshed cookie did not take, and looping would not help.
  const last = Number(sessionStorage.getItem(RESUMED));
  if (Date.now() - last < 10000) signIn();
  else if (await renew()) {
    sessionStorage.setItem(RESUMED, String(Date.now()));
    location.reload();
  }
} else if (data.accessExpiresIn !== undefined) {
  sessionStorage.removeItem(RESUMED);
  keep(Number(data.accessExpiresIn) * 1000);
}
`;
