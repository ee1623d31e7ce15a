// Placeholder: the redis store is being written (issue 3). Until then, opening a redis:// URL says so.
import { configurationError, type Store } from 'keycard';

export async function openStoreURL(_url: string, _options: unknown): Promise<Store> {
  throw configurationError('the redis store is not available in this build yet');
}
