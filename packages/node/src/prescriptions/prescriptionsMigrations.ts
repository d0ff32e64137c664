/**
 * Index-database tables of prescribing and dispensing (docs/prescriptions.md, *Prescribing and dispensing*),
 * applied by startNode with the others. No plaintext PHI: the prescriber's side keeps the on-chain id, the
 * record id and the commitment's salt and canonical hash; a token is kept only as its SHA-256; the pharmacy's
 * side keeps the released MedicationRequest sealed under the node's sealing key.
 */
import type { Migration } from '@medledger/storage';

export const prescriptionsMigrations: Migration[] = [
  {
    name: 'node/prescriptions-001-prescribing-dispensing',
    sql: `
CREATE TABLE rx_prescriptions (
  prescription_id  bytea PRIMARY KEY CHECK (octet_length(prescription_id) = 32),
  record_id        text NOT NULL UNIQUE,
  patient_fhir_id  text NOT NULL,
  prescriber       text NOT NULL,
  salt             bytea NOT NULL CHECK (octet_length(salt) = 32),
  canonical_hash   bytea NOT NULL CHECK (octet_length(canonical_hash) = 32),
  supply_seconds   int8,
  transaction      text NOT NULL,
  routed_to        int8,
  cancelled_at     int8,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rx_prescriptions_patient ON rx_prescriptions (patient_fhir_id);
CREATE TABLE rx_tokens (
  token_hash       bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
  prescription_id  bytea NOT NULL,
  used_at          timestamptz,
  used_by          int8,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE rx_queue (
  prescription_id  bytea PRIMARY KEY CHECK (octet_length(prescription_id) = 32),
  custodian        int8 NOT NULL,
  routed           boolean NOT NULL DEFAULT false,
  sealed_request   bytea,
  verified         text,
  cancelled        boolean NOT NULL DEFAULT false,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE rx_fills (
  prescription_id  bytea NOT NULL,
  fill_number      int4 NOT NULL,
  pharmacy         int8 NOT NULL,
  filled_at        int8 NOT NULL,
  fills_remaining  int4 NOT NULL,
  reminder_id      text,
  PRIMARY KEY (prescription_id, fill_number)
);
CREATE TABLE rx_cursor (
  name             text PRIMARY KEY,
  next_block       int8 NOT NULL
);`,
  },
];
