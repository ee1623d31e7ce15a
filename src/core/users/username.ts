/**
 * Usernames are compared in one canonical form so that `Alice`, `alice` and `ａｌｉｃｅ` (fullwidth) are the
 * same account and cannot be registered twice, and so that no two accepted names differ only by something
 * a reader cannot see. The rules follow RFC 8265 §3.3–3.4 (the PRECIS UsernameCaseMapped profile) on
 * RFC 8264's IdentifierClass, a little stricter:
 *
 * - Mapping: NFKC (which includes RFC 8265's width mapping, and also maps other compatibility forms such as
 *   ligatures where PRECIS would refuse them), then Unicode default case mapping via `toLowerCase()`
 *   (locale-independent), then NFKC again because lower-casing can denormalise. The canonical form is what
 *   is stored and shown.
 * - Allowed after mapping: 1–64 code points of IdentifierClass letters and digits (RFC 8264 §9.1
 *   LetterDigits: Ll, Lu, Lo, Lm, Mn, Mc, Nd) and the ASCII punctuation `. _ - @ +` — a subset of what
 *   IdentifierClass allows (its ASCII7 category has every printable ASCII character), no spaces, controls,
 *   symbols or other punctuation.
 * - Refused even though they are letters or marks: Default_Ignorable_Code_Point (RFC 8264 §9.13: invisible,
 *   so `ali\u034Fce` would look exactly like `alice`; among them the Hangul fillers and the variation
 *   selectors), conjoining Hangul jamo that did not compose into a syllable (§9.9), the code points
 *   RFC 5892 §2.6 disallows by exception (§9.6), a combining mark with no letter before it, and a mix of
 *   the two sets of Arabic-Indic digits (RFC 5892 Appendix A.8–A.9), which share look-alike glyphs.
 *
 * Look-alike names that differ in visible characters (`аlice` with a Cyrillic а) are a separate check on
 * the canonical form: the confusable skeleton in skeleton.ts.
 */

export const USERNAME_MAX_LENGTH = 64;

export type UsernameCheck = { ok: true; username: string } | { ok: false; reason: string };

/** RFC 8264 §9.1 LetterDigits plus keycard's ASCII punctuation, and U+3007, PVALID by RFC 5892 §2.6. */
const ALLOWED = /^[\p{Ll}\p{Lu}\p{Lo}\p{Lm}\p{Mn}\p{Mc}\p{Nd}\u3007._@+-]$/u;

/** RFC 8264 §9.13 (Ignorable): invisible in most renderings, so a name with one looks like one without. */
const DEFAULT_IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u;

/**
 * The Hangul fillers: blank letters (Lo) that are also default-ignorable. Named apart from the other
 * ignorables because they are the ones a letter-only pattern lets through and attackers use in names.
 */
const HANGUL_FILLERS = new Set([0x115f, 0x1160, 0x3164, 0xffa0]);

/** RFC 8264 §9.9 OldHangulJamo: conjoining jamo, which NFKC composes into syllables when they form one. */
const CONJOINING_JAMO = /^[\u1100-\u11FF\uA960-\uA97F\uD7B0-\uD7FF]$/u;

/**
 * RFC 5892 §2.6, DISALLOWED by exception although they are letters or marks: U+0640 ARABIC TATWEEL and
 * U+07FA NKO LAJANYAN stretch the letters around them; U+302E–U+302F are Hangul tone marks; U+3031–U+3035
 * and U+303B are vertical repeat marks.
 */
const DISALLOWED_EXCEPTIONS = /^[\u0640\u07FA\u302E\u302F\u3031-\u3035\u303B]$/u;

/** A combining mark (Mn, Mc, Me): it belongs to the character before it. */
const MARK = /^\p{M}$/u;

/** RFC 5892 Appendix A.8 and A.9: U+0660–U+0669 and U+06F0–U+06F9 may not be mixed. */
const ARABIC_INDIC_DIGIT = /[\u0660-\u0669]/u;
const EXTENDED_ARABIC_INDIC_DIGIT = /[\u06F0-\u06F9]/u;

const ALLOWED_LIST = 'letters, digits and . _ - @ +';

