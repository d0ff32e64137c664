/**
 * Schema of the authorisation server's state (oidc-provider models: sessions, interactions, grants,
 * authorization codes, refresh tokens, registered clients, replay markers), one row per model instance.
 * Append-only like every migration list: never edit one that has shipped, add the next. One CREATE each.
 *
 * `payload` is text holding the model's JSON exactly as oidc-provider gave it (it is never queried into, and
 * text round-trips every string, where jsonb would refuse a NUL escape an attacker can put in a parameter).
 * The indexed columns copy the few fields the adapter looks rows up by. What the payloads hold: account ids,
 * client ids, scopes, request parameters — no PHI. Bearer artefacts (codes, refresh tokens) are stored under
 * the SHA-256 of their value, never the value (OidcAdapter); session ids are useless without the cookie keys.
 */
import type { Migration } from '@medledger/storage';

export const oidcMigrations: readonly Migration[] = Object.freeze([
  {
    name: 'oidc/001-models',
    sql: `CREATE TABLE oidc_models (
  model       text        NOT NULL,
  id          text        NOT NULL,
  payload     text        NOT NULL,
  grant_id    text,
  user_code   text,
  uid         text,
  expires_at  timestamptz,
  consumed_at timestamptz,
  PRIMARY KEY (model, id)
)`,
  },
  {
    name: 'oidc/002-models-by-grant',
    sql: `CREATE INDEX oidc_models_by_grant ON oidc_models (grant_id) WHERE grant_id IS NOT NULL`,
  },
  {
    name: 'oidc/003-models-by-uid',
    sql: `CREATE INDEX oidc_models_by_uid ON oidc_models (model, uid) WHERE uid IS NOT NULL`,
  },
  {
    name: 'oidc/004-models-by-user-code',
    sql: `CREATE INDEX oidc_models_by_user_code ON oidc_models (model, user_code) WHERE user_code IS NOT NULL`,
  },
  {
    name: 'oidc/005-models-by-expiry',
    sql: `CREATE INDEX oidc_models_by_expiry ON oidc_models (expires_at) WHERE expires_at IS NOT NULL`,
  },
]);
