/**
 * The account-link pages: forgot password, reset it from a link, and verify an address from a link. A
 * link opens a page with a button rather than acting on the GET: mail scanners fetch links, and must not
 * use them up. Outcomes arrive as `?outcome=<code>` and are looked up in closed lists (nothing a crafted
 * link carries is shown as text).
 */
import { csrfField, html, page } from './html.js';

export type Outcomes = Readonly<Record<string, { ok: boolean; text: string }>>;

export function outcomeOf(outcomes: Outcomes, code: unknown): { ok: boolean; text: string } | undefined {
  return typeof code === 'string' && Object.hasOwn(outcomes, code) ? outcomes[code] : undefined;
}

export function outcomeNotice(outcome: { ok: boolean; text: string } | undefined) {
  return outcome
    ? html`<p class="${outcome.ok ? 'notice' : 'error'}" role="${outcome.ok ? 'status' : 'alert'}">${outcome.text}</p>`
    : '';
}

const LINK_REFUSED = {
  token_invalid: { ok: false, text: 'This link is invalid, has expired, or was already used.' },
  too_many_requests: {
    ok: false,
    text: 'Too many attempts from your network: wait a few minutes and try again.',
  },
} as const;

export const FORGOT_OUTCOMES: Outcomes = {
  sent: {
    ok: true,
    text: 'If an account has this address, a link to reset its password is on its way. It works for 30 minutes.',
  },
  invalid_request: { ok: false, text: 'That is not an email address.' },
  too_many_requests: { ok: false, text: 'Too many requests: wait a while and try again.' },
};

export const RESET_OUTCOMES: Outcomes = {
  ...LINK_REFUSED,
  invalid_request: {
    ok: false,
    text: 'That password was refused: it must be long enough, not a common one, and not built on your username. Your link still works.',
  },
  mismatch: { ok: false, text: 'The password and its confirmation differ. Your link still works.' },
};

export const VERIFY_OUTCOMES: Outcomes = {
  ...LINK_REFUSED,
  verified: { ok: true, text: 'Your email address is verified. Thank you.' },
};

/** What the sign-in page says after a reset. */
export const LOGIN_OUTCOMES: Outcomes = {
  password_reset: { ok: true, text: 'Your password was reset. Sign in with the new one.' },
};

/** What the account page's email form came to. */
export const EMAIL_OUTCOMES: Outcomes = {
  email_sent: { ok: true, text: 'We sent a verification link to your address. It works for 24 hours.' },
  email_set: { ok: true, text: 'Your email address was saved.' },
  invalid_credentials: { ok: false, text: 'The current password is not right. Nothing was changed.' },
  email_taken: { ok: false, text: 'Another account has that address. Nothing was changed.' },
  invalid_request: { ok: false, text: 'That is not an email address. Nothing was changed.' },
  mail_unavailable: { ok: false, text: 'The mail could not be sent; try again later.' },
  too_many_requests: { ok: false, text: 'Too many attempts: wait a few minutes and try again.' },
};

export function forgotPasswordPage(view: { csrfToken: string; outcome?: unknown }): string {
  const outcome = outcomeOf(FORGOT_OUTCOMES, view.outcome);
  return page({
    title: 'Forgot your password',
    body: html`<section class="card narrow">
  <h1>Forgot your password?</h1>
  ${outcomeNotice(outcome)}
  <p class="muted">Enter the email address of your account, and we will send you a link to choose a new password.</p>
  <form method="post" action="/auth/password/forgot">
    ${csrfField(view.csrfToken)}
    <label for="email">Email address</label>
    <input id="email" name="email" type="email" autocomplete="email" autocapitalize="none" spellcheck="false" required maxlength="320" autofocus>
    <div class="actions"><button type="submit">Send the link</button></div>
  </form>
  <p><a href="/login">Back to sign in</a></p>
</section>`,
  });
}

export function resetPasswordPage(view: {
  csrfToken: string;
  token: string | undefined;
  outcome?: unknown;
  minPasswordLength?: number;
}): string {
  const outcome = outcomeOf(RESET_OUTCOMES, view.outcome);
  const body = view.token
    ? html`<form method="post" action="/auth/password/reset">
    ${csrfField(view.csrfToken)}
    <input type="hidden" name="token" value="${view.token}">
    <label for="new_password">New password</label>
    <input id="new_password" name="new_password" type="password" autocomplete="new-password" required maxlength="4096"${view.minPasswordLength ? html` minlength="${view.minPasswordLength}"` : ''} aria-describedby="new_password_hint" autofocus>
    <p class="muted" id="new_password_hint">${view.minPasswordLength ? `At least ${view.minPasswordLength} characters. ` : ''}Every session of your account is signed out.</p>
    <label for="confirm_password">New password, again</label>
    <input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required maxlength="4096">
    <div class="actions"><button type="submit">Set the new password</button></div>
  </form>`
    : html`<p>This page needs the link from the mail. <a href="/forgot-password">Ask for a new one</a>.</p>`;
  return page({
    title: 'Choose a new password',
    body: html`<section class="card narrow">
  <h1>Choose a new password</h1>
  ${outcomeNotice(outcome)}
  ${body}
  ${view.outcome === 'token_invalid' ? html`<p><a href="/forgot-password">Ask for a new link</a></p>` : ''}
</section>`,
  });
}

