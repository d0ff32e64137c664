/**
 * Index-database tables of the care feature (administration, licences, break-glass), applied by startNode
 * with the others. Nothing here is plaintext PHI or a secret: member keys, break-glass reasons and review
 * findings are sealed with the node's sealing key (docs/administration.md lists every column).
 */
import type { Migration } from '@medledger/storage';

export const careMigrations: Migration[] = [
  {
    name: 'node/care-001-members-licences-break-glass',
    sql: `
CREATE TABLE care_member_keys (
  member_address text PRIMARY KEY,
  sealed_key     bytea NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE care_licences (
  member_address  text PRIMARY KEY,
  credential_hash bytea NOT NULL CHECK (octet_length(credential_hash) = 32),
  licence         text NOT NULL,
  expires_at      int8 NOT NULL,
  revoked_at      int8,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE care_break_glass_reasons (
  reason_hash     bytea PRIMARY KEY CHECK (octet_length(reason_hash) = 32),
  session_id      int8 UNIQUE,
  account_id      text NOT NULL,
  member_address  text NOT NULL,
  patient_fhir_id text NOT NULL,
  sealed          bytea NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE care_break_glass_reviews (
  finding_hash   bytea PRIMARY KEY CHECK (octet_length(finding_hash) = 32),
  session_id     int8 NOT NULL,
  auditor_id     text NOT NULL,
  justified      boolean NOT NULL,
  sealed         bytea NOT NULL,
  transaction    text,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX care_break_glass_reviews_session ON care_break_glass_reviews (session_id);
CREATE TABLE care_break_glass_notices (
  session_id       int8 PRIMARY KEY,
  patient_fhir_id  text NOT NULL,
  communication_id text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);`,
  },
];
