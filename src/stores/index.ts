// keycard/stores: open any store by URL (sqlite:, memory:, redis://, postgres://, mongodb://).

export {
  describeStoreFailure,
  STORE_FAILURE_LABELS,
  type StoreFailureReason,
  storeFailureReason,
} from './failure.js';
export { REDACTED, type RedactSecretsOptions, redactSecrets, redactURL } from './redact.js';
export {
  DEFAULT_STORE_URL,
  openStore,
  parseStoreURL,
  type StoreKind,
  type StoreLocation,
  type StoreModule,
  type StoreURLOptions,
} from './url.js';
