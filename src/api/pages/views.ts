/** The server's pages: sign in, my sessions, user admin, and errors. */
import type { AuthUser, LoginRecord, PublicUser } from 'keycard';
import { ago, csrfField, html, type PageOptions, page } from './html.js';

export interface LoginView {
  csrfToken: string;
  error?: string;
  username?: string;
  /** When there are no users yet: how to create the first admin. */
  firstAdmin?: FirstAdminNotice | null;
}

export interface FirstAdminNotice {
  /** The command (see first-admin.ts). */
  command: string;
  /** The store lives in the server's process: the command restarts the server rather than adding a user. */
  restart: boolean;
}

export function loginPage(view: LoginView): string {
  return page({
    title: 'Sign in',
    body: html`<section class="card narrow">
  <h1>Sign in</h1>
  ${
    view.firstAdmin
      ? view.firstAdmin.restart
        ? html`<div class="notice" id="first-admin"><p>There are no users yet, and this server keeps them in its own memory, which no other command can reach. Restart it with the first admin (adding your other options):</p>
  <pre>${view.firstAdmin.command}</pre><p class="muted">It asks for the password twice. Then sign in here.</p></div>`
        : html`<div class="notice" id="first-admin"><p>There are no users yet. Create the first admin in a terminal:</p>
  <pre>${view.firstAdmin.command}</pre><p class="muted">Type the password, press Enter, then Ctrl-D. Then sign in here.</p></div>`
      : ''
  }
  ${view.error ? html`<p class="error" role="alert">${view.error}</p>` : ''}
  <form method="post" action="/auth/login">
    ${csrfField(view.csrfToken)}
    <label for="username">Username</label>
    <input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="256" value="${view.username ?? ''}"${view.username ? '' : html` autofocus`}>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="4096"${view.username ? html` autofocus` : ''}>
    <label class="check" for="remember"><input id="remember" name="remember" type="checkbox" value="true" aria-describedby="remember_hint"> Keep me signed in</label>
    <p class="muted" id="remember_hint">Unticked, you are signed out when the browser closes: best on a shared computer.</p>
    <div class="actions"><button type="submit">Sign in</button></div>
  </form>
</section>`,
  });
}

export interface AccountView {
  csrfToken: string;
  user: AuthUser;
  /** One page of the user's sessions, newest first. */
  sessions: LoginRecord[];
  /** The cursor of the next page, or null. */
  next: string | null;
  currentSessionId: string;
  now: number;
  notice?: string;
  /** `?password=` after the change-password form: one of PASSWORD_OUTCOMES' keys, else ignored. */
  passwordOutcome?: unknown;
  /** The policy's minimum length, for the form's hint. */
  minPasswordLength?: number;
  keepSignedIn?: PageOptions['keepSignedIn'];
}

/**
 * What the change-password form's outcome says. A closed set, looked up by the code in the URL: nothing a
 * link could carry is shown as text.
 */
const PASSWORD_OUTCOMES: Readonly<Record<string, { ok: boolean; text: string }>> = {
  changed: { ok: true, text: 'Your password was changed. Your other sessions were signed out.' },
  invalid_credentials: { ok: false, text: 'The current password is not right. Nothing was changed.' },
  invalid_request: {
    ok: false,
    text: 'The new password was refused: it must be long enough, not a common one, not built on your username, and differ from the current one.',
  },
  mismatch: { ok: false, text: 'The new password and its confirmation differ. Nothing was changed.' },
  too_many_requests: { ok: false, text: 'Too many wrong passwords: wait a few minutes and try again.' },
};

function describeAgent(agent: string | null): string {
  if (!agent) return 'Unknown device';
  const browser = /(Edg|Firefox|Chrome|Chromium|Safari|curl)\/[\d.]+/.exec(agent)?.[0];
  const system = /(Windows|Mac OS X|Android|iPhone|iPad|Linux)/.exec(agent)?.[0];
  return [browser, system].filter(Boolean).join(' on ') || agent.slice(0, 60);
}

