/**
 * Index-database tables of the cross-organisation exchange (applied by startNode with the others):
 * - `exchange_replay`: the custodian's replay store — ids of authentic requests, kept until their expiry plus
 *   an allowance for the clock stepping back; the primary key makes the claim atomic across workers.
 * - `exchange_receipts`: every exchange this node took part in, as custodian or requester (denials included):
 *   the receipt bytes both sides share, their id, the peer and the outcome.
 * - `exchange_held_keys` / `exchange_held_records`: what a requester received — category keys wrapped to its
 *   own key (its grants) and the sealed records under their CIDs, exactly as the custodian stored them.
 *
 * Nothing here is plaintext PHI: ids are hashes, patients appear as ledger or custodian pseudonyms, records and
 * keys only sealed.
 */
import type { Migration } from '@medledger/storage';

export const exchangeMigrations: Migration[] = [
  {
    name: 'node/exchange-001-replay-and-receipts',
    sql: `CREATE TABLE exchange_replay (
  request_id bytea PRIMARY KEY CHECK (octet_length(request_id) = 32),
  keep_until int8 NOT NULL
);
CREATE INDEX exchange_replay_keep_until ON exchange_replay (keep_until);
CREATE TABLE exchange_receipts (
  receipt_id  bytea PRIMARY KEY CHECK (octet_length(receipt_id) = 32),
  request_id  bytea NOT NULL CHECK (octet_length(request_id) = 32),
  side        text NOT NULL CHECK (side IN ('custodian', 'requester')),
  peer        int8 NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('released', 'denied')),
  records     int4 NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  receipt     bytea NOT NULL,
  UNIQUE (request_id, side)
);
CREATE TABLE exchange_held_keys (
  custodian     int8 NOT NULL,
  pseudonym     bytea NOT NULL CHECK (octet_length(pseudonym) = 32),
  category      int2 NOT NULL,
  epoch         int8 NOT NULL,
  holder_key_id text NOT NULL,
  patient       bytea NOT NULL CHECK (octet_length(patient) = 32),
  envelope      bytea NOT NULL,
  request_id    bytea NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (custodian, pseudonym, category, epoch, holder_key_id)
);
CREATE INDEX exchange_held_keys_patient ON exchange_held_keys (patient);
CREATE TABLE exchange_held_records (
  cid         text PRIMARY KEY,
  custodian   int8 NOT NULL,
  pseudonym   bytea NOT NULL CHECK (octet_length(pseudonym) = 32),
  category    int2 NOT NULL,
  epoch       int8 NOT NULL,
  envelope    bytea NOT NULL,
  request_id  bytea NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);`,
  },
];
