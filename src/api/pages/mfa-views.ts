/**
 * The second-factor pages (docs/mfa.md): the sign-in's second step, the step-up prompt, and what the
 * /account page's Security section shows after enrolling (the QR code, recovery codes — shown once).
 */
import type { PublicFactor } from '../../core/mfa/factors.js';
import { type Outcomes, outcomeNotice, outcomeOf } from './account-views.js';
import { ago, csrfField, html, page, type SafeHTML } from './html.js';
import {
  passkeyAddForm,
  passkeyScripts,
  passkeySecondStepButton,
  passkeyStepUpButton,
} from './passkey-views.js';

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
  /** Passkeys are configured and the user has one: offer it. */
  passkey?: boolean;
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
  ${view.passkey ? html`${passkeySecondStepButton(view.mfaToken, view.csrfToken)}${passkeyScripts()}` : ''}
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
  /** Passkeys are configured and the user has one: offer it too. */
  passkey?: boolean;
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
  ${view.passkey ? html`${passkeyStepUpButton(view.csrfToken, view.next)}${passkeyScripts()}` : ''}
</section>`,
  });
}

/** A path on this site to go back to, or `/account`: never another origin (`//evil`, `/\\evil`). */
export function safeReturnPath(value: unknown): string {
  if (typeof value !== 'string' || !/^\/(?![/\\])[^\s]*$/.test(value) || value.length > 512)
    return '/account';
  return value;
}

/** What the Security section says after a form (`/account?security=`): a closed set, looked up by code. */
export const SECURITY_OUTCOMES: Outcomes = {
  mfa_enrollment_required: {
    ok: false,
    text: 'Your role needs a second factor: add an authenticator app before doing that.',
  },
  removed: { ok: true, text: 'The factor was removed.' },
  added: { ok: true, text: 'Your authenticator app was added.' },
};

const KIND_NAMES: Readonly<Record<string, string>> = {
  totp: 'Authenticator app',
  passkey: 'Passkey',
  recovery: 'Recovery codes',
};

export interface SecurityView {
  csrfToken: string;
  factors: readonly PublicFactor[];
  now: number;
  totpAvailable: boolean;
  /** Passkeys are configured (`--passkey-origin`): offer to add one. */
  passkeysAvailable?: boolean;
  /** `?security=`: one of SECURITY_OUTCOMES' keys, else ignored. */
  outcome?: unknown;
}

/** /account's Security section: the user's second factors, and the forms that add and remove them. */
export function securitySection(view: SecurityView): SafeHTML {
  // A pending enrolment is no factor (docs/mfa.md): it is not listed.
  const factors = view.factors.filter((factor) => factor.confirmed);
  const recovery = factors.find((factor) => factor.kind === 'recovery');
  const others = factors.filter((factor) => factor.kind !== 'recovery');
  const rows = others.map(
    (factor) => html`<tr data-factor="${factor.id}">
  <td>${factor.name} <div class="muted">${KIND_NAMES[factor.kind] ?? factor.kind}</div></td>
  <td data-label="Added">${ago(factor.createdAt, view.now)}</td>
  <td data-label="Last used">${factor.lastUsedAt === null ? 'never' : ago(factor.lastUsedAt, view.now)}</td>
  <td><details class="confirm"><summary class="danger">Remove…</summary><div class="confirm-body"><p>Remove ${factor.name}? ${others.length === 1 ? 'It is your last second factor: your recovery codes stop working too.' : ''}</p>
    <form method="post" action="/auth/mfa/factors/${factor.id}/delete">${csrfField(view.csrfToken)}<button class="danger">Yes, remove ${factor.name}</button></form></div></details></td>
</tr>`,
  );
  return html`<section class="card" id="security">
  <h2>Security</h2>
  ${outcomeNotice(outcomeOf(SECURITY_OUTCOMES, view.outcome))}
  ${
    rows.length === 0
      ? html`<p class="muted">No second factor yet: your password alone signs you in. Add one so that a stolen password is not enough.</p>`
      : html`<table class="stack">
    <thead><tr><th>Second factor</th><th>Added</th><th>Last used</th><th><span class="visually-hidden">Action</span></th></tr></thead>
    <tbody>${rows}</tbody>
  </table>`
  }
  ${
    recovery
      ? html`<p id="recovery-left">Recovery codes: ${recovery.remaining ?? 0} of 10 left.</p>
  <form method="post" action="/auth/mfa/recovery-codes">${csrfField(view.csrfToken)}<button class="secondary">New recovery codes</button></form>`
      : ''
  }
  ${
    view.totpAvailable
      ? html`<form method="post" action="/auth/mfa/totp" id="add-totp">${csrfField(view.csrfToken)}
    <label for="totp_name">Name (optional)</label>
    <input id="totp_name" name="name" type="text" maxlength="64" placeholder="Authenticator app">
    <button>Add an authenticator app</button>
  </form>`
      : ''
  }
  ${view.passkeysAvailable ? html`${passkeyAddForm(view.csrfToken)}${passkeyScripts()}` : ''}
</section>`;
}

