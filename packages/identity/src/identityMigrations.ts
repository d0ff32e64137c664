/**
 * The identity schema: accounts, API tokens, WebAuthn credentials and challenges, login throttling. Applied
 * with storage's `migrate(db, [...identityMigrations])` beside the other packages' lists; names are stable.
 *
 * What the tables hold (docs/identity.md has the column-by-column account): no plaintext username, display
 * name or second-factor secret — usernames are looked up by a keyed hash and sealed with the profile; API
 * tokens only as SHA-256; password hashes as scrypt PHC strings.
 */
import type { Migration } from '@medledger/storage';
import { ROLES } from './roles.js';

const roleList = ROLES.map((r) => `'${r}'`).join(', ');

export const identityMigrations: readonly Migration[] = Object.freeze([
  {
    name: 'identity/001-accounts',
    sql: `
      CREATE TABLE identity_accounts (
        id text PRIMARY KEY,
        username_index bytea NOT NULL UNIQUE,
        profile bytea NOT NULL,
        role text NOT NULL CHECK (role IN (${roleList})),
        organisation bigint NOT NULL CHECK (organisation >= 0 AND organisation <= 4294967295),
        member_address text UNIQUE,
        patient_fhir_id text UNIQUE,
        patient_pseudonym text UNIQUE,
        practitioner_fhir_id text,
        password_hash text,
        totp bytea,
        totp_pending bytea,
        totp_last_step bigint,
        patient_keys text,
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CHECK ((role = 'patient') = (patient_fhir_id IS NOT NULL)),
        CHECK ((patient_fhir_id IS NULL) = (patient_pseudonym IS NULL)),
        CHECK (role = 'patient' OR patient_keys IS NULL)
      );
      CREATE INDEX identity_accounts_role ON identity_accounts (role, organisation);`,
  },
  {
    name: 'identity/002-api-tokens',
    sql: `
      CREATE TABLE identity_api_tokens (
        id text PRIMARY KEY,
        token_hash bytea NOT NULL UNIQUE,
        account_id text NOT NULL REFERENCES identity_accounts(id) ON DELETE CASCADE,
        label text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz,
        revoked_at timestamptz
      );
      CREATE INDEX identity_api_tokens_account ON identity_api_tokens (account_id);`,
  },
  {
    name: 'identity/003-webauthn',
    sql: `
      CREATE TABLE identity_webauthn_credentials (
        id text PRIMARY KEY,
        account_id text NOT NULL REFERENCES identity_accounts(id) ON DELETE CASCADE,
        public_key bytea NOT NULL,
        counter bigint NOT NULL CHECK (counter >= 0),
        transports text NOT NULL,
        device_type text NOT NULL,
        backed_up boolean NOT NULL,
        created_at timestamptz NOT NULL,
        last_used_at timestamptz
      );
      CREATE INDEX identity_webauthn_credentials_account ON identity_webauthn_credentials (account_id);
      CREATE TABLE identity_webauthn_challenges (
        challenge text PRIMARY KEY,
        subject text NOT NULL,
        purpose text NOT NULL CHECK (purpose IN ('registration', 'authentication')),
        expires_at timestamptz NOT NULL
      );`,
  },
  {
    name: 'identity/004-login-throttle',
    sql: `
      CREATE TABLE identity_login_throttle (
        key text PRIMARY KEY,
        failures integer NOT NULL CHECK (failures >= 0),
        last_attempt_ms bigint NOT NULL
      );`,
  },
  {
    // The authentication methods (RFC 8176) of the session a token was minted from. NULL: a token from
    // before tokens carried their assurance (minted by an administrator), which is not honoured for people.
    name: 'identity/005-api-token-assurance',
    sql: 'ALTER TABLE identity_api_tokens ADD COLUMN amr text;',
  },
  {
    // Patient accounts awaiting activation: the Patient exists (patient_fhir_id) but the on-chain pseudonym
    // is set only when the patient activates and their keys exist — so the pseudonym may be NULL for a
    // patient, never set without a patient. One live activation code per account, stored only as SHA-256.
    // The public key bundle of a patient who holds their keys themselves (self-held custody).
    name: 'identity/006-patient-activation',
    sql: `
      DO $$
      DECLARE c text;
      BEGIN
        FOR c IN SELECT conname FROM pg_constraint
                  WHERE conrelid = 'identity_accounts'::regclass AND contype = 'c'
                    AND pg_get_constraintdef(oid) LIKE '%patient_pseudonym IS NULL%'
        LOOP
          EXECUTE format('ALTER TABLE identity_accounts DROP CONSTRAINT %I', c);
        END LOOP;
      END $$;
      ALTER TABLE identity_accounts
        ADD CONSTRAINT identity_accounts_pseudonym_needs_patient
        CHECK (patient_pseudonym IS NULL OR patient_fhir_id IS NOT NULL);
      ALTER TABLE identity_accounts ADD COLUMN patient_public_bundle text;
      CREATE TABLE identity_activations (
        account_id text PRIMARY KEY REFERENCES identity_accounts(id) ON DELETE CASCADE,
        code_hash bytea NOT NULL UNIQUE,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL
      );`,
  },
]);
