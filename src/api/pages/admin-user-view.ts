/** The admin's page of one user: who they are, their logins, and what can be done about them. */
import type { AuthUser, LoginRecord, PublicUser } from 'keycard';
import { ADMIN_USER_OUTCOMES, outcomeNotice, outcomeOf } from './account-views.js';
import { ago, csrfField, html, type PageOptions, page } from './html.js';
import { describeAgent } from './views.js';

export interface AdminUserView {
  csrfToken: string;
  user: AuthUser;
  subject: PublicUser;
  sessions: LoginRecord[];
  next: string | null;
  now: number;
  outcome?: unknown;
  canMail: boolean;
  keepSignedIn?: PageOptions['keepSignedIn'];
  /** How many second factors the user has (recovery codes not counted). */
  factorCount?: number;
}

export function adminUserPage(view: AdminUserView): string {
  const { subject } = view;
  const rows = view.sessions.map(
    (session) => html`<tr data-session="${session.id}">
  <td>${describeAgent(session.userAgent)}<div class="muted">${session.ip ?? ''}</div></td>
  <td>${ago(session.createdAt, view.now)}</td>
  <td>${ago(session.lastActiveAt, view.now)}</td>
</tr>`,
  );
  const mine = subject.id === view.user.id;
  return page({
    title: subject.username,
    username: view.user.username,
    csrfToken: view.csrfToken,
    keepSignedIn: view.keepSignedIn,
    body: html`<section class="card">
  <p class="muted"><a href="/admin">Users</a></p>
  <h1>${subject.username}</h1>
  ${outcomeNotice(outcomeOf(ADMIN_USER_OUTCOMES, view.outcome))}
  <p>Role: ${subject.role} · ${subject.blocked ? html`<span class="tag">blocked</span>` : 'active'} · created ${subject.createdAt.slice(0, 10)}</p>
  <p>Email: ${subject.email ? html`${subject.email} ${subject.emailVerified ? html`<span class="tag">verified</span>` : html`<span class="tag">not verified</span>`}` : html`<span class="muted">none</span>`}</p>
  ${
    !mine && view.canMail && subject.email && !subject.blocked
      ? html`<form method="post" action="/auth/admin/users/${subject.id}/reset-link">${csrfField(view.csrfToken)}<button class="secondary">Send a reset link</button></form>`
      : ''
  }
</section>
${
  view.factorCount === undefined
    ? ''
    : html`<section class="card" id="factors">
  <h2>Second factors</h2>
  <p>${view.factorCount === 0 ? 'No second factor: the password alone signs in.' : `${view.factorCount} second factor${view.factorCount === 1 ? '' : 's'}.`}</p>
  ${
    view.factorCount > 0 && !mine
      ? html`<details class="confirm"><summary>Reset second factors…</summary>
    <form method="post" action="/auth/admin/users/${subject.id}/factors/reset">${csrfField(view.csrfToken)}
      <p>Remove every second factor and recovery code of ${subject.username}? For a user who lost them: they sign in with the password alone until they add one again.</p>
      <button class="danger">Reset the second factors of ${subject.username}</button></form>
  </details>`
      : ''
  }
</section>`
}
<section class="card">
  <h2>Sessions</h2>
  ${
    view.sessions.length === 0
      ? html`<p class="muted">No live sessions.</p>`
      : html`<table class="sessions">
    <thead><tr><th>Device</th><th>Signed in</th><th>Last active</th></tr></thead>
    <tbody>${rows}</tbody>
  </table>`
  }
  ${view.next ? html`<p><a href="/admin/users/${subject.id}?cursor=${view.next}">Older sessions</a></p>` : ''}
  ${
    view.sessions.length > 0 && !mine
      ? html`<details class="confirm"><summary>End all sessions…</summary>
    <form method="post" action="/auth/admin/users/${subject.id}/sessions/revoke">${csrfField(view.csrfToken)}
      <p>End every session of ${subject.username}? They are signed out everywhere at once, and may sign in again.</p>
      <button class="danger">End all sessions of ${subject.username}</button></form>
  </details>`
      : ''
  }
</section>`,
  });
}