export function accountPage(view: AccountView): string {
  const outcome =
    typeof view.passwordOutcome === 'string' && Object.hasOwn(PASSWORD_OUTCOMES, view.passwordOutcome)
      ? PASSWORD_OUTCOMES[view.passwordOutcome]
      : undefined;
  const rows = view.sessions.map(
    (session) => html`<tr data-session="${session.id}">
  <td>${describeAgent(session.userAgent)} ${session.id === view.currentSessionId ? html`<span class="tag">this device</span>` : ''}
    <div class="muted">${session.ip ?? ''}</div></td>
  <td data-label="Signed in">${ago(session.createdAt, view.now)}</td>
  <td data-label="Last active">${ago(session.lastActiveAt, view.now)}</td>
  <td>${
    session.id === view.currentSessionId
      ? html`<form method="post" action="/auth/logout">${csrfField(view.csrfToken)}<button class="secondary">Sign out</button></form>`
      : html`<form method="post" action="/auth/sessions/${session.id}/revoke">${csrfField(view.csrfToken)}<button class="danger">Revoke</button></form>`
  }</td>
</tr>`,
  );
  return page({
    title: 'Your account',
    username: view.user.username,
    csrfToken: view.csrfToken,
    keepSignedIn: view.keepSignedIn,
    body: html`<section class="card">
  <h1>Signed in as ${view.user.username}</h1>
  <p class="muted">Role: ${view.user.role}${view.user.role === 'admin' ? html` · <a href="/admin">Manage users</a>` : ''}</p>
  ${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
</section>
<section class="card">
  <h2>Your sessions</h2>
  <table class="stack">
    <thead><tr><th>Device</th><th>Signed in</th><th>Last active</th><th><span class="visually-hidden">Action</span></th></tr></thead>
    <tbody>${rows}</tbody>
  </table>
  ${view.next ? html`<p><a href="/account?cursor=${view.next}">Older sessions</a></p>` : ''}
  <div class="actions wrap">
  ${
    view.sessions.length > 1 || view.next
      ? html`<details class="confirm" id="logout-others"><summary class="danger">Sign out all other sessions</summary>
    <div class="confirm-body"><p>Every other device signed in as ${view.user.username} is signed out. This one stays.</p>
    <form method="post" action="/auth/logout-all">${csrfField(view.csrfToken)}<input type="hidden" name="keepCurrent" value="true"><button class="danger">Yes, sign out the others</button></form></div></details>`
      : ''
  }
  <details class="confirm" id="logout-everywhere"><summary class="danger">Sign out everywhere, including here</summary>
    <div class="confirm-body"><p>Every device signed in as ${view.user.username} is signed out, this one too.</p>
    <form method="post" action="/auth/logout-all">${csrfField(view.csrfToken)}<button class="danger">Yes, sign out everywhere</button></form></div></details>
  </div>
</section>
<section class="card" id="password">
  <h2>Change your password</h2>
  ${outcome ? html`<p class="${outcome.ok ? 'notice' : 'error'}" role="${outcome.ok ? 'status' : 'alert'}">${outcome.text}</p>` : ''}
  <form method="post" action="/auth/password">${csrfField(view.csrfToken)}
    <label for="current_password">Current password</label>
    <input id="current_password" name="current_password" type="password" autocomplete="current-password" required>
    <label for="new_password">New password</label>
    <input id="new_password" name="new_password" type="password" autocomplete="new-password" required${view.minPasswordLength ? html` minlength="${view.minPasswordLength}"` : ''} aria-describedby="new_password_hint">
    <p class="muted" id="new_password_hint">${view.minPasswordLength ? `At least ${view.minPasswordLength} characters. ` : ''}Your other sessions are signed out; this one stays.</p>
    <label for="confirm_password">New password, again</label>
    <input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required>
    <button>Change password</button>
  </form>
</section>`,
  });
}

