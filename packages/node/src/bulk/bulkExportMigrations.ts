/**
 * Index-database tables of bulk export (docs/fhir.md, *Bulk export*). Nothing here is plaintext PHI: the
 * caller and the kick-off request (which can name a patient) are sealed under the node's sealing key, the
 * files' data keys are wrapped; what stays readable is the job's state, its owner's account or client id,
 * times, and per file its resource type and line count.
 */
import type { Migration } from '@medledger/storage';

export const bulkExportMigrations: Migration[] = [
  {
    name: 'node/bulk-export-001-jobs-files',
    sql: `
CREATE TABLE bulk_export_jobs (
  id               text PRIMARY KEY,
  owner            text NOT NULL,
  sealed_request   bytea NOT NULL,
  status           text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  exported         int8 NOT NULL DEFAULT 0,
  transaction_time timestamptz,
  created_at       timestamptz NOT NULL,
  completed_at     timestamptz,
  expires_at       timestamptz
);
CREATE INDEX bulk_export_jobs_owner ON bulk_export_jobs (owner, status);
CREATE INDEX bulk_export_jobs_expiry ON bulk_export_jobs (expires_at);
CREATE TABLE bulk_export_files (
  job_id      text NOT NULL REFERENCES bulk_export_jobs (id) ON DELETE CASCADE,
  file_id     text NOT NULL,
  position    int4 NOT NULL,
  type        text NOT NULL,
  count       int8 NOT NULL,
  wrapped_key bytea NOT NULL,
  PRIMARY KEY (job_id, file_id)
);`,
  },
];
