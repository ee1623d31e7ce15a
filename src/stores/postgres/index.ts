// Placeholder: the postgres store is being written (issue 3). Until then, opening a postgres:// URL says so.
import { configurationError, type Store } from 'keycard';

export async function openStoreURL(_url: string, _options: unknown): Promise<Store> {
  throw configurationError('the postgres store is not available in this build yet');
}
