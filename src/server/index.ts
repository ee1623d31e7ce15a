// The server's public surface: build or start `keycard serve` from code (tests, embedding).

export { DEFAULT_STORE_URL, openStore, parseStoreURL } from 'keycard/stores';
export {
  buildServer,
  firstAdminCommand,
  type KeycardServer,
  type ServerDependencies,
  startServer,
} from './app.js';
export { type ConfigSources, type LogLevel, loadServerConfig, type ServerConfig } from './config.js';
export { type ServerKeycardParts, serverKeycardOptions, serverStrategy } from './keycard-options.js';
export {
  buildKeySet,
  generateKeyFile,
  type KeyFile,
  loadServerKeys,
  parseKeyFile,
  RETIRED_KEY_LIFETIME_MS,
  rotateKeyFile,
  type ServerKeys,
  serializeKeyFile,
  writeKeyFile,
} from './keys.js';
export { formatLine, prettyStream } from './log.js';
