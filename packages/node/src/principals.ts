/**
 * The first slice of identity: a principals table and hashed bearer tokens for the bootstrap admin.
 * Superseded by @medledger/identity (accounts, API tokens, logins); the migration stays so that data
 * directories made by earlier versions migrate in order, and identity's ensureBootstrapAdmin imports the
 * still-valid token hashes of this `credentials` table once, so an existing admin-token file keeps working.
 */
import type { Migration } from '@medledger/storage';

export const principalMigrations: Migration[] = [
  {
    name: 'node/001-principals',
    sql: `
      CREATE TABLE principals (
        id text PRIMARY KEY,
        kind text NOT NULL,
        name text NOT NULL,
        roles text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        disabled boolean NOT NULL DEFAULT false
      );
      CREATE TABLE credentials (
        token_hash bytea PRIMARY KEY,
        principal_id text NOT NULL REFERENCES principals(id),
        kind text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        revoked boolean NOT NULL DEFAULT false
      );`,
  },
];
