/**
 * The second-factor pages (docs/mfa.md): the sign-in's second step, the step-up prompt, and what the
 * /account page's Security section shows after enrolling (the QR code, recovery codes — shown once).
 */
import { csrfField, html, page, type SafeHTML } from './html.js';

/** Why a second step was refused, by code: a closed set, so nothing from a URL is shown as text. */
const STEP_ERRORS: Readonly<Record<string, string>> = {
  invalid_code: 'That code is not right, or was used already. Try the next one.',
  too_many_requests: 'Too many wrong codes: wait a few minutes and sign in again.',
  token_invalid: 'This sign-in has expired. Sign in again.',
  invalid_credentials: 'The password is not right.',
};

const stepError = (code: string | undefined): SafeHTML =>
  code && STEP_ERRORS[code] ? html`<p class="error" role="alert">${STEP_ERRORS[code]}</p>` : { html: '' };

export interface SecondStepView {
  csrfToken: string;
  mfaToken: string;
  factors: readonly string[];
  remember: boolean;
  error?: string;
}

/** After a right password: the code (or, from the passkey module, a passkey) that finishes signing in. */
export function secondStepPage(view: SecondStepView): string {
  const recovery = view.factors.includes('recovery');
  return page({
    title: 'Two-step sign-in',
    body: html`<section class="card narrow">
  <h1>One more step</h1>
  ${stepError(view.error)}
  <form method="post" action="/auth/login/mfa">
    ${csrfField(view.csrfToken)}
    <input type="hidden" name="mfa_token" value="${view.mfaToken}">
    ${view.remember ? html`<input type="hidden" name="remember" value="true">` : ''}
    <label for="code">Code from your authenticator app${recovery ? ', or a recovery code' : ''}</label>
    <input id="code" name="code" type="text" inputmode="${recovery ? 'text' : 'numeric'}" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" required maxlength="64" autofocus>
    <div class="actions"><button type="submit">Continue</button></div>
  </form>
  <p><a href="/login">Start again</a></p>
</section>`,
  });
}

export interface StepUpView {
  csrfToken: string;
  username: string;
  /** The user has a second factor: ask for a code; otherwise the password. */
  hasFactor: boolean;
  /** Where to go back to afterwards: a path on this site. */
  next: string;
  error?: string;
}

/** A sensitive action asked for a recent proof: the code (or password), then back where the user was. */
export function stepUpPage(view: StepUpView): string {
  return page({
    title: 'Confirm it is you',
    username: view.username,
    csrfToken: view.csrfToken,
    body: html`<section class="card narrow">
  <h1>Confirm it is you</h1>
  <p class="muted">This action needs a recent confirmation.</p>
  ${stepError(view.error)}
  <form method="post" action="/auth/mfa/step-up">
    ${csrfField(view.csrfToken)}
    <input type="hidden" name="next" value="${view.next}">
    ${
      view.hasFactor
        ? html`<label for="code">Code from your authenticator app, or a recovery code</label>
    <input id="code" name="code" type="text" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" required maxlength="64" autofocus>`
        : html`<label for="password">Your password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="4096" autofocus>`
    }
    <div class="actions"><button type="submit">Confirm</button></div>
  </form>
</section>`,
  });
}

/** A path on this site to go back to, or `/account`: never another origin (`//evil`, `/\\evil`). */
export function safeReturnPath(value: unknown): string {
  if (typeof value !== 'string' || !/^\/(?![/\\])[^\s]*$/.test(value) || value.length > 512)
    return '/account';
  return value;
}
