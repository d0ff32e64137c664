/**
 * The record index schema (docs/storage.md explains every column and why none of it is plaintext PHI).
 * Migrations are append-only: never edit one that has shipped, add the next. One CREATE per migration, so a
 * failure names the object; all of a run's pending migrations still commit or roll back together.
 */
import type { Migration } from './migrate.js';

export const recordIndexMigrations: readonly Migration[] = Object.freeze([
  {
    name: 'storage/001-resources',
    sql: `CREATE TABLE resources (
  type            text        NOT NULL,
  id              text        NOT NULL,
  current_version integer     NOT NULL CHECK (current_version >= 1),
  deleted         boolean     NOT NULL,
  cid             text        CHECK (deleted = (cid IS NULL)),
  last_updated    timestamptz NOT NULL,
  pseudonym       bytea       CHECK (octet_length(pseudonym) = 32),
  category        smallint    CHECK (category >= 0),
  epoch           integer     CHECK (epoch >= 0),
  PRIMARY KEY (type, id)
)`,
  },
  {
    name: 'storage/002-resources-by-type-updated',
    sql: `CREATE INDEX resources_by_type_updated ON resources (type, last_updated, id) WHERE NOT deleted`,
  },
  {
    name: 'storage/003-resources-by-patient',
    sql: `CREATE INDEX resources_by_patient ON resources (pseudonym, type, id) WHERE NOT deleted AND pseudonym IS NOT NULL`,
  },
  {
    name: 'storage/004-resource-versions',
    sql: `CREATE TABLE resource_versions (
  type         text        NOT NULL,
  id           text        NOT NULL,
  version      integer     NOT NULL CHECK (version >= 1),
  deleted      boolean     NOT NULL,
  cid          text        CHECK (deleted = (cid IS NULL)),
  last_updated timestamptz NOT NULL,
  pseudonym    bytea       CHECK (octet_length(pseudonym) = 32),
  category     smallint    CHECK (category >= 0),
  epoch        integer     CHECK (epoch >= 0),
  PRIMARY KEY (type, id, version),
  FOREIGN KEY (type, id) REFERENCES resources (type, id)
)`,
  },
  {
    name: 'storage/005-resource-versions-by-updated',
    sql: `CREATE INDEX resource_versions_by_updated ON resource_versions (last_updated)`,
  },
  {
    name: 'storage/006-resource-versions-by-type-updated',
    sql: `CREATE INDEX resource_versions_by_type_updated ON resource_versions (type, last_updated)`,
  },
  {
    name: 'storage/007-search-tokens',
    sql: `CREATE TABLE search_tokens (
  type  text NOT NULL,
  id    text NOT NULL,
  param text NOT NULL,
  token text NOT NULL,
  PRIMARY KEY (type, param, token, id),
  FOREIGN KEY (type, id) REFERENCES resources (type, id)
)`,
  },
  {
    name: 'storage/008-search-tokens-by-resource',
    sql: `CREATE INDEX search_tokens_by_resource ON search_tokens (type, id)`,
  },
  {
    name: 'storage/009-wrapped-keys',
    sql: `CREATE TABLE wrapped_keys (
  pseudonym     bytea       NOT NULL CHECK (octet_length(pseudonym) = 32),
  category      smallint    NOT NULL CHECK (category >= 0),
  epoch         integer     NOT NULL CHECK (epoch >= 0),
  holder_key_id text        NOT NULL,
  envelope      bytea       NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pseudonym, category, epoch, holder_key_id)
)`,
  },
  {
    // Each row of these tables is written in the same transaction as its resource row, by RecordIndex only; the
    // per-row foreign-key triggers (a locking lookup of the resource row per search token) guarded nothing that
    // transaction does not.
    name: 'storage/010-drop-per-row-foreign-keys',
    sql: `ALTER TABLE search_tokens DROP CONSTRAINT IF EXISTS search_tokens_type_id_fkey;
ALTER TABLE resource_versions DROP CONSTRAINT IF EXISTS resource_versions_type_id_fkey`,
  },
  {
    // Consent records and break-glass notices are changed only by their own routes: the flag marks the versions
    // generic writes must leave alone (it says nothing about content).
    name: 'storage/011-system-owned',
    sql: `ALTER TABLE resources ADD COLUMN system_owned boolean NOT NULL DEFAULT false;
ALTER TABLE resource_versions ADD COLUMN system_owned boolean NOT NULL DEFAULT false`,
  },
  {
    // The token scheme the search_tokens rows were computed under (one row, at most): a node whose code computes
    // tokens differently rebuilds them before it serves (docs/storage.md). No row: never recorded.
    name: 'storage/012-search-token-scheme',
    sql: `CREATE TABLE search_token_scheme (
  singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
  version    integer     NOT NULL CHECK (version >= 1),
  updated_at timestamptz NOT NULL DEFAULT now()
)`,
  },
]);
