/**
 * The audit log's schema (docs/audit-log.md explains every column). Migrations are append-only: never edit one
 * that has shipped, add the next. One CREATE per migration, so a failure names the object.
 *
 * `audit_entries` is both the queue and the log: a row is queued with `leaf_index` NULL (inside the caller's
 * transaction) and integrated by giving it the next leaf index. Nothing here is plaintext PHI: the event is
 * stored as the opaque bytes the caller gives (sealed), next to its salt and commitment.
 */
import type { Migration } from '@medledger/storage';

export const auditLogMigrations: readonly Migration[] = Object.freeze([
  {
    name: 'audit/001-entries',
    sql: `CREATE TABLE audit_entries (
  seq          bigserial   PRIMARY KEY,
  leaf_index   bigint      UNIQUE CHECK (leaf_index >= 0),
  commitment   bytea       NOT NULL CHECK (octet_length(commitment) = 32),
  salt         bytea       NOT NULL CHECK (octet_length(salt) = 32),
  sealed_event bytea       NOT NULL,
  queued_at    timestamptz NOT NULL DEFAULT now()
)`,
  },
  {
    name: 'audit/002-entries-queued',
    sql: `CREATE INDEX audit_entries_queued ON audit_entries (seq) WHERE leaf_index IS NULL`,
  },
  {
    name: 'audit/003-checkpoints',
    sql: `CREATE TABLE audit_checkpoints (
  id         bigserial PRIMARY KEY,
  log_id     text      NOT NULL,
  size       bigint    NOT NULL CHECK (size >= 0),
  root       bytea     NOT NULL CHECK (octet_length(root) = 32),
  timestamp  bigint    NOT NULL CHECK (timestamp >= 0),
  signature  bytea     NOT NULL
)`,
  },
  {
    // Whom an entry is about (a patient's record pseudonym — a keyed hash, no PHI), so a patient's access log
    // is one index scan. NULL for entries about no patient.
    name: 'audit/004-entries-subject',
    sql: `ALTER TABLE audit_entries ADD COLUMN subject bytea CHECK (subject IS NULL OR octet_length(subject) BETWEEN 1 AND 64)`,
  },
  {
    name: 'audit/005-entries-subject-index',
    sql: `CREATE INDEX audit_entries_subject ON audit_entries (subject, leaf_index) WHERE subject IS NOT NULL`,
  },
]);