export interface AdminView {
  csrfToken: string;
  user: AuthUser;
  users: PublicUser[];
  next: string | null;
  /** The roles a new user may get: the keycard's closed set, the default first. */
  roles: readonly string[];
  error?: string;
  notice?: string;
  keepSignedIn?: PageOptions['keepSignedIn'];
}

export function adminPage(view: AdminView): string {
  const rows = view.users.map(
    (user) => html`<tr data-user="${user.username}">
  <td>${user.username}</td>
  <td>${user.role}</td>
  <td>${user.blocked ? html`<span class="tag">blocked</span>` : 'active'}</td>
  <td>${
    user.id === view.user.id
      ? html`<span class="muted">you</span>`
      : user.blocked
        ? html`<form method="post" action="/auth/admin/users/${user.id}/unblock">${csrfField(view.csrfToken)}<button class="secondary">Unblock</button></form>`
        : html`<details class="confirm"><summary class="danger">Block</summary><div class="confirm-body"><p>Ends every login of ${user.username} at once and refuses new ones.</p><form method="post" action="/auth/admin/users/${user.id}/block">${csrfField(view.csrfToken)}<button class="danger">Yes, block ${user.username}</button></form></div></details>`
  }</td>
</tr>`,
  );
  return page({
    title: 'Users',
    username: view.user.username,
    csrfToken: view.csrfToken,
    keepSignedIn: view.keepSignedIn,
    body: html`<section class="card">
  <h1>Users</h1>
  ${view.error ? html`<p class="error" role="alert">${view.error}</p>` : ''}
  ${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
  <table>
    <thead><tr><th>Username</th><th>Role</th><th>Status</th><th></th></tr></thead>
    <tbody>${rows}</tbody>
  </table>
  ${view.next ? html`<p><a href="/admin?after=${encodeURIComponent(view.next)}">Next page</a></p>` : ''}
</section>
<section class="card">
  <h2>Add a user</h2>
  <form method="post" action="/auth/admin/users">
    ${csrfField(view.csrfToken)}
    <label for="new-username">Username</label>
    <input id="new-username" name="username" type="text" required maxlength="256" autocomplete="off">
    <label for="new-password">Password</label>
    <input id="new-password" name="password" type="password" required autocomplete="new-password" maxlength="4096">
    <label for="new-role">Role</label>
    <select id="new-role" name="role">${view.roles.map((role) => html`<option value="${role}">${role}</option>`)}</select>
    <div class="actions"><button type="submit">Add user</button></div>
  </form>
</section>`,
  });
}

export function errorPage(
  status: number,
  message: string,
  username?: string | null,
  csrfToken?: string,
): string {
  return page({
    title: `Error ${status}`,
    username,
    csrfToken,
    body: html`<section class="card narrow"><h1>${status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : 'Something went wrong'}</h1>
  <p>${message}</p><p><a href="/">Back to the start</a></p></section>`,
  });
}

/** The sign-in page of a server whose tokens travel in headers (api, microservices, mobile presets). */
export function tokenOnlyPage(): string {
  return page({
    title: 'Sign in',
    body: html`<section class="card narrow">
  <h1>Tokens for API clients</h1>
  <p>This keycard server issues access and refresh tokens to API and mobile clients (header transport), so
  it has no browser sign-in. Sign in with <code>POST /auth/login</code>, send the access token as
  <code>Authorization: Bearer …</code>, and renew it with <code>POST /auth/refresh</code>.</p>
  <p class="muted">Public keys: <a href="/.well-known/jwks.json">/.well-known/jwks.json</a></p>
</section>`,
  });
}

/**
 * Where access tokens travel in cookies: a page asked for without a usable access token (it expired, or
 * its cookie did) first tries a refresh (the page's script), then shows the page or the sign-in form.
 */
export function resumePage(): string {
  return page({
    title: 'Signing you in',
    keepSignedIn: { resume: true },
    body: html`<section class="card narrow"><h1>Signing you in…</h1>
  <noscript><p>Your sign-in has to be renewed. <a href="/login">Sign in</a></p></noscript></section>`,
  });
}
