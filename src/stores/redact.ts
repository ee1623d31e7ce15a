/**
 * Store URLs fit to show. A store URL may carry a password — in its user info
 * (`postgres://user:PASSWORD@host`, `redis://:PASSWORD@host`, `redis+cluster://a:PASSWORD@h1,h2`,
 * `redis+sentinel://a:PASSWORD@s1,s2/name`, `mongodb://u:PASSWORD@h1,h2/db`) or in its query
 * (`?password=…`, which pg reads like libpq; `?sentinelPassword=…`, the Sentinels' own) — and
 * keycard shows store URLs in logs, on the first-run page and in CLI messages. Every place that shows one
 * calls `redactURL`, so there is one rule for what is hidden.
 *
 * The rule errs on the side of hiding: it must hold for malformed input too (a typo in the URL is no
 * reason to print its password), so it does not ask a URL parser, which would refuse exactly those.
 */

/** What a hidden value is shown as. */
export const REDACTED = '***';

/**
 * Query options whose value is a credential: `password` (pg, libpq), `sslpassword`, `passfile`,
 * `sentinelPassword` (redis+sentinel://), tokens, and MongoDB's `authMechanismProperties` (which may hold `AWS_SESSION_TOKEN:…`). Matched on the
 * percent-decoded name, in any case.
 */
const SECRET_OPTION = /pass|pwd|secret|token|credential|authmechanismproperties/i;

/** Store schemes without an authority (no user info): only their query can hold a secret. */
const NO_AUTHORITY = /^(?:sqlite|memory):/i;

/** A scheme and the slashes after it (`postgres://`); at least one slash, so `user:pw@host` has none. */
const SCHEME_AND_SLASHES = /^[A-Za-z][A-Za-z0-9+.-]*:\/+|^\/*/;

/** `name=value` in a query; `&`, `;`, `#` and whitespace also separate options (libpq, MongoDB). */
const OPTION = /([?&;#\s])([^=&;#\s]*)=([^&;#\s]*)/g;

/**
 * Secrets shorter than this are not searched for in free text (`redactSecrets`): replacing every `a` or
 * `42` in a log line would destroy it. `redactURL` hides a password of any length.
 */
const MIN_SCRUBBED_LENGTH = 4;

interface Credentials {
  /** Everything up to the user info (`postgres://`). */
  head: string;
  /** The user name as written, or '' when the URL has no user info. */
  user: string;
  /** The password as written (percent-encoded), or null when there is none. */
  password: string | null;
  /** Everything after the user info's `@` (or after `head` when there is none). */
  tail: string;
}

/**
 * Splits off the user info. The user info ends at the URL's *last* `@`: a password written without
 * percent-encoding may contain `@`, `/`, `?` or `#`, and a shorter guess would show the rest of it. A URL
 * with an `@` in its query then hides more than needed, which is the safe way to be wrong.
 */
function splitCredentials(url: string): Credentials {
  if (NO_AUTHORITY.test(url)) return { head: '', user: '', password: null, tail: url };
  const head = SCHEME_AND_SLASHES.exec(url)?.[0] ?? '';
  const rest = url.slice(head.length);
  const at = rest.lastIndexOf('@');
  if (at === -1) return { head, user: '', password: null, tail: rest };
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  return {
    head,
    user: colon === -1 ? userinfo : userinfo.slice(0, colon),
    password: colon === -1 ? null : userinfo.slice(colon + 1),
    tail: rest.slice(at),
  };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Calls `found(value)` for each non-empty secret query value and returns the text with them hidden. */
function redactOptions(text: string, found?: (value: string) => void): string {
  return text.replace(OPTION, (whole, separator: string, name: string, value: string) => {
    if (value === '' || !SECRET_OPTION.test(decode(name.replace(/\+/g, ' ')))) return whole;
    found?.(value);
    return `${separator}${name}=${REDACTED}`;
  });
}

/**
 * The URL with its password and every credential-like query value replaced by `***`; the scheme, user
 * name, hosts, path and other options are kept, so the operator can still tell which store it is.
 * `redis://:pw@h:6379` → `redis://:***@h:6379`; `postgres://u@h/db?password=pw` → `postgres://u@h/db?password=***`.
 */
export function redactURL(url: string): string {
  if (typeof url !== 'string') return REDACTED;
  const { head, user, password, tail } = splitCredentials(url);
  const shownPassword = password === null ? '' : `:${password === '' ? '' : REDACTED}`;
  return `${head}${user}${shownPassword}${redactOptions(tail)}`;
}

/** The secrets a URL carries, in every form they may be written in: as in the URL, decoded, JSON-escaped. */
function secretsOf(url: string, hideUser: boolean): string[] {
  const raw: string[] = [];
  const { user, password, tail } = splitCredentials(url);
  if (password) raw.push(password);
  if (hideUser && user) raw.push(user);
  redactOptions(tail, (value) => raw.push(value));
  const forms = new Set<string>();
  for (const secret of raw) {
    for (const form of [secret, decode(secret), decode(secret.replace(/\+/g, ' '))]) {
      forms.add(form);
      forms.add(JSON.stringify(form).slice(1, -1));
    }
  }
  // Longest first, so that a secret containing another is replaced whole.
  return [...forms].filter((form) => form.length >= MIN_SCRUBBED_LENGTH).sort((a, b) => b.length - a.length);
}

export interface RedactSecretsOptions {
  /**
   * Hide the user name too: for a driver's message about a URL it could not parse, whose idea of the user
   * name may hold part of a password (`mongodb://us/er:pw@h` → "Username contains unescaped characters
   * us/er"). Off for log lines, where a user name such as `postgres` is ordinary text.
   */
  hideUser?: boolean;
}

/**
 * Hides the secrets of `url` wherever they appear in `text` — a driver's message, a log line — and the
 * URL itself by its redacted form. A safety net for text keycard did not write; what keycard writes
 * shows store URLs through `redactURL`.
 */
export function redactSecrets(text: string, url: string, options: RedactSecretsOptions = {}): string {
  if (typeof url !== 'string' || url === '') return text;
  let safe = text.split(url).join(redactURL(url));
  for (const secret of secretsOf(url, options.hideUser === true)) safe = safe.split(secret).join(REDACTED);
  return safe;
}
