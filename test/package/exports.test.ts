/**
 * The public surface, as a list: every name each entry point (`keycard`, `keycard/express`, …) exports,
 * values and types apart. Adding or removing one fails here until the list below says so — the surface is
 * a choice (src/index.ts says what belongs in `keycard`; docs/architecture.md#public-surface sums it up).
 * Values are read from the loaded modules; types from the TypeScript checker, over the same files.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Each entry point's names: `values` exist at run time, `types` only for TypeScript. */
const SURFACE: Record<string, { values: string[]; types: string[] }> = {
  keycard: {
    values: [
      'ACCESS_TOKEN_TYPE',
      'ALGORITHMS',
      'AuthContext',
      'CLIENT_TOKEN_TYPE',
      'DEFAULT_ROLES',
      'DEFAULT_TEMPLATES',
      'KeycardError',
      'LINK_PATHS',
      'MAIL_KINDS',
      'PRESET_NAMES',
      'RevocationMonitor',
      'SIGNUP_MODES',
      'STORE_OPERATIONS',
      'STRATEGY_NAMES',
      'TRANSPORT_NAMES',
      'VerifiedTokenCache',
      'authorize',
      'checkMessage',
      'checkNewPassword',
      'configurationError',
      'createKeySet',
      'createKeycard',
      'createMutableKeySet',
      'decideCORS',
      'emailTaken',
      'escapeHTML',
      'exportPrivateJWK',
      'generateJWTKey',
      'importJWK',
      'instrumentStore',
      'isAlgorithm',
      'isKeycardError',
      'isMailAddress',
      'keySetResolver',
      'normalizeEmail',
      'normalizeUsername',
      'parseDuration',
      'presetStrategy',
      'renderMail',
      'systemClock',
      'toAuthUser',
      'toPublicClient',
      'toPublicUser',
      'userFromClaims',
      'usernameTaken',
      'verifyJWT',
    ],
    types: [
      'AccountMailOptions',
      'AccountService',
      'AccountTokenKind',
      'AccountTokenRecord',
      'AccountTokenStore',
      'Algorithm',
      'Argon2Parameters',
      'AuditLog',
      'AuditOptions',
      'AuditQuery',
      'AuditRecord',
      'AuditStore',
      'AuditValue',
      'AuthMethod',
      'AuthEvent',
      'Authentication',
      'AuthProblem',
      'AuthUser',
      'AuthorizeOptions',
      'CORSDecision',
      'CSRFRejectReason',
      'ClientAuthentication',
      'ClientIdentity',
      'ClientOptions',
      'ClientRecord',
      'ClientService',
      'ClientStore',
      'ClientTokenResult',
      'ClientUpdate',
      'Clock',
      'CounterStore',
      'CounterValue',
      'CredentialCheck',
      'DataPatch',
      'Duration',
      'ErrorCode',
      'EventContext',
      'EventType',
      'ExtraClaims',
      'FactorAdvance',
      'FactorKind',
      'FactorRecord',
      'FactorStore',
      'FeedObserver',
      'FeedState',
      'Invitation',
      'IssuedTokens',
      'JWTClaims',
      'JWTHeader',
      'JWTKey',
      'JWTOptions',
      'KeyResolver',
      'KeySet',
      'Keycard',
      'KeycardOptions',
      'ListUsersOptions',
      'LoginOptions',
      'LoginPage',
      'LoginPageOptions',
      'LoginPolicy',
      'LoginRecord',
      'LoginRegistry',
      'LoginStore',
      'LoginReservation',
      'LoginTicket',
      'MailContent',
      'MailContext',
      'MailKind',
      'MailMessage',
      'MailTemplate',
      'Mailer',
      'MfaOptions',
      'MfaService',
      'MutableKeySet',
      'NewPasswordContext',
      'NewUser',
      'PasskeyVerifier',
      'PasswordHasher',
      'PasswordPolicy',
      'PatchOptions',
      'PatchResult',
      'PendingSignIn',
      'Preset',
      'PublicClient',
      'PublicFactor',
      'PublicJWK',
      'PublicUser',
      'RefreshOutcome',
      'RefreshState',
      'RequestInfo',
      'RequestOutcome',
      'ResolvedOptions',
      'RevocationListener',
      'RevocationMonitorOptions',
      'RevocationRecord',
      'RevocationStore',
      'RevocationSubscription',
      'RevokeReason',
      'SameSite',
      'SessionData',
      'SessionObject',
      // Deprecated aliases of LoginRegistry, LoginPolicy, LoginRecord and LoginStore.
      'SessionManager',
      'SessionPolicy',
      'SessionRecord',
      'SessionStore',
      'SignInResult',
      'SignupInput',
      'SignupMode',
      'Store',
      'StoreCall',
      'StoreCallHook',
      'StoreCapability',
      'Strategy',
      'Throttle',
      'ThrottleOptions',
      'ThrottlePolicy',
      'ThrottleScope',
      'ThrottleVerdict',
      'TokenService',
      'Transport',
      'UserRecord',
      'UserService',
      'UserStore',
      'UserUpdate',
      'UsernameCheck',
      'Validation',
      'VerifyOptions',
      'VerifyResult',
    ],
  },
  'keycard/express': {
    values: [
      'asyncHandler',
      'csrfToken',
      'fromBodyParserError',
      'keycardErrors',
      'keycardExpress',
      'requestInfo',
      'requireAuth',
      'requireRole',
      'requireScope',
      'verifyToken',
      'withToken',
    ],
    types: ['KeycardExpressOptions', 'VerifiedRequest'],
  },
  'keycard/fastify': {
    values: [
      'csrfFromBody',
      'csrfToken',
      'fromFastifyError',
      'keycardErrors',
      'keycardFastify',
      'requestInfo',
      'requireAuth',
      'requireRole',
      'requireScope',
      'sendKeycardError',
      'verifyToken',
      'withToken',
    ],
    types: ['KeycardFastifyOptions', 'VerifiedRequest'],
  },
  'keycard/mail': {
    values: ['smtpMailer'],
    types: ['SMTPMailerOptions'],
  },
  'keycard/stores': {
    values: [
      'DEFAULT_STORE_URL',
      'REDACTED',
      'STORE_FAILURE_LABELS',
      'describeStoreFailure',
      'openStore',
      'parseStoreURL',
      'redactSecrets',
      'redactURL',
      'storeFailureReason',
    ],
    types: [
      'RedactSecretsOptions',
      'StoreFailureReason',
      'StoreKind',
      'StoreLocation',
      'StoreModule',
      'StoreURLOptions',
    ],
  },
  'keycard/stores/memory': {
    values: ['MemoryStore'],
    types: ['MemoryStoreOptions'],
  },
  'keycard/stores/sqlite': {
    values: ['SQLiteStore', 'migrateSQLite'],
    types: ['SQLiteStoreOptions'],
  },
  'keycard/stores/redis': {
    values: ['RedisStore', 'openStoreURL'],
    types: ['RedisStoreOptions'],
  },
  'keycard/stores/postgres': {
    values: ['LATEST_VERSION', 'MIGRATIONS', 'PostgresStore', 'openStoreURL', 'postgresOptionsFromURL'],
    types: ['Migration', 'MigrationReport', 'PostgresStoreOptions', 'PruneResult'],
  },
  'keycard/stores/mongodb': {
    values: ['MongoStore', 'openStoreURL'],
    types: ['MongoCollectionNames', 'MongoStoreOptions'],
  },
  'keycard/server': {
    values: [
      'DEFAULT_STORE_URL',
      'RETIRED_KEY_LIFETIME_MS',
      'SERVER_SETTINGS',
      'buildKeySet',
      'buildServer',
      'checkServerConfig',
      'configSchemaDocument',
      'firstAdminCommand',
      'firstAdminHint',
      'formatLine',
      'generateKeyFile',
      'isProcessLocalStore',
      'loadServerConfig',
      'loadServerKeys',
      'openStore',
      'parseKeyFile',
      'parseStoreURL',
      'prepareServerKeys',
      'prettyStream',
      'rotateKeyFile',
      'saveGeneratedKeys',
      'serializeKeyFile',
      'serverKeycardOptions',
      'serverStrategy',
      'settingDefault',
      'startServer',
      'writeKeyFile',
    ],
    types: [
      'ConfigCheck',
      'ConfigSources',
      'FirstAdminConfig',
      'KeyFile',
      'KeycardServer',
      'LogLevel',
      'RouteInfo',
      'ServerConfig',
      'ServerDependencies',
      'ServerKeycardParts',
      'ServerKeys',
      'SettingSource',
      'SettingSpec',
      'SettingValue',
      'ShutdownResult',
    ],
  },
  'keycard/client': {
    values: ['KeycardClientError', 'createClient'],
    types: ['ClientOptions', 'ClientSession', 'ClientUser', 'KeycardClient', 'StoredTokens', 'TokenStorage'],
  },
  'keycard/react': {
    values: ['SessionProvider', 'useSession'],
    types: ['SessionProviderProps', 'UseSession'],
  },
  'keycard/fetch': {
    values: [
      'authenticate',
      'createFetchHandler',
      'errorResponse',
      'parseBody',
      'requestInfo',
      'withCookies',
    ],
    types: ['ConnectionInfo', 'FetchHandler', 'FetchHandlerOptions'],
  },
  'keycard/hono': {
    values: ['csrfToken', 'keycardErrors', 'keycardHono', 'requireAuth', 'requireRole'],
    types: ['KeycardEnv', 'KeycardHonoOptions'],
  },
  'keycard/verify': {
    values: [
      'createRemoteKeySet',
      'createVerifier',
      'requireScopeExpress',
      'requireScopeFastify',
      'scopeRequirement',
      'verifyBearer',
      'verifyExpress',
      'verifyFastify',
      'withTokenExpress',
      'withTokenFastify',
    ],
    types: [
      'AuthenticationFailureCode',
      'BearerOutcome',
      'BearerRefusal',
      'RemoteKeySet',
      'RemoteKeySetOptions',
      'RequestAuthentication',
      'RequestLike',
      'TokenVerification',
      'VerifiedExpressRequest',
      'VerifiedFastifyRequest',
      'VerifiedToken',
      'Verifier',
      'VerifierOptions',
      'VerifyFailureCode',
    ],
  },
};

