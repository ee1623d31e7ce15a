/** API clients (OAuth 2.0 client credentials), by id; scopes are a JSON array. */
import { KeycardError } from '../../core/errors.js';
import type { ClientRecord, ClientStore, ClientUpdate } from '../../core/store.js';
import { type SQLiteConnection, sqlLimit } from './connection.js';
import type { SQLiteDatabase } from './driver.js';
import { type ClientRow, clientRow, toClient } from './rows.js';

function prepare(db: SQLiteDatabase) {
  return {
    insert: db.prepare(
      `INSERT INTO clients (id, name, scopes, secret_hash, previous_secret_hash, previous_secret_expires_at,
         generation, disabled, created_at, updated_at)
       VALUES (@id, @name, @scopes, @secret_hash, @previous_secret_hash, @previous_secret_expires_at,
         @generation, @disabled, @created_at, @updated_at)`,
    ),
    get: db.prepare('SELECT * FROM clients WHERE id = ?'),
    list: db.prepare('SELECT * FROM clients WHERE id > ? ORDER BY id LIMIT ?'),
    delete: db.prepare('DELETE FROM clients WHERE id = ?'),
    // Nullable columns take a flag: null in an update means "clear it", undefined "leave it".
    update: db.prepare(
      `UPDATE clients SET
         name = COALESCE(@name, name),
         scopes = COALESCE(@scopes, scopes),
         secret_hash = COALESCE(@secret_hash, secret_hash),
         previous_secret_hash = CASE WHEN @set_previous THEN @previous_secret_hash ELSE previous_secret_hash END,
         previous_secret_expires_at =
           CASE WHEN @set_previous_expiry THEN @previous_secret_expires_at ELSE previous_secret_expires_at END,
         generation = COALESCE(@generation, generation),
         disabled = COALESCE(@disabled, disabled),
         updated_at = @updated_at
       WHERE id = @id RETURNING *`,
    ),
  };
}

export class SQLiteClients implements ClientStore {
  private readonly statements: () => ReturnType<typeof prepare>;

  constructor(private readonly connection: SQLiteConnection) {
    this.statements = connection.statements(prepare);
  }

  async createClient(client: ClientRecord): Promise<void> {
    try {
      this.connection.run(() => this.statements().insert.run(clientRow(client)));
    } catch (error) {
      if (this.connection.errorCode(error) === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new KeycardError('invalid_request', `client ${client.id} exists`);
      }
      throw error;
    }
  }

  async getClient(id: string): Promise<ClientRecord | null> {
    const row = this.connection.run(() => this.statements().get.get(id) as ClientRow | undefined);
    return row ? toClient(row) : null;
  }

  async listClients(options: { limit: number; after?: string }): Promise<ClientRecord[]> {
    const rows = this.connection.run(
      () => this.statements().list.all(options.after ?? '', sqlLimit(options.limit)) as ClientRow[],
    );
    return rows.map(toClient);
  }

  async updateClient(id: string, update: ClientUpdate): Promise<ClientRecord | null> {
    const row = this.connection.run(
      () =>
        this.statements().update.get({
          id,
          name: update.name ?? null,
          scopes: update.scopes === undefined ? null : JSON.stringify(update.scopes),
          secret_hash: update.secretHash ?? null,
          set_previous: update.previousSecretHash === undefined ? 0 : 1,
          previous_secret_hash: update.previousSecretHash ?? null,
          set_previous_expiry: update.previousSecretExpiresAt === undefined ? 0 : 1,
          previous_secret_expires_at: update.previousSecretExpiresAt ?? null,
          generation: update.generation ?? null,
          disabled: update.disabled === undefined ? null : update.disabled ? 1 : 0,
          updated_at: update.updatedAt,
        }) as ClientRow | undefined,
    );
    return row ? toClient(row) : null;
  }

  async deleteClient(id: string): Promise<boolean> {
    return this.connection.run(() => this.statements().delete.run(id).changes > 0);
  }
}
