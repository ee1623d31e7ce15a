/**
 * The blocklist of common and leaked passwords that NIST SP 800-63B-4 §3.1.1.2 asks verifiers to check
 * new passwords against. The shipped list is parsed into a Set on first use, not at import: a process
 * that never sets a password (a resource server, most requests of an auth server) never pays for it.
 */
import { BLOCKLIST_TEXT } from './blocklist-data.js';

/**
 * The form passwords are compared in: NFKC (as they are hashed, see normalizePassword), then lower case
 * with Unicode's default, locale-independent mapping, then NFKC again since lower-casing can denormalise.
 * 'Password1', 'PASSWORD1' and fullwidth 'ＰＡＳＳＷＯＲＤ１' all fold to 'password1'. The comparison is
 * case-insensitive because the source list was lower-cased when it was built: changing the case of a
 * common password is the first thing guessing tools try.
 */
export function foldPassword(password: string): string {
  return password.normalize('NFKC').toLowerCase().normalize('NFKC');
}

let shipped: ReadonlySet<string> | undefined;

/** The shipped list as a Set of folded entries, built once (about 1.3 MB of heap, see docs/users.md). */
export function loadBlocklist(): ReadonlySet<string> {
  shipped ??= new Set(BLOCKLIST_TEXT.split('\n'));
  return shipped;
}

/** True when `folded` (the output of foldPassword) is on the shipped list. O(1) after the first call. */
export function isBlocklisted(folded: string): boolean {
  return loadBlocklist().has(folded);
}

/** Extra lists folded once per array, so a policy's extraBlocklist costs a Set lookup too. */
const extraSets = new WeakMap<readonly string[], ReadonlySet<string>>();

/** True when `folded` is on `extra`, an operator's own list, compared in the same folded form. */
export function isOnExtraBlocklist(folded: string, extra: readonly string[]): boolean {
  let set = extraSets.get(extra);
  if (!set) {
    set = new Set(extra.map(foldPassword));
    extraSets.set(extra, set);
  }
  return set.has(folded);
}
