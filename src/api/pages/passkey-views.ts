/**
 * The pages' passkey pieces (docs/mfa.md): fragments the sign-in page, its second step and the account's
 * Security section include, and the script that runs their ceremonies. The pages allow no inline script
 * (their Content-Security-Policy is `script-src 'self'`), so the fragments are plain forms marked with
 * `data-passkey`, and two served scripts do the work: @simplewebauthn/browser's bundle
 * (`/assets/webauthn.js`) and PASSKEY_SCRIPT (`/assets/keycard-passkeys.js`). Without JavaScript the
 * buttons do nothing (a ceremony needs `navigator.credentials`); the password and code forms still work.
 */
import { csrfField, html, type SafeHTML } from './html.js';

/** Where the two scripts are served (src/server/routes/passkey-assets.ts). */
export const WEBAUTHN_SCRIPT_PATH = '/assets/webauthn.js';
export const PASSKEY_SCRIPT_PATH = '/assets/keycard-passkeys.js';

/**
 * The script tags, once per page that shows any passkey fragment (in its body, after the fragments).
 * Both deferred, so they run in order once the document is parsed.
 */
export function passkeyScripts(): SafeHTML {
  return html`<script src="${WEBAUTHN_SCRIPT_PATH}" defer></script><script src="${PASSKEY_SCRIPT_PATH}" defer></script>`;
}

/** Where a fragment's script says what went wrong (or, after adding a passkey, shows recovery codes). */
const status = html`<p class="passkey-status" role="status" data-passkey-status hidden></p>`;

/** /login: a passwordless sign-in with a passkey; signed in, the browser goes to /account. */
export function passkeySignInButton(csrfToken: string | undefined): SafeHTML {
  return html`<form class="passkey" data-passkey="login">${csrfField(csrfToken)}<button type="submit" class="secondary">Sign in with a passkey</button>${status}</form>`;
}

/** The sign-in's second step: finish the pending sign-in (`mfaToken`) with a passkey. */
export function passkeySecondStepButton(mfaToken: string, csrfToken: string | undefined): SafeHTML {
  return html`<form class="passkey" data-passkey="second-step">${csrfField(csrfToken)}<input type="hidden" name="mfa_token" value="${mfaToken}"><button type="submit">Use your passkey</button>${status}</form>`;
}

/** /step-up: renew the login's proof with a passkey, then go back to `next` (a path on this site). */
export function passkeyStepUpButton(csrfToken: string | undefined, next: string): SafeHTML {
  return html`<form class="passkey" data-passkey="step-up">${csrfField(csrfToken)}<input type="hidden" name="next" value="${next}"><button type="submit" class="secondary">Use your passkey</button>${status}</form>`;
}

/**
 * /account's Security section: add a passkey under a name. Adding one needs a recent step-up (403
 * `step_up_required` is shown as the server words it); the first second factor's recovery codes are shown
 * in the form once, otherwise the page reloads to list the new passkey.
 */
export function passkeyAddForm(csrfToken: string | undefined): SafeHTML {
  return html`<form class="passkey" data-passkey="add">${csrfField(csrfToken)}<label for="passkey-name">Name</label><input id="passkey-name" name="name" maxlength="64" placeholder="Passkey" autocomplete="off"><button type="submit">Add a passkey</button>${status}<ol class="recovery-codes" data-passkey-codes hidden></ol></form>`;
}

/**
 * The ceremonies, run on a fragment's submit: fetch the options, let the browser make or use the
 * credential, post its response with the form's CSRF token. Messages are set as text, never as HTML.
 */
export const PASSKEY_SCRIPT = `'use strict';
(() => {
  const webauthn = window.SimpleWebAuthnBrowser;

  async function post(path, body, csrf) {
    const response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    });
    const json = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(json?.error?.message || 'the server refused it (' + response.status + ')');
    return json;
  }

  const ceremonies = {
    async login(form, csrf) {
      const { options } = await post('/auth/passkey/options', {}, csrf);
      const response = await webauthn.startAuthentication({ optionsJSON: options });
      await post('/auth/login/passkey', { response }, csrf);
      location.assign('/account');
    },
    async 'second-step'(form, csrf) {
      const mfaToken = form.elements.mfa_token.value;
      const { options } = await post('/auth/passkey/options', { mfa_token: mfaToken }, csrf);
      const passkey = await webauthn.startAuthentication({ optionsJSON: options });
      await post('/auth/login/mfa', { mfa_token: mfaToken, passkey }, csrf);
      location.assign('/account');
    },
    async 'step-up'(form, csrf) {
      const { options } = await post('/auth/passkey/options', { step_up: true }, csrf);
      const passkey = await webauthn.startAuthentication({ optionsJSON: options });
      await post('/auth/mfa/step-up', { passkey }, csrf);
      // The server checked it as a path on this site when it made the page; checked again here.
      const next = form.elements.next.value;
      location.assign(next.startsWith('/') && !next.startsWith('//') ? next : '/account');
    },
    async add(form, csrf) {
      const { options } = await post('/auth/mfa/passkeys/options', {}, csrf);
      const response = await webauthn.startRegistration({ optionsJSON: options });
      const name = form.elements.name.value.trim();
      const added = await post('/auth/mfa/passkeys', name ? { name, response } : { response }, csrf);
      if (!added.recovery_codes) return location.reload();
      const list = form.querySelector('[data-passkey-codes]');
      for (const code of added.recovery_codes) {
        const item = document.createElement('li');
        item.textContent = code;
        list.append(item);
      }
      list.hidden = false;
      say(form, 'Passkey added. Save these recovery codes now: they are shown only once.');
    },
  };

  function say(form, message) {
    const status = form.querySelector('[data-passkey-status]');
    status.textContent = message;
    status.hidden = false;
  }

  for (const form of document.querySelectorAll('form[data-passkey]')) {
    if (!webauthn || !webauthn.browserSupportsWebAuthn()) {
      form.hidden = true;
      continue;
    }
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const button = form.querySelector('button');
      button.disabled = true;
      try {
        await ceremonies[form.dataset.passkey](form, form.elements._csrf?.value ?? '');
        form.dataset.passkeyDone = 'true';
      } catch (error) {
        say(form, error && error.name === 'NotAllowedError' ? 'The passkey was not used.' : String(error.message || error));
      } finally {
        button.disabled = false;
      }
    });
  }
})();
`;
