/**
 * Index-database schema of the consent index: an event-fed cache of ConsentManager and of the part of the
 * consortium registry that consent decisions read (organisation status, membership, licences). Run with storage's
 * `migrate(db, [...others, ...consentIndexMigrations])`; ConsentIndex.open applies them too (a no-op when done).
 *
 * Every derived row carries the block that produced it, so a reorg rolls back by block number: grants and
 * break-glass sessions by their block columns, registry state by deleting its events (it is replayed in memory,
 * being small). Addresses are lowercase hex; times are unix seconds (block timestamps).
 */
import type { Migration } from '@medledger/storage';

export const consentIndexMigrations: readonly Migration[] = [
  {
    name: 'ledger/consent-001-index',
    // One statement (storage's migrate sends each script as a prepared statement): a DO block.
    sql: `DO $migration$ BEGIN
      CREATE TABLE ledger_consent_cursor (
        singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        chain_id        bigint  NOT NULL,
        consent_manager text    NOT NULL,
        registry        text    NOT NULL,
        start_block     bigint  NOT NULL,
        block_number    bigint  NOT NULL,
        block_hash      text    NOT NULL,
        block_timestamp bigint  NOT NULL,
        updated_at      timestamptz NOT NULL DEFAULT now()
      );

      -- Hashes of indexed blocks (chunk ends and blocks with events): where a reorg search looks for the
      -- newest block both chains share. Pruned to the newest few hundred.
      CREATE TABLE ledger_consent_blocks (
        number    bigint PRIMARY KEY,
        hash      text   NOT NULL,
        timestamp bigint NOT NULL
      );

      CREATE TABLE ledger_consent_grants (
        consent_id       bytea    PRIMARY KEY CHECK (length(consent_id) = 32),
        patient          bytea    NOT NULL CHECK (length(patient) = 32),
        grantee          bigint   NOT NULL,
        grantee_member   text     NOT NULL,
        actions          smallint NOT NULL,
        resource_classes integer  NOT NULL,
        purposes         smallint NOT NULL,
        valid_from       bigint   NOT NULL,
        valid_until      bigint   NOT NULL,
        data_from        bigint   NOT NULL,
        data_until       bigint   NOT NULL,
        nonce            text     NOT NULL,
        granted_block    bigint   NOT NULL,
        granted_tx       text     NOT NULL,
        granted_at       bigint   NOT NULL,
        revoked_block    bigint,
        revoked_tx       text,
        revoked_at       bigint,
        CHECK ((revoked_block IS NULL) = (revoked_at IS NULL))
      );
      CREATE INDEX ledger_consent_grants_patient ON ledger_consent_grants (patient);
      CREATE INDEX ledger_consent_grants_granted_block ON ledger_consent_grants (granted_block);
      CREATE INDEX ledger_consent_grants_revoked_block ON ledger_consent_grants (revoked_block)
        WHERE revoked_block IS NOT NULL;

      CREATE TABLE ledger_consent_break_glass (
        id             bigint  PRIMARY KEY,
        patient        bytea   NOT NULL CHECK (length(patient) = 32),
        member         text    NOT NULL,
        organisation   bigint  NOT NULL,
        reason_hash    bytea   NOT NULL CHECK (length(reason_hash) = 32),
        opened_at      bigint  NOT NULL,
        expires_at     bigint  NOT NULL,
        opened_block   bigint  NOT NULL,
        opened_tx      text    NOT NULL,
        ended_block    bigint,
        ended_at       bigint,
        reviewed_block bigint,
        reviewed_at    bigint,
        auditor        text,
        justified      boolean,
        finding_hash   bytea,
        CHECK ((ended_block IS NULL) = (ended_at IS NULL)),
        CHECK ((reviewed_block IS NULL) = (auditor IS NULL))
      );
      CREATE INDEX ledger_consent_break_glass_patient ON ledger_consent_break_glass (patient, member);
      CREATE INDEX ledger_consent_break_glass_opened_block ON ledger_consent_break_glass (opened_block);
      CREATE INDEX ledger_consent_break_glass_unreviewed ON ledger_consent_break_glass (id)
        WHERE reviewed_block IS NULL;

      -- Registry events that consent decisions depend on, replayed in order to the current state.
      CREATE TABLE ledger_consent_registry_events (
        block_number bigint  NOT NULL,
        log_index    integer NOT NULL,
        kind         text    NOT NULL CHECK (kind IN ('admitted', 'suspended', 'reinstated', 'member',
                                                       'memberRemoved', 'licence', 'licenceRevoked')),
        organisation bigint  NOT NULL,
        account      text,
        role         smallint,
        at           bigint  NOT NULL,
        expires_at   bigint,
        PRIMARY KEY (block_number, log_index)
      );
    END $migration$`,
  },
  {
    // The grants an organisation holds, for consent-filtered searches of its members.
    name: 'ledger/consent-002-grants-by-grantee',
    sql: 'CREATE INDEX ledger_consent_grants_grantee ON ledger_consent_grants (grantee) WHERE revoked_block IS NULL',
  },
];