export function verifyEmailPage(view: {
  csrfToken: string;
  token: string | undefined;
  outcome?: unknown;
}): string {
  const outcome = outcomeOf(VERIFY_OUTCOMES, view.outcome);
  return page({
    title: 'Verify your email address',
    body: html`<section class="card narrow">
  <h1>Verify your email address</h1>
  ${outcomeNotice(outcome)}
  ${
    view.token
      ? html`<form method="post" action="/auth/email/verify">
    ${csrfField(view.csrfToken)}
    <input type="hidden" name="token" value="${view.token}">
    <div class="actions"><button type="submit">Verify my address</button></div>
  </form>`
      : outcome?.ok
        ? html`<p><a href="/account">Go to your account</a></p>`
        : html`<p class="muted">Open the link from the mail to verify your address.</p>`
  }
</section>`,
  });
}

export const SIGNUP_OUTCOMES: Outcomes = {
  ...LINK_REFUSED,
  token_invalid: { ok: false, text: 'This invitation is invalid, has expired, or was already used.' },
  forbidden: { ok: false, text: 'Sign-up here is by invitation: open the link from your invitation.' },
  username_taken: {
    ok: false,
    text: 'That username is taken, or looks too much like one that is. Choose another.',
  },
  email_taken: { ok: false, text: 'Another account has that email address.' },
  invalid_request: {
    ok: false,
    text: 'That was refused: a username of letters, digits, dots, dashes or underscores, a password long enough and not a common one or built on the name, and a plain email address.',
  },
  mismatch: { ok: false, text: 'The password and its confirmation differ.' },
};

export function signupPage(view: {
  csrfToken: string;
  mode: 'closed' | 'invite' | 'open';
  invitation?: string;
  outcome?: unknown;
  username?: string;
  email?: string;
  minPasswordLength?: number;
}): string {
  const outcome = outcomeOf(SIGNUP_OUTCOMES, view.outcome);
  const open = view.mode === 'open' || (view.mode === 'invite' && view.invitation);
  return page({
    title: 'Create an account',
    body: html`<section class="card narrow">
  <h1>Create an account</h1>
  ${outcomeNotice(outcome)}
  ${
    open
      ? html`<form method="post" action="/auth/signup">
    ${csrfField(view.csrfToken)}
    ${view.invitation ? html`<input type="hidden" name="invitation" value="${view.invitation}">` : ''}
    <label for="username">Username</label>
    <input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="256" value="${view.username ?? ''}" autofocus>
    <label for="email">Email address <span class="muted">(optional, to reset a forgotten password)</span></label>
    <input id="email" name="email" type="email" autocomplete="email" autocapitalize="none" spellcheck="false" maxlength="320" value="${view.email ?? ''}">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="new-password" required maxlength="4096"${view.minPasswordLength ? html` minlength="${view.minPasswordLength}"` : ''}>
    <label for="confirm_password">Password, again</label>
    <input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required maxlength="4096">
    <div class="actions"><button type="submit">Create my account</button></div>
  </form>`
      : html`<p>${view.mode === 'invite' ? 'Sign-up here is by invitation: open the link from your invitation.' : 'Sign-up is closed here: ask an administrator for an account.'}</p>`
  }
  <p><a href="/login">Already have an account? Sign in</a></p>
</section>`,
  });
}

/** An invitation created without mail: its link, shown once to the admin who made it. */
export function invitationPage(link: string): string {
  return page({
    title: 'Invitation',
    body: html`<section class="card narrow">
  <h1>Invitation created</h1>
  <p>Send this link to the person you invite. It works once, for 7 days, and is not shown again.</p>
  <p><input id="invitation-link" type="text" readonly value="${link}" aria-label="Invitation link"></p>
  <p><a href="/admin">Back to users</a></p>
</section>`,
  });
}

/** The admin page's invitation form. */
export function invitationForm(view: { csrfToken: string; roles: readonly string[]; canMail: boolean }) {
  return html`<section class="card" id="invite">
  <h2>Invite someone</h2>
  <p class="muted">${view.canMail ? 'With an address, the link is mailed; without one, it is shown to you once.' : 'The link is shown to you once; send it yourself.'} It works once, for 7 days.</p>
  <form method="post" action="/auth/admin/invitations">
    ${csrfField(view.csrfToken)}
    ${
      view.canMail
        ? html`<label for="invite-email">Email address</label>
    <input id="invite-email" name="email" type="email" autocomplete="off" maxlength="320">`
        : ''
    }
    <label for="invite-role">Role</label>
    <select id="invite-role" name="role">${view.roles.map((role) => html`<option value="${role}">${role}</option>`)}</select>
    <div class="actions"><button type="submit">Create the invitation</button></div>
  </form>
</section>`;
}

export const ADMIN_OUTCOMES: Outcomes = {
  invited: { ok: true, text: 'The invitation was mailed.' },
};

export const ADMIN_USER_OUTCOMES: Outcomes = {
  sessions_ended: {
    ok: true,
    text: 'Every session of this user was ended. They may sign in again (block them to prevent that).',
  },
  reset_sent: { ok: true, text: 'A password reset link was mailed to the user. It works for 30 minutes.' },
  factors_reset: {
    ok: true,
    text: 'Every second factor of this user was removed: they sign in with the password alone.',
  },
};
