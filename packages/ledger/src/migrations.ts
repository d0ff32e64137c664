/**
 * Index-database schema of the ledger outbox. Run with storage's `migrate(db, [...others, ...ledgerMigrations])`
 * (the Anchorer also applies them at start; applying twice is a no-op).
 *
 * ledger_outbox: one row per anchor leaf, written by the node inside the transaction of the write it anchors.
 * ledger_batches: one row per Merkle batch, from signing to on-chain confirmation.
 * ledger_checkpoint_anchors: one row per audit-log checkpoint to anchor in AuditAnchor, written by the audit log
 * inside the transaction that stores the checkpoint (see CheckpointAnchorer.ts).
 */
import type { Migration } from '@medledger/storage';

export const ledgerMigrations: readonly Migration[] = [
  {
    name: 'ledger/001-outbox',
    // One statement (storage's migrate sends each script as a prepared statement): a DO block.
    sql: `DO $migration$ BEGIN
      CREATE TABLE ledger_batches (
        id               bigserial PRIMARY KEY,
        root             bytea   NOT NULL CHECK (length(root) = 32),
        size             integer NOT NULL CHECK (size > 0),
        signature        bytea   NOT NULL,
        signature_digest bytea   NOT NULL CHECK (length(signature_digest) = 32),
        chain_id         bigint  NOT NULL,
        registry         text    NOT NULL,
        status           text    NOT NULL CHECK (status IN ('pending', 'submitted', 'confirmed')),
        created_at       timestamptz NOT NULL DEFAULT now(),
        attempts         integer NOT NULL DEFAULT 0,
        tx_hash          text,
        nonce            bigint,
        raw_tx           text,
        submitted_at     timestamptz,
        block_number     bigint,
        block_hash       text,
        anchor_sequence  bigint,
        anchor_head      text,
        confirmed_at     timestamptz,
        last_error       text,
        CHECK (status = 'pending' OR (tx_hash IS NOT NULL AND nonce IS NOT NULL)),
        CHECK (status <> 'confirmed' OR (block_number IS NOT NULL AND block_hash IS NOT NULL))
      );
      CREATE INDEX ledger_batches_open ON ledger_batches (status, id) WHERE status <> 'confirmed';
      CREATE INDEX ledger_batches_confirmed_block ON ledger_batches (block_number) WHERE status = 'confirmed';

      CREATE TABLE ledger_outbox (
        id          bigserial PRIMARY KEY,
        kind        text  NOT NULL,
        source_key  text  NOT NULL UNIQUE,
        leaf_hash   bytea NOT NULL CHECK (length(leaf_hash) = 32),
        enqueued_at timestamptz NOT NULL DEFAULT now(),
        batch_id    bigint REFERENCES ledger_batches (id),
        leaf_index  integer,
        CHECK ((batch_id IS NULL) = (leaf_index IS NULL))
      );
      CREATE INDEX ledger_outbox_queued ON ledger_outbox (id) WHERE batch_id IS NULL;
      CREATE UNIQUE INDEX ledger_outbox_batch_leaf ON ledger_outbox (batch_id, leaf_index) WHERE batch_id IS NOT NULL;
    END $migration$`,
  },
  {
    name: 'ledger/002-checkpoint-anchors',
    sql: `DO $migration$ BEGIN
      CREATE TABLE ledger_checkpoint_anchors (
        id            bigserial PRIMARY KEY,
        log_id        text    NOT NULL CHECK (length(log_id) BETWEEN 1 AND 200),
        log_key       bytea   NOT NULL CHECK (length(log_key) = 32),
        checkpoint_id bigint  NOT NULL UNIQUE CHECK (checkpoint_id > 0),
        size          bigint  NOT NULL CHECK (size > 0),
        root          bytea   NOT NULL CHECK (length(root) = 32),
        status        text    NOT NULL CHECK (status IN ('queued', 'submitted', 'confirmed', 'superseded')),
        enqueued_at   timestamptz NOT NULL DEFAULT now(),
        attempts      integer NOT NULL DEFAULT 0,
        chain_id      bigint,
        contract      text,
        tx_hash       text,
        nonce         bigint,
        raw_tx        text,
        submitted_at  timestamptz,
        block_number  bigint,
        block_hash    text,
        gas_used      bigint,
        confirmed_at  timestamptz,
        last_error    text,
        CHECK (status <> 'submitted'
               OR (tx_hash IS NOT NULL AND nonce IS NOT NULL AND raw_tx IS NOT NULL AND submitted_at IS NOT NULL
                   AND chain_id IS NOT NULL AND contract IS NOT NULL)),
        CHECK (status <> 'confirmed'
               OR (tx_hash IS NOT NULL AND block_number IS NOT NULL AND block_hash IS NOT NULL
                   AND gas_used IS NOT NULL AND confirmed_at IS NOT NULL AND chain_id IS NOT NULL
                   AND contract IS NOT NULL))
      );
      -- At most one anchoring transaction in flight per log.
      CREATE UNIQUE INDEX ledger_checkpoint_anchors_in_flight
        ON ledger_checkpoint_anchors (log_key) WHERE status = 'submitted';
      CREATE INDEX ledger_checkpoint_anchors_queued
        ON ledger_checkpoint_anchors (log_key, size DESC, id DESC) WHERE status = 'queued';
      CREATE INDEX ledger_checkpoint_anchors_confirmed_block
        ON ledger_checkpoint_anchors (block_number DESC, id DESC) WHERE status = 'confirmed';
      CREATE INDEX ledger_checkpoint_anchors_confirmed_log
        ON ledger_checkpoint_anchors (log_id, size DESC) WHERE status = 'confirmed';
    END $migration$`,
  },
];
