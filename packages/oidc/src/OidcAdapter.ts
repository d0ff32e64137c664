/**
 * oidc-provider's storage adapter over the index database (`oidc_models`, see oidcMigrations.ts): one adapter
 * per model name, all in one table. Works on PGlite and PostgreSQL alike (plain SQL, text payloads).
 *
 * Beyond the interface oidc-provider asks for, three things it cannot do itself:
 * - bearer artefacts (codes, refresh tokens, …) are keyed by the SHA-256 of their value and stored without
 *   it, so reading the database does not hand out usable tokens;
 * - single use is atomic: `consume` only succeeds on a row not yet consumed, so two concurrent exchanges of
 *   one code (or one refresh token) cannot both win; the loser gets `invalid_grant`;
 * - replay markers (client-assertion `jti`s) are inserted only if absent or expired, so two concurrent
 *   requests with one assertion cannot both pass; the loser gets `invalid_client`.
 * Expired rows are never returned and are deleted by `purgeExpiredOidcState` (run periodically).
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '@medledger/storage';
import { type Adapter, type AdapterFactory, type AdapterPayload, errors } from 'oidc-provider';

/** Models whose id is the bearer value handed to a client. */
const SECRET_ID_MODELS = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'ClientCredentials',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
  'PushedAuthorizationRequest',
  'InitialAccessToken',
  'RegistrationAccessToken',
]);

interface Row {
  payload: string;
  consumed_at: Date | null;
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

class DbAdapter implements Adapter {
  readonly #db: Queryable;
  readonly #model: string;
  readonly #secretIds: boolean;
  readonly #now: () => number;

  constructor(db: Queryable, model: string, now: () => number) {
    this.#db = db;
    this.#model = model;
    this.#secretIds = SECRET_ID_MODELS.has(model);
    this.#now = now;
  }

  #key(id: string): string {
    return this.#secretIds ? digest(id) : id;
  }

  #revive(row: Row | undefined, id: string | undefined): AdapterPayload | undefined {
    if (!row) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    if (this.#secretIds && id !== undefined) payload.jti = id;
    if (row.consumed_at) payload.consumed = Math.floor(row.consumed_at.getTime() / 1000);
    return payload;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const stored = this.#secretIds ? { ...payload, jti: undefined } : payload;
    const now = this.#now();
    const expiresAt = typeof expiresIn === 'number' ? new Date(now + expiresIn * 1000) : null;
    const params = [
      this.#model,
      this.#key(id),
      JSON.stringify(stored),
      typeof payload.grantId === 'string' ? payload.grantId : null,
      typeof payload.userCode === 'string' ? payload.userCode : null,
      typeof payload.uid === 'string' ? payload.uid : null,
      expiresAt,
    ];
    if (this.#model === 'ReplayDetection') {
      // Insert-if-absent: the first writer of a marker wins, a live marker is never overwritten.
      const r = await this.#db.query(
        `INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, expires_at = EXCLUDED.expires_at
         WHERE oidc_models.expires_at IS NOT NULL AND oidc_models.expires_at <= $8`,
        [...params, new Date(now)],
      );
      if (r.rowCount !== 1)
        throw new errors.InvalidClientAuth('client assertion tokens must only be used once');
      return;
    }
    await this.#db.query(
      `INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
         user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at, consumed_at = NULL`,
      params,
    );
  }

  async #findWhere(
    column: 'id' | 'uid' | 'user_code',
    value: string,
  ): Promise<(Row & { id: string }) | undefined> {
    const r = await this.#db.query<Row & { id: string }>(
      `SELECT id, payload, consumed_at FROM oidc_models
       WHERE model = $1 AND ${column} = $2 AND (expires_at IS NULL OR expires_at > $3)`,
      [this.#model, value, new Date(this.#now())],
    );
    return r.rows[0];
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (typeof id !== 'string') return undefined;
    return this.#revive(await this.#findWhere('id', this.#key(id)), id);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const row = await this.#findWhere('uid', uid);
    // Sessions (the only model looked up by uid) keep their id in clear, so the payload has its jti.
    return this.#revive(row, undefined);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    // Device flow is not enabled; a DeviceCode found this way could not be given back its (hashed) jti.
    if (this.#secretIds) return undefined;
    return this.#revive(await this.#findWhere('user_code', userCode), undefined);
  }

  async consume(id: string): Promise<void> {
    const r = await this.#db.query(
      `UPDATE oidc_models SET consumed_at = $3
       WHERE model = $1 AND id = $2 AND consumed_at IS NULL AND (expires_at IS NULL OR expires_at > $3)`,
      [this.#model, this.#key(id), new Date(this.#now())],
    );
    if (r.rowCount !== 1) throw new errors.InvalidGrant('grant already used');
  }

  async destroy(id: string): Promise<void> {
    await this.#db.query('DELETE FROM oidc_models WHERE model = $1 AND id = $2', [
      this.#model,
      this.#key(id),
    ]);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#db.query('DELETE FROM oidc_models WHERE model = $1 AND grant_id = $2', [
      this.#model,
      grantId,
    ]);
  }
}

