// The security-critical modules that `npm run mutate` mutates, each with the test files (filters for
// scripts/test.mjs) that cover it. Only those tests run against the file's mutants: a mutant must be
// killed by the file's own tests, and a run stays minutes, not hours. Keep this list in step with
// docs/testing.md.
export const MUTATE_MAP = {
  'src/core/jwt/base64url.ts': ['test/core/jwt/base64url', 'test/core/jwt/verify'],
  'src/core/jwt/verify.ts': ['test/core/jwt/verify', 'test/core/jwt/vectors'],
  'src/core/jwt/algorithms.ts': ['test/core/jwt/verify', 'test/core/jwt/vectors', 'test/core/jwt/algorithms'],
  // The header cache and the claim rules verify.ts delegates to (shared with keycard/verify's Web build).
  'src/core/jwt/checks.ts': ['test/core/jwt/verify', 'test/core/jwt/claims', 'test/core/jwt/cache'],
  // The CSRF cookie (and every other cookie's name and attributes): the successor of src/core/csrf/cookie.ts.
  'src/core/cookies/policy.ts': ['test/core/cookies-policy'],
  'src/core/csrf/token.ts': ['test/core/csrf-token'],
  'src/core/http/origin.ts': ['test/core/origin'],
  'src/core/cookies/parse.ts': ['test/core/cookies-parse'],
  'src/core/throttle/throttle.ts': ['test/core/throttle'],
  'src/core/logins/registry.ts': ['test/core/login-registry'],
  'src/core/request/guard.ts': ['test/core/guard'],
};
