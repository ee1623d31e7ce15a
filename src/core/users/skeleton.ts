/**
 * The confusable skeleton of a username (Unicode UTS #39 §4): two names whose skeletons are equal look
 * alike — `alice` and `аlice` with a Cyrillic а, `paypal` and `paypa1`, `modern` and `rnodern` — so a new
 * name whose skeleton is an existing user's can be refused.
 *
 *   skeleton(X) = NFD( for each code point of NFD(X), minus the default-ignorable ones: its prototype )
 *
 * The prototypes are Unicode's confusables.txt (see confusables.txt beside this file and
 * generate-confusables.mjs). A skeleton is a comparison key only, never shown: it is not a readable name,
 * and it is not lower case (`0` has the prototype `O`, so `g00gle` does not collide with `google`; `1`, `I`
 * and `l` share the prototype `l`).
 *
 * The table is read and parsed on first use, once (about 6,600 entries): a process that never creates a
 * user never reads it.
 */
import { readFileSync } from 'node:fs';

/** Beside this module both in src/ and, copied by scripts/copy-data.mjs, in dist/. */
const TABLE_URL = new URL('./confusables.txt', import.meta.url);

/** Removed before mapping, as UTS #39 §4 does: they are invisible (normalizeUsername refuses them too). */
const DEFAULT_IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u;

let prototypes: ReadonlyMap<string, string> | undefined;

/** `0072 006E` → `rn`: code points in hexadecimal, separated by spaces. */
function fromHex(units: string): string {
  let text = '';
  for (const unit of units.split(' ')) text += String.fromCodePoint(Number.parseInt(unit, 16));
  return text;
}

/** Parses the "source;prototype" lines of confusables.txt; lines starting with # are comments. */
function parseTable(text: string): ReadonlyMap<string, string> {
  const table = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const separator = line.indexOf(';');
    if (separator < 1) throw new Error(`${TABLE_URL.pathname} is damaged: reinstall keycard`);
    table.set(fromHex(line.slice(0, separator)), fromHex(line.slice(separator + 1)));
  }
  return table;
}

function loadPrototypes(): ReadonlyMap<string, string> {
  prototypes ??= parseTable(readFileSync(TABLE_URL, 'utf8'));
  return prototypes;
}

/** One pass of UTS #39 §4: NFD, drop the default-ignorables, map each code point to its prototype, NFD. */
function skeletonPass(text: string, table: ReadonlyMap<string, string>): string {
  let mapped = '';
  for (const char of text.normalize('NFD')) {
    if (DEFAULT_IGNORABLE.test(char)) continue;
    mapped += table.get(char) ?? char;
  }
  return mapped.normalize('NFD');
}

/**
 * The confusable skeleton of a canonical username (the output of normalizeUsername).
 *
 * UTS #39 §4 applies the table once. keycard applies it until nothing changes, because a few prototypes
 * are not fixed points: U+048B ҋ has the prototype й + U+0326, and the NFD of й starts with и, itself
 * mapped to ᴎ; one pass would give ҋ and й̦ different skeletons although the table says they look alike.
 * Every one-pass match is still a match, and skeleton(skeleton(x)) = skeleton(x) for every string.
 */
export function usernameSkeleton(canonical: string): string {
  const table = loadPrototypes();
  let current = skeletonPass(canonical, table);
  // Unicode 17's table settles after two passes; the bound only keeps a damaged table from looping.
  for (let pass = 0; pass < 8; pass++) {
    const next = skeletonPass(current, table);
    if (next === current) return current;
    current = next;
  }
  throw new Error('the confusables table does not settle: regenerate it with generate-confusables.mjs');
}