/** The adapter factory to give oidc-provider (`adapter` configuration). */
export function createOidcAdapter(db: Queryable, now: () => number = Date.now): AdapterFactory {
  const adapters = new Map<string, DbAdapter>();
  return (model: string) => {
    let adapter = adapters.get(model);
    if (!adapter) {
      adapter = new DbAdapter(db, model, now);
      adapters.set(model, adapter);
    }
    return adapter;
  };
}

/** Deletes expired rows; returns how many. */
export async function purgeExpiredOidcState(db: Queryable, now: Date = new Date()): Promise<number> {
  const r = await db.query('DELETE FROM oidc_models WHERE expires_at IS NOT NULL AND expires_at <= $1', [
    now,
  ]);
  return r.rowCount;
}

/**
 * Stores a registered client's metadata where oidc-provider's `Client.find` looks for it (model `Client`,
 * no expiry). Without `replace`, an existing client is kept and false returned.
 */
export async function storeClient(
  db: Queryable,
  clientId: string,
  metadata: Record<string, unknown>,
  replace: boolean,
): Promise<boolean> {
  return storeModel(db, 'Client', clientId, metadata, replace);
}

/** Metadata of every registered client. */
export async function readStoredClients(db: Queryable): Promise<Record<string, unknown>[]> {
  const r = await db.query<{ payload: string }>(
    `SELECT payload FROM oidc_models WHERE model = 'Client' ORDER BY id`,
  );
  return r.rows.map((row) => JSON.parse(row.payload) as Record<string, unknown>);
}

/** Deletes a registered client; false when there was none. */
export async function deleteStoredClient(db: Queryable, clientId: string): Promise<boolean> {
  const r = await db.query(`DELETE FROM oidc_models WHERE model = 'Client' AND id = $1`, [clientId]);
  return r.rowCount === 1;
}

/**
 * Registrations awaiting a second administrator's confirmation live beside the clients, as model
 * `PendingClient`: oidc-provider never looks them up, so a pending client does not exist for it.
 */
export interface StoredPendingClient {
  metadata: Record<string, unknown>;
  proposedBy: string;
  proposedAt: string;
}

export async function storePendingClient(
  db: Queryable,
  clientId: string,
  pending: StoredPendingClient,
  replace: boolean,
): Promise<boolean> {
  return storeModel(db, 'PendingClient', clientId, pending, replace);
}

/** Stores one row of a model kept beside the provider's (insert, or replace when asked); true when written. */
async function storeModel(
  db: Queryable,
  model: 'Client' | 'PendingClient',
  id: string,
  payload: unknown,
  replace: boolean,
): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO oidc_models (model, id, payload) VALUES ($1, $2, $3)
     ON CONFLICT (model, id) DO ${replace ? 'UPDATE SET payload = EXCLUDED.payload' : 'NOTHING'}`,
    [model, id, JSON.stringify(payload)],
  );
  return r.rowCount === 1;
}

export async function readPendingClients(db: Queryable, clientId?: string): Promise<StoredPendingClient[]> {
  const r = await db.query<{ payload: string }>(
    `SELECT payload FROM oidc_models WHERE model = 'PendingClient' AND ($1::text IS NULL OR id = $1) ORDER BY id`,
    [clientId ?? null],
  );
  return r.rows.map((row) => JSON.parse(row.payload) as StoredPendingClient);
}

export async function deletePendingClient(db: Queryable, clientId: string): Promise<boolean> {
  const r = await db.query(`DELETE FROM oidc_models WHERE model = 'PendingClient' AND id = $1`, [clientId]);
  return r.rowCount === 1;
}