/** `U+034F`: how a refused character is named, never by itself (it may be invisible or reorder the line). */
function codePointLabel(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** What kind of character a refused one is, for the message, from its general category. */
function describe(char: string): string {
  if (/^\p{Zs}$/u.test(char)) return 'a space';
  if (/^\p{Cc}$/u.test(char)) return 'a control character';
  if (/^\p{Cf}$/u.test(char)) return 'an invisible format character';
  if (/^\p{Cs}$/u.test(char)) return 'half of a surrogate pair';
  if (/^\p{Co}$/u.test(char)) return 'a private-use character';
  if (/^\p{Cn}$/u.test(char)) return 'not an assigned character';
  if (/^\p{Me}$/u.test(char)) return 'an enclosing mark';
  if (/^\p{N}$/u.test(char)) return 'a number that is not a digit';
  if (/^\p{Lt}$/u.test(char)) return 'a title-case letter';
  if (/^\p{S}$/u.test(char)) return 'a symbol';
  if (/^\p{P}$/u.test(char)) return 'punctuation';
  return 'a separator';
}

const refuse = (reason: string): UsernameCheck => ({ ok: false, reason });

/** The first reason `char` (one code point of the canonical form) is refused, or null. */
function refuseCodePoint(char: string): string | null {
  const label = codePointLabel(char);
  if (HANGUL_FILLERS.has(char.codePointAt(0) ?? 0)) {
    return `username must not contain ${label}, a Hangul filler: it is invisible, so the name would look the same without it`;
  }
  if (DEFAULT_IGNORABLE.test(char)) {
    return `username must not contain ${label}, an invisible (default-ignorable) character: the name would look the same without it`;
  }
  if (CONJOINING_JAMO.test(char)) {
    return `username must not contain ${label}, a Hangul jamo that does not form a syllable: type the syllable`;
  }
  if (DISALLOWED_EXCEPTIONS.test(char)) {
    return `username must not contain ${label}, a mark that only stretches or repeats letters: the name would look the same without it`;
  }
  if (!ALLOWED.test(char))
    return `username may contain only ${ALLOWED_LIST}, not ${label} (${describe(char)})`;
  return null;
}

export function normalizeUsername(input: unknown): UsernameCheck {
  if (typeof input !== 'string') return refuse('username must be a string');
  // Cheap bound before normalisation: NFKC can expand a code point up to 18 times.
  if (input.length === 0) return refuse('username must not be empty');
  if (input.length > USERNAME_MAX_LENGTH * 4) {
    return refuse(`username must be at most ${USERNAME_MAX_LENGTH} characters`);
  }
  // Invisible characters are named as typed: NFKC turns U+3164 into U+1160, which the user never typed.
  // In Unicode 17 no mapping below turns a visible character into an invisible one; the canonical form is
  // checked again all the same, so the guarantee does not rest on that.
  for (const char of input) {
    if (DEFAULT_IGNORABLE.test(char)) return refuse(refuseCodePoint(char) as string);
  }
  const username = input.normalize('NFKC').toLowerCase().normalize('NFKC');
  const chars = [...username];
  if (chars.length === 0) return refuse('username must not be empty');
  if (chars.length > USERNAME_MAX_LENGTH) {
    return refuse(`username must be at most ${USERNAME_MAX_LENGTH} characters`);
  }
  for (const char of chars) {
    const reason = refuseCodePoint(char);
    if (reason) return refuse(reason);
  }
  // A mark first would combine with whatever is printed before the name (RFC 5891 §4.2.3.2 refuses it too).
  const first = chars[0] as string;
  if (MARK.test(first)) {
    return refuse(`username must not start with ${codePointLabel(first)}, a combining mark`);
  }
  if (ARABIC_INDIC_DIGIT.test(username) && EXTENDED_ARABIC_INDIC_DIGIT.test(username)) {
    return refuse(
      'username must not mix Arabic-Indic digits (U+0660–U+0669) with Extended Arabic-Indic digits (U+06F0–U+06F9): some of them look alike',
    );
  }
  return { ok: true, username };
}

/** What keycard before RFC 8265's stricter rules accepted: NFKC, lower case, NFKC; letters, marks, numbers. */
const LEGACY_PATTERN = /^[\p{L}\p{M}\p{N}._@+-]+$/u;

/**
 * The name to look an existing account up by: the canonical form when the name is valid today, else the
 * form earlier versions stored, so an account created before the rules tightened can still sign in (and
 * be found by the CLI). Never used to create a user: `normalizeUsername` decides what may be created.
 */
export function lookupUsername(input: unknown): string | null {
  const name = normalizeUsername(input);
  if (name.ok) return name.username;
  if (typeof input !== 'string' || input.length === 0 || input.length > USERNAME_MAX_LENGTH * 4) return null;
  const legacy = input.normalize('NFKC').toLowerCase().normalize('NFKC');
  return [...legacy].length <= USERNAME_MAX_LENGTH && LEGACY_PATTERN.test(legacy) ? legacy : null;
}

/** Roles are short lower-case identifiers; `admin` is the one the server's admin routes require. */
const ROLE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

export function isValidRole(role: unknown): role is string {
  return typeof role === 'string' && ROLE_PATTERN.test(role);
}