/** The code form that confirms an authenticator app: on the enrolment page, and again after a wrong code. */
function confirmForm(csrfToken: string): SafeHTML {
  return html`<form method="post" action="/auth/mfa/totp/confirm" id="confirm-totp">
    ${csrfField(csrfToken)}
    <label for="code">The code your app shows now</label>
    <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,8}" required maxlength="64" autofocus>
    <div class="actions"><button type="submit">Confirm</button></div>
  </form>`;
}

/**
 * The QR code from `qrcode` (an SVG document it built from the otpauth URI), inlined: inline SVG is part
 * of the page, not a loaded image, so the CSP's img-src needs nothing. Anything but a plain SVG is dropped.
 */
function qrImage(svg: string): SafeHTML {
  const trimmed = svg.trim();
  if (!/^<svg[\s>]/.test(trimmed) || /<(script|foreignObject)|\son\w+=|href=/i.test(trimmed))
    return { html: '' };
  return {
    html: trimmed.replace(
      /^<svg/,
      '<svg role="img" aria-label="QR code for your authenticator app" width="200" height="200"',
    ),
  };
}

export interface TotpEnrollView {
  csrfToken: string;
  username: string;
  secret: string;
  qrSvg: string;
}

/** After "Add an authenticator app": the QR code, the secret for typing, and the first code's form. */
export function totpEnrollPage(view: TotpEnrollView): string {
  const grouped = view.secret.replace(/(.{4})(?=.)/g, '$1 ');
  return page({
    title: 'Add an authenticator app',
    username: view.username,
    csrfToken: view.csrfToken,
    body: html`<section class="card narrow">
  <h1>Add an authenticator app</h1>
  <p>Scan this code with your authenticator app:</p>
  <div class="qr">${qrImage(view.qrSvg)}</div>
  <p>Or type this key into it (time-based, 6 digits):</p>
  <pre id="totp-secret" data-secret="${view.secret}">${grouped}</pre>
  ${confirmForm(view.csrfToken)}
  <p><a href="/account#security">Cancel</a></p>
</section>`,
  });
}

/** A wrong first code: the form again (the key is not shown twice; start again for a new one). */
export function totpRetryPage(view: { csrfToken: string; username: string; error: string }): string {
  return page({
    title: 'Add an authenticator app',
    username: view.username,
    csrfToken: view.csrfToken,
    body: html`<section class="card narrow">
  <h1>Add an authenticator app</h1>
  ${
    view.error === 'invalid_code'
      ? stepError(view.error)
      : html`<p class="error" role="alert">There is no app waiting to be confirmed: start again.</p>`
  }
  ${confirmForm(view.csrfToken)}
  <p><a href="/account#security">Start again</a></p>
</section>`,
  });
}

/** New recovery codes, shown this once. */
export function recoveryCodesPage(view: {
  csrfToken: string;
  username: string;
  codes: readonly string[];
  /** After confirming an authenticator app: say it was added. */
  added?: boolean;
}): string {
  return page({
    title: 'Your recovery codes',
    username: view.username,
    csrfToken: view.csrfToken,
    body: html`<section class="card narrow">
  ${view.added ? html`<p class="notice" role="status">Your authenticator app was added.</p>` : ''}
  <h1>Your recovery codes</h1>
  <p>Each code signs you in once if you lose your authenticator. Keep them somewhere safe: they are not shown again, and earlier codes no longer work.</p>
  <pre id="recovery-codes">${view.codes.join('\n')}</pre>
  <p><a href="/account#security">Done</a></p>
</section>`,
  });
}

/**
 * A sensitive action's refusals for want of a recent proof: a form that says its own refusals lets these
 * through to the error handler, which sends the browser to /step-up (stepUpLocation).
 */
export function isStepUpRefusal(failure: { code: string }): boolean {
  return failure.code === 'step_up_required' || failure.code === 'mfa_enrollment_required';
}

/**
 * Where a page's form post goes when a sensitive action was refused for want of a recent proof
 * (docs/mfa.md, "Step-up"): `/step-up`, then back to the page the form was on (the Referer's path when it
 * is this site's, else /account); a role that needs a factor first goes to /account's Security section.
 * Only a post from keycard's own pages (`origin` allowed), as formRefusalLocation: a forged one keeps its
 * 403. Null: the refusal is answered as usual.
 */
export function stepUpLocation(
  code: string,
  origin: 'allowed' | 'cross_site',
  referer: string | undefined,
  host: string | undefined,
): string | null {
  if (origin !== 'allowed') return null;
  if (code === 'mfa_enrollment_required') return '/account?security=mfa_enrollment_required#security';
  if (!isStepUpRefusal({ code })) return null;
  let back = '/account';
  if (referer && host) {
    try {
      const url = new URL(referer);
      if (url.host === host) back = safeReturnPath(url.pathname + url.search);
    } catch {
      // A malformed Referer is no page to go back to.
    }
  }
  return `/step-up?${new URLSearchParams({ next: back })}`;
}
