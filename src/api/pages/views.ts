/** The server's pages: sign in, my sessions, user admin, the audit log, and errors. */
import type { AuthUser, LoginRecord, PublicUser } from 'keycard';
import { EMAIL_OUTCOMES, invitationForm, LOGIN_OUTCOMES, outcomeNotice, outcomeOf } from './account-views.js';
import { ago, csrfField, html, type PageOptions, page, type SafeHTML } from './html.js';
import { type SecurityView, securitySection } from './mfa-views.js';
import { passkeyScripts, passkeySignInButton } from './passkey-views.js';

export interface LoginView {
  csrfToken: string;
  error?: string;
  username?: string;
  /** When there are no users yet: how to create the first admin. */
  firstAdmin?: FirstAdminNotice | null;
  /** `?outcome=` (after a password reset): one of LOGIN_OUTCOMES' keys, else ignored. */
  outcome?: unknown;
  /** Mail is configured: offer the forgotten-password page. */
  canReset?: boolean;
  /** Anyone may sign up: offer the sign-up page. */
  canSignUp?: boolean;
  /** Passkeys are configured: offer a passwordless sign-in. */
  passkeys?: boolean;
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
  ${view.error ? html`<p class="error" role="alert">${view.error}</p>` : outcomeNotice(outcomeOf(LOGIN_OUTCOMES, view.outcome))}
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
  ${view.passkeys ? html`${passkeySignInButton(view.csrfToken)}${passkeyScripts()}` : ''}
  ${view.canReset ? html`<p><a href="/forgot-password">Forgot your password?</a></p>` : ''}
  ${view.canSignUp ? html`<p><a href="/signup">Create an account</a></p>` : ''}
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
  /** The user's address and whether it is verified. */
  email?: { address: string | null; verified: boolean };
  /** `?outcome=` after the email form: one of EMAIL_OUTCOMES' keys, else ignored. */
  emailOutcome?: unknown;
  /** Mail is configured: verification links can be sent. */
  canMail?: boolean;
  /** The Security section: second factors (docs/mfa.md). */
  security?: SecurityView;
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

export function describeAgent(agent: string | null): string {
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
${
  view.email
    ? html`<section class="card" id="email">
  <h2>Email address</h2>
  ${outcomeNotice(outcomeOf(EMAIL_OUTCOMES, view.emailOutcome))}
  <p>${
    view.email.address
      ? html`<strong>${view.email.address}</strong> ${view.email.verified ? html`<span class="tag">verified</span>` : html`<span class="tag">not verified</span>`}`
      : html`<span class="muted">No address yet: add one so that you can reset a forgotten password.</span>`
  }</p>
  ${
    view.email.address && !view.email.verified && view.canMail
      ? html`<form method="post" action="/auth/email/verification">${csrfField(view.csrfToken)}<button class="secondary">Send the verification link again</button></form>`
      : ''
  }
  <form method="post" action="/auth/email">${csrfField(view.csrfToken)}
    <label for="email_address">${view.email.address ? 'New address' : 'Address'}</label>
    <input id="email_address" name="email" type="email" autocomplete="email" autocapitalize="none" spellcheck="false" required maxlength="320">
    <label for="email_password">Current password</label>
    <input id="email_password" name="current_password" type="password" autocomplete="current-password" required>
    <button>Save address</button>
  </form>
</section>`
    : ''
}
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
</section>
${view.security ? securitySection(view.security) : ''}`,
  });
}

export interface AdminView {
  csrfToken: string;
  user: AuthUser;
  users: PublicUser[];
  next: string | null;
  /** The roles a new user may get: the keycard's closed set, the default first. */
  roles: readonly string[];
  /** The username-prefix search the page shows (`?q=`), kept in the search box and the next-page link. */
  query?: string;
  error?: string;
  notice?: string;
  keepSignedIn?: PageOptions['keepSignedIn'];
  /** Mail is configured: invitations can be mailed. */
  canMail?: boolean;
}

export function adminPage(view: AdminView): string {
  const rows = view.users.map((user) => {
    const mine = user.id === view.user.id;
    const others = view.roles.filter((role) => role !== user.role);
    return html`<tr data-user="${user.username}">
  <td><a href="/admin/users/${user.id}">${user.username}</a></td>
  <td>${
    mine || others.length === 0
      ? user.role
      : html`<form method="post" action="/auth/admin/users/${user.id}/role" class="inline">${csrfField(view.csrfToken)}
    <label class="visually-hidden" for="role-${user.id}">Role of ${user.username}</label>
    <select id="role-${user.id}" name="role">${view.roles.map((role) => html`<option value="${role}"${role === user.role ? html` selected` : ''}>${role}</option>`)}</select>
    <button class="secondary">Change role</button></form>`
  }</td>
  <td>${user.blocked ? html`<span class="tag">blocked</span>` : 'active'}</td>
  <td>${
    mine
      ? html`<span class="muted">you</span>`
      : html`${
          user.blocked
            ? html`<form method="post" action="/auth/admin/users/${user.id}/unblock">${csrfField(view.csrfToken)}<button class="secondary">Unblock</button></form>`
            : html`<details class="confirm"><summary class="danger">Block</summary><div class="confirm-body"><p>Ends every login of ${user.username} at once and refuses new ones.</p><form method="post" action="/auth/admin/users/${user.id}/block">${csrfField(view.csrfToken)}<button class="danger">Yes, block ${user.username}</button></form></div></details>`
        }
    ${
      view.canMail && user.email && !user.blocked
        ? html`<form method="post" action="/auth/admin/users/${user.id}/reset-link">${csrfField(view.csrfToken)}<button class="secondary">Send a reset link</button></form>`
        : ''
    }
    <details class="confirm"><summary>Delete…</summary>
      <form method="post" action="/auth/admin/users/${user.id}/delete">${csrfField(view.csrfToken)}
        <p>Delete ${user.username}? Their logins end and the account cannot be restored.</p>
        <button class="danger">Delete ${user.username}</button></form>
    </details>`
  }</td>
</tr>`;
  });
  const query = view.query ?? '';
  const nextLink = view.next
    ? `/admin?after=${encodeURIComponent(view.next)}${query ? `&q=${encodeURIComponent(query)}` : ''}`
    : null;
  return page({
    title: 'Users',
    username: view.user.username,
    csrfToken: view.csrfToken,
    keepSignedIn: view.keepSignedIn,
    body: html`<section class="card">
  <h1>Users</h1>
  <p class="muted"><a href="/admin/audit">Audit log</a></p>
  ${view.error ? html`<p class="error" role="alert">${view.error}</p>` : ''}
  ${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
  <form method="get" action="/admin" role="search">
    <label for="user-search">Find users whose name begins with</label>
    <input id="user-search" name="q" type="search" maxlength="256" autocomplete="off" value="${query}">
    <button class="secondary">Search</button>${query ? html` <a href="/admin">Show all</a>` : ''}
  </form>
  <table class="users">
    <thead><tr><th>Username</th><th>Role</th><th>Status</th><th></th></tr></thead>
    <tbody>${rows}</tbody>
  </table>
  ${view.users.length === 0 && query && !view.error ? html`<p class="muted">No username begins with ${query}.</p>` : ''}
  ${nextLink ? html`<p><a href="${nextLink}">Next page</a></p>` : ''}
</section>
<section class="card">
  <h2>Add a user</h2>
  <form method="post" action="/auth/admin/users">
    ${csrfField(view.csrfToken)}
    <label for="new-username">Username</label>
    <input id="new-username" name="username" type="text" required maxlength="256" autocomplete="off">
    <label for="new-password">Password</label>
    <input id="new-password" name="password" type="password" required autocomplete="new-password" maxlength="4096">
    <label for="new-email">Email address <span class="muted">(optional)</span></label>
    <input id="new-email" name="email" type="email" autocomplete="off" maxlength="320">
    <label for="new-role">Role</label>
    <select id="new-role" name="role">${view.roles.map((role) => html`<option value="${role}">${role}</option>`)}</select>
    <div class="actions"><button type="submit">Add user</button></div>
  </form>
</section>
${invitationForm({ csrfToken: view.csrfToken, roles: view.roles, canMail: view.canMail === true })}`,
  });
}

/** One audit record as the page shows it (the admin API's shape). */
export interface AuditRow {
  id: string;
  at: string;
  type: string;
  userId: string | null;
  ip: string | null;
  data: Record<string, unknown>;
}

/** Sign-ins and failed sign-ins in one hour of the chart. */
export interface HourCount {
  /** The hour's start (ms). */
  start: number;
  succeeded: number;
  failed: number;
}

export interface AuditView {
  csrfToken: string;
  user: AuthUser;
  records: AuditRow[];
  next: string | null;
  /** The filters shown in the form and kept in the next-page link. */
  filters: { type?: string; user?: string };
  /** The last 24 hours, oldest first; `capped` when only the newest records were counted. */
  hours: HourCount[];
  capped: boolean;
  error?: string;
  keepSignedIn?: PageOptions['keepSignedIn'];
}

const CHART_HEIGHT = 80;
const BAR_WIDTH = 10;

/**
 * Sign-ins (accent) and failures (red) per hour over the last day, as an SVG bar chart drawn on the
 * server (the pages run no script), with the totals in text for whoever cannot see it.
 */
function hourChart(hours: HourCount[], capped: boolean): SafeHTML {
  const most = Math.max(1, ...hours.flatMap((hour) => [hour.succeeded, hour.failed]));
  const bar = (count: number) => Math.round((count / most) * CHART_HEIGHT);
  const bars = hours.map((hour, i) => {
    const x = i * (2 * BAR_WIDTH + 4);
    const label = `${new Date(hour.start).toISOString().slice(11, 16)} UTC: ${hour.succeeded} sign-ins, ${hour.failed} failures`;
    return html`<g><title>${label}</title><rect class="ok" x="${x}" y="${CHART_HEIGHT - bar(hour.succeeded)}" width="${BAR_WIDTH}" height="${bar(hour.succeeded)}"></rect><rect class="bad" x="${x + BAR_WIDTH}" y="${CHART_HEIGHT - bar(hour.failed)}" width="${BAR_WIDTH}" height="${bar(hour.failed)}"></rect></g>`;
  });
  const succeeded = hours.reduce((sum, hour) => sum + hour.succeeded, 0);
  const failed = hours.reduce((sum, hour) => sum + hour.failed, 0);
  const width = hours.length * (2 * BAR_WIDTH + 4);
  return html`<figure class="chart">
  <svg viewBox="0 0 ${width} ${CHART_HEIGHT}" role="img" aria-labelledby="chart-caption" preserveAspectRatio="none">${bars}</svg>
  <figcaption id="chart-caption">Last 24 hours, per hour: <span class="key ok">${succeeded} sign-ins</span>, <span class="key bad">${failed} failed sign-ins</span>${capped ? ' (the newest records only)' : ''}.</figcaption>
</figure>`;
}

/** An audit record's data, as `name=value` pairs. */
function details(data: Record<string, unknown>): string {
  return Object.entries(data)
    .map(([name, value]) => `${name}=${Array.isArray(value) ? value.join(',') : String(value)}`)
    .join(' ');
}

export function auditPage(view: AuditView): string {
  const rows = view.records.map(
    (record) => html`<tr data-audit="${record.id}">
  <td><time datetime="${record.at}">${record.at.slice(0, 19).replace('T', ' ')}</time></td>
  <td>${record.type}</td>
  <td>${record.userId ? html`<a href="/admin/audit?user=${encodeURIComponent(record.userId)}">${record.userId.slice(0, 8)}…</a>` : '-'}</td>
  <td>${record.ip ?? '-'}</td>
  <td class="muted">${details(record.data)}</td>
</tr>`,
  );
  const { type = '', user = '' } = view.filters;
  const kept = `${type ? `&type=${encodeURIComponent(type)}` : ''}${user ? `&user=${encodeURIComponent(user)}` : ''}`;
  return page({
    title: 'Audit log',
    username: view.user.username,
    csrfToken: view.csrfToken,
    keepSignedIn: view.keepSignedIn,
    body: html`<section class="card">
  <h1>Audit log</h1>
  <p class="muted"><a href="/admin">Users</a></p>
  ${hourChart(view.hours, view.capped)}
</section>
<section class="card">
  ${view.error ? html`<p class="error" role="alert">${view.error}</p>` : ''}
  <form method="get" action="/admin/audit" role="search">
    <label for="audit-type">Event types (comma-separated)</label>
    <input id="audit-type" name="type" type="search" maxlength="3250" autocomplete="off" value="${type}" placeholder="login_failed,user_deleted">
    <label for="audit-user">User id</label>
    <input id="audit-user" name="user" type="search" maxlength="256" autocomplete="off" value="${user}">
    <button class="secondary">Filter</button>${type || user ? html` <a href="/admin/audit">Show all</a>` : ''}
  </form>
  <table class="audit">
    <thead><tr><th>Time (UTC)</th><th>Event</th><th>User</th><th>Address</th><th>Details</th></tr></thead>
    <tbody>${rows}</tbody>
  </table>
  ${view.records.length === 0 && !view.error ? html`<p class="muted">No records.</p>` : ''}
  ${view.next ? html`<p><a href="/admin/audit?before=${view.next}${kept}">Older records</a></p>` : ''}
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
