// Store URLs live with the stores (keycard/stores); the server re-exports them for its callers.
export {
  DEFAULT_STORE_URL,
  openStore,
  parseStoreURL,
  type StoreKind,
  type StoreLocation,
  type StoreModule,
  type StoreURLOptions,
} from '../stores/url.js';
