/**
 * Username-prefix search (`ListUsersOptions.prefix`) as a range, shared by the stores that compare
 * strings by code point.
 */

/**
 * The exclusive upper bound of the usernames that begin with `prefix`, for stores that compare strings by
 * code point (UTF-8 bytes: SQLite's BINARY, PostgreSQL's "C", MongoDB's simple collation, Redis): U+10FFFF
 * is the greatest code point, and no username holds it (a noncharacter, refused by `normalizeUsername`),
 * so `prefix <= name < prefix + U+10FFFF` is exactly "name begins with prefix".
 */
export function usernamePrefixEnd(prefix: string): string {
  return `${prefix}\u{10FFFF}`;
}
