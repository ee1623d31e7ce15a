/**
 * Server-rendered HTML with no build step. Every interpolated value goes through `escapeHTML`; the page
 * shell sets no inline script or style, so the Content-Security-Policy can forbid both.
 */

import { escapeHTML } from 'keycard';

export { escapeHTML };

/** A string that is already HTML (built by these helpers), so `page` does not escape it again. */
export interface SafeHTML {
  readonly html: string;
}

/** Tagged template: interpolations are escaped unless they are SafeHTML (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHTML {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '');
  });
  return { html: out };
}

function render(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  if (typeof value === 'object' && 'html' in value) return (value as SafeHTML).html;
  return escapeHTML(value);
}

export interface PageOptions {
  title: string;
  body: SafeHTML;
  /** Shown in the header when someone is signed in. */
  username?: string | null;
  /** The CSRF token every form of the page carries. */
  csrfToken?: string;
  /**
   * Access tokens in cookies (jwt and hybrid): load the script that keeps the page signed in, with the
   * access token's remaining lifetime in seconds, or `resume` for a page that must refresh first.
   */
  keepSignedIn?: { accessExpiresIn: number } | { resume: true };
}

/** The hidden field that carries a page's CSRF token in each of its forms. */
export function csrfField(token: string | undefined): SafeHTML {
  return token ? html`<input type="hidden" name="_csrf" value="${token}">` : { html: '' };
}

function bodyData(keep: PageOptions['keepSignedIn']): SafeHTML {
  if (!keep) return { html: '' };
  return 'resume' in keep
    ? { html: ' data-resume' }
    : html` data-access-expires-in="${Math.max(0, Math.floor(keep.accessExpiresIn))}"`;
}

export function page(options: PageOptions): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · keycard</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/keycard.css">
${options.keepSignedIn ? html`<script type="module" src="/assets/keycard-session.js"></script>` : ''}
</head>
<body${bodyData(options.keepSignedIn)}>
<header>
  <a class="brand" href="/">keycard</a>
  ${
    options.username
      ? html`<nav><a href="/account">${options.username}</a>
      <form method="post" action="/auth/logout">${csrfField(options.csrfToken)}<button class="link">Sign out</button></form></nav>`
      : ''
  }
</header>
<main>
${options.body}
</main>
</body>
</html>
`.html;
}

/** Readable relative time for the sessions list ("3 minutes ago"). */
export function ago(then: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'} ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} hour${hours === 1 ? '' : 's'} ago`;
  const days = Math.round(hours / 24);
  return `${days} days ago`;
}
