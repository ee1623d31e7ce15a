/**
 * keycard's version, for the OpenAPI document's `info.version`. A constant rather than a read of
 * package.json: keycard/fetch also runs where there are no files (Workers). test/api/openapi.test.ts checks
 * it against package.json.
 */
export const KEYCARD_VERSION = '0.1.0';
