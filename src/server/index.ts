// The server's public surface: build or start `keycard serve` from code (tests, embedding).

export { DEFAULT_STORE_URL, openStore, parseStoreURL } from 'keycard/stores';
export {
  buildServer,
  type KeycardServer,
  type RouteInfo,
  type ServerDependencies,
  type ShutdownResult,
  startServer,
} from './app.js';
export {
  type ConfigCheck,
  type ConfigSources,
  checkServerConfig,
  type FirstAdminConfig,
  type LogLevel,
  loadServerConfig,
  type ServerConfig,
  type SettingSource,
  type SettingValue,
} from './config.js';
export { configSchemaDocument } from './config-schema.js';
export { firstAdminCommand, firstAdminHint, isProcessLocalStore } from './first-admin.js';
export { type ServerKeycardParts, serverKeycardOptions, serverStrategy } from './keycard-options.js';
export {
  buildKeySet,
  generateKeyFile,
  type KeyFile,
  loadServerKeys,
  parseKeyFile,
  prepareServerKeys,
  RETIRED_KEY_LIFETIME_MS,
  rotateKeyFile,
  type ServerKeys,
  saveGeneratedKeys,
  serializeKeyFile,
  writeKeyFile,
} from './keys.js';
export { formatLine, prettyStream } from './log.js';
export { SETTINGS as SERVER_SETTINGS, type SettingSpec, settingDefault } from './settings.js';