const manifest = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
  exports: Record<string, string | { source?: string }>;
};
const entries = Object.entries(manifest.exports)
  .filter((entry): entry is [string, { source: string }] => typeof entry[1] === 'object' && !!entry[1].source)
  .map(([subpath, target]) => ({
    name: subpath === '.' ? 'keycard' : `keycard/${subpath.slice(2)}`,
    file: `${ROOT}${target.source.slice(2)}`,
  }));

/** Every name each file exports, values and types, as the checker sees them. */
function exportedNames(files: string[]): Map<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(
    `${ROOT}tsconfig.json`,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('tsconfig.json cannot be read');
  const program = ts.createProgram(files, config.options);
  const checker = program.getTypeChecker();
  const names = new Map<string, string[]>();
  for (const file of files) {
    const source = program.getSourceFile(file);
    const symbol = source && checker.getSymbolAtLocation(source);
    if (!symbol) throw new Error(`${file} is not a module`);
    names.set(
      file,
      checker.getExportsOfModule(symbol).map((exported) => exported.name),
    );
  }
  return names;
}

test('each entry point exports exactly the listed names', async () => {
  const all = exportedNames(entries.map((entry) => entry.file));
  const actual: typeof SURFACE = {};
  for (const entry of entries) {
    const module = (await import(entry.file)) as Record<string, unknown>;
    const values = Object.keys(module).sort();
    const types = (all.get(entry.file) ?? []).filter((name) => !values.includes(name)).sort();
    actual[entry.name] = { values, types };
  }
  if (process.env.KEYCARD_PRINT_SURFACE) console.log(JSON.stringify(actual, null, 2));
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(SURFACE).sort(), 'the entry points');
  for (const [name, expected] of Object.entries(SURFACE)) {
    const got = actual[name] as (typeof SURFACE)[string];
    for (const kind of ['values', 'types'] as const) {
      const added = got[kind].filter((n) => !expected[kind].includes(n));
      const removed = expected[kind].filter((n) => !got[kind].includes(n));
      assert.deepEqual(
        { added, removed },
        { added: [], removed: [] },
        `${name} ${kind}: update SURFACE in test/package/exports.test.ts if this is deliberate`,
      );
    }
  }
});
