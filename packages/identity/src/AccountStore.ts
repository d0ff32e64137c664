/**
 * Accounts and API tokens in the index database (PGlite or PostgreSQL, `Db` from @medledger/storage).
 *
 * An account is a person or an automation principal with one role, one organisation (the on-chain
 * organisation id), optionally an on-chain member address (practitioners, lab staff, …) and, for patients,
 * the link to their FHIR Patient and on-chain pseudonym. The store holds no plaintext username, display name
 * or second-factor secret: usernames are found through a keyed hash (HMAC-SHA256, case-insensitive after
 * NFKC) and sealed, with the display name, under an AEAD key derived from the caller's 32-byte identity
 * secret; TOTP secrets are sealed the same way, each ciphertext bound to its account id, so rows cannot be
 * swapped between accounts. Losing that secret makes every account unusable; rotating it is not supported.
 *
 * API tokens (automation, the bootstrap admin) are 256-bit random bearer values; only SHA-256 is stored,
 * with an expiry and a revocation time. This is the successor of node/src/principals.ts' credentials.
 *
 * Time comes from an injectable clock (ms), the same one on every node process, so expiry decisions do not
 * depend on which database answers.
 */

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { type Brand, MdlError, MdlErrorCode } from '@medledger/core';
import { AeadKey, bytesToUtf8, deriveSubkey, hmacSha256, utf8ToBytes } from '@medledger/crypto';
import type { Db, Queryable } from '@medledger/storage';
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { assertPasswordPolicy, hashPassword, PASSWORD_SCRYPT, type ScryptCost } from './passwords.js';
import { isRole, type Role, roleDefinition } from './roles.js';
import { generateTotpSecret, matchTotp, type TotpSecret, totpUri } from './totp.js';

export type AccountId = Brand<string, 'AccountId'>;

export interface PatientLink {
  /** Logical id of the patient's FHIR Patient resource on this node. */
  fhirId: string;
  /** The on-chain pseudonym (ConsentManager.pseudonymOf the patient's signing address). */
  pseudonym: Hex;
}

/** A patient awaiting activation: their Patient resource exists, their keys (and so pseudonym) not yet. */
export interface PendingPatientLink {
  fhirId: string;
  pseudonym?: undefined;
}

/** What a patient sets when activating their account with a one-time code. */
export interface PatientActivation {
  password: string;
  /** The on-chain pseudonym of the consent key the patient now holds (or the node holds for them). */
  pseudonym: Hex;
  /** Custodial keys: the sealed key file the node keeps. */
  sealedKeys?: string;
  /** Self-held keys: the patient's public key bundle (base64url of its encoding), for wrapping to them. */
  publicBundle?: string;
}

export interface Account {
  id: AccountId;
  username: string;
  displayName: string;
  role: Role;
  organisation: number;
  memberAddress?: Address;
  patient?: PatientLink;
  /** Logical id of the practitioner's FHIR Practitioner resource, when there is one. */
  practitionerId?: string;
  disabled: boolean;
  hasPassword: boolean;
  secondFactors: { totp: boolean; webauthn: number };
  createdAt: Date;
  updatedAt: Date;
}

export interface NewAccount {
  username: string;
  displayName: string;
  role: Role;
  organisation: number;
  memberAddress?: Address;
  /** A patient's link; without a pseudonym for a patient awaiting activation (their keys do not exist yet). */
  patient?: PatientLink | PendingPatientLink;
  practitionerId?: string;
  /**
   * Checked against the password policy; omit for token-only accounts (they cannot log in interactively) and
   * for patients awaiting activation (they choose it themselves: `activatePatient`).
   */
  password?: string;
  /** A fixed id (lower-case kebab-case) instead of a random UUID, for well-known accounts. */
  id?: string;
}

export interface AccountUpdate {
  displayName?: string;
  organisation?: number;
  memberAddress?: Address | null;
  practitionerId?: string | null;
}

/** What a login needs beyond the account: the password hash and which second factors are in place. */
export interface LoginRecord {
  account: Account;
  passwordHash: string | null;
  totpPending: boolean;
}

export interface ApiTokenInfo {
  id: string;
  accountId: AccountId;
  label: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  /**
   * How the owner had authenticated when the token was minted (RFC 8176 values, e.g. `pwd otp mfa`); null
   * for tokens that carry no assurance (the bootstrap admin's, and tokens from before tokens carried it).
   */
  amr: string[] | null;
}

export interface ApiTokenOptions {
  label: string;
  expiresAt?: Date;
  /** The authentication methods of the owner's session the token is minted from. */
  amr?: readonly string[];
}

export interface AccountStoreOptions {
  /** 32-byte identity secret (e.g. a named keystore secret); the sealing and username-index keys derive from it. */
  secretKey: Uint8Array;
  /** scrypt cost for new password hashes; default PASSWORD_SCRYPT. */
  passwordCost?: ScryptCost;
  /** Issuer shown by authenticator apps; default "medledger". */
  totpIssuer?: string;
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number;
}

interface AccountRow {
  id: string;
  username_index: Uint8Array;
  profile: Uint8Array;
  role: string;
  organisation: number;
  member_address: string | null;
  patient_fhir_id: string | null;
  patient_pseudonym: string | null;
  practitioner_fhir_id: string | null;
  password_hash: string | null;
  totp: Uint8Array | null;
  totp_pending: Uint8Array | null;
  totp_last_step: number | null;
  disabled: boolean;
  created_at: Date;
  updated_at: Date;
  webauthn_count: number;
}

const ACCOUNT_COLUMNS = `a.id, a.username_index, a.profile, a.role, a.organisation, a.member_address,
  a.patient_fhir_id, a.patient_pseudonym, a.practitioner_fhir_id, a.password_hash, a.totp, a.totp_pending,
  a.totp_last_step, a.disabled, a.created_at, a.updated_at,
  (SELECT count(*) FROM identity_webauthn_credentials w WHERE w.account_id = a.id)::int AS webauthn_count`;

const USERNAME = /^[\p{L}\p{N}._@+-]{3,64}$/u;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const FIXED_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const PSEUDONYM = /^0x[0-9a-fA-F]{64}$/;
const MIN_TOKEN_LENGTH = 32;
const MAX_TOKEN_LENGTH = 512;

function bad(message: string): MdlError {
  return new MdlError(MdlErrorCode.BadInput, message);
}

/** Case-insensitive, compatibility-normalised form of a username: what uniqueness and lookup use. */
export function foldUsername(username: string): string {
  return username.normalize('NFKC').toLowerCase();
}

function checkUsername(username: unknown): string {
  if (typeof username !== 'string') throw bad('username must be a string');
  const nfkc = username.normalize('NFKC');
  if (!USERNAME.test(nfkc)) {
    throw bad('username must be 3 to 64 letters, digits or . _ @ + -');
  }
  return nfkc;
}

function checkDisplayName(name: unknown): string {
  if (typeof name !== 'string') throw bad('display name must be a string');
  const nfc = name.normalize('NFC').trim();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (nfc.length < 1 || nfc.length > 200 || /[\u0000-\u001f\u007f]/.test(nfc)) {
    throw bad('display name must be 1 to 200 printable characters');
  }
  return nfc;
}

function checkOrganisation(organisation: unknown): number {
  if (
    !Number.isInteger(organisation) ||
    (organisation as number) < 0 ||
    (organisation as number) > 0xffffffff
  ) {
    throw bad('organisation must be a uint32 organisation id');
  }
  return organisation as number;
}

function checkMemberAddress(role: Role, address: unknown): Address | null {
  if (address === undefined || address === null) return null;
  if (typeof address !== 'string' || !isAddress(address, { strict: false })) {
    throw bad('member address must be an Ethereum address');
  }
  if (roleDefinition(role).memberRole === undefined) throw bad('this role has no on-chain member address');
  return getAddress(address);
}

function checkFhirId(id: unknown, what: string): string {
  if (typeof id !== 'string' || !FHIR_ID.test(id)) throw bad(`${what} must be a FHIR id`);
  return id;
}

function checkPatientLink(
  role: Role,
  patient: PatientLink | PendingPatientLink | undefined,
): { fhirId: string; pseudonym: Hex | null } | null {
  if (role !== 'patient') {
    if (patient !== undefined) throw bad('only patient accounts link to a patient');
    return null;
  }
  if (!patient) throw bad('a patient account needs its patient link');
  if (patient.pseudonym === undefined) {
    return { fhirId: checkFhirId(patient.fhirId, 'patient id'), pseudonym: null };
  }
  if (typeof patient.pseudonym !== 'string' || !PSEUDONYM.test(patient.pseudonym)) {
    throw bad('patient pseudonym must be 32 bytes of hex');
  }
  return {
    fhirId: checkFhirId(patient.fhirId, 'patient id'),
    pseudonym: patient.pseudonym.toLowerCase() as Hex,
  };
}

const sha256 = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or typed is hard to get wrong. */
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A fresh activation code: 130 random bits as 26 base32 characters in groups of four (XXXX-XXXX-…-XX). */
function newActivationCode(): string {
  const bytes = randomBytes(17);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 26; i++) {
    out += CODE_ALPHABET[Number(bits & 31n)];
    bits >>= 5n;
  }
  return out.match(/.{1,4}/g)!.join('-');
}

/**
 * An activation code as typed: case, spaces and dashes do not matter, and the letters base32 leaves out read
 * as the digits they look like (O→0, I/L→1). Undefined when it cannot be a code.
 */
export function normaliseActivationCode(code: unknown): string | undefined {
  if (typeof code !== 'string' || code.length > 64) return undefined;
  const folded = code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (folded.length !== 26 || ![...folded].every((c) => CODE_ALPHABET.includes(c))) return undefined;
  return folded;
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown })?.code === '23505';
}

export class AccountStore {
  readonly #db: Db;
  readonly #seal: AeadKey;
  readonly #indexKey: Uint8Array;
  readonly #passwordCost: ScryptCost;
  readonly #issuer: string;
  readonly #clock: () => number;

  constructor(db: Db, options: AccountStoreOptions) {
    if (!(options.secretKey instanceof Uint8Array) || options.secretKey.length !== 32) {
      throw new MdlError(MdlErrorCode.Config, 'identity secret must be 32 bytes');
    }
    this.#db = db;
    this.#seal = new AeadKey(deriveSubkey(options.secretKey, 'identity-seal'));
    this.#indexKey = deriveSubkey(options.secretKey, 'identity-username-index');
    this.#passwordCost = options.passwordCost ?? PASSWORD_SCRYPT;
    this.#issuer = options.totpIssuer ?? 'medledger';
    this.#clock = options.clock ?? Date.now;
  }

  get db(): Db {
    return this.#db;
  }

  /** The scrypt cost new password hashes are made with. */
  get passwordCost(): ScryptCost {
    return this.#passwordCost;
  }

  now(): Date {
    return new Date(this.#clock());
  }

  /** The keyed hash a username is looked up by (also the login throttle's per-account key). */
  usernameIndex(username: string): Uint8Array {
    return hmacSha256(this.#indexKey, utf8ToBytes(foldUsername(String(username))));
  }

  #sealJson(value: unknown, label: string, id: string): Uint8Array {
    return this.#seal.seal(
      utf8ToBytes(JSON.stringify(value)),
      utf8ToBytes(`medledger/identity/v1/${label}|${id}`),
    );
  }

  #openJson<T>(sealed: Uint8Array, label: string, id: string): T {
    const plain = this.#seal.open(sealed, utf8ToBytes(`medledger/identity/v1/${label}|${id}`));
    if (!plain)
      throw new MdlError(MdlErrorCode.DecryptFailed, 'account data does not open under the identity key');
    return JSON.parse(bytesToUtf8(plain)) as T;
  }

  #toAccount(row: AccountRow): Account {
    const profile = this.#openJson<{ u: string; n: string }>(row.profile, 'profile', row.id);
    const account: Account = {
      id: row.id as AccountId,
      username: profile.u,
      displayName: profile.n,
      role: row.role as Role,
      organisation: Number(row.organisation),
      disabled: row.disabled,
      hasPassword: row.password_hash !== null,
      secondFactors: { totp: row.totp !== null, webauthn: Number(row.webauthn_count) },
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
    if (row.member_address) account.memberAddress = row.member_address as Address;
    if (row.patient_fhir_id && row.patient_pseudonym) {
      account.patient = { fhirId: row.patient_fhir_id, pseudonym: row.patient_pseudonym as Hex };
    }
    if (row.practitioner_fhir_id) account.practitionerId = row.practitioner_fhir_id;
    return account;
  }

  async #row(where: string, param: unknown, q: Queryable = this.#db): Promise<AccountRow | undefined> {
    const { rows } = await q.query<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM identity_accounts a WHERE ${where}`,
      [param],
    );
    return rows[0];
  }

  async #requireRow(id: AccountId): Promise<AccountRow> {
    const row = await this.#row('a.id = $1', id);
    if (!row) throw new MdlError(MdlErrorCode.NotFound, 'no such account');
    return row;
  }

  /** Creates an account. MDL_CONFLICT if the username (in any case), member address or patient is taken. */
  async createAccount(input: NewAccount): Promise<Account> {
    if (!isRole(input.role)) throw bad('unknown role');
    const username = checkUsername(input.username);
    const displayName = checkDisplayName(input.displayName);
    const organisation = checkOrganisation(input.organisation);
    const memberAddress = checkMemberAddress(input.role, input.memberAddress);
    const patient = checkPatientLink(input.role, input.patient);
    const practitionerId =
      input.practitionerId === undefined ? null : checkFhirId(input.practitionerId, 'practitioner id');
    if (input.id !== undefined && !FIXED_ID.test(input.id)) throw bad('account id must be kebab-case');
    let passwordHash: string | null = null;
    if (input.password !== undefined) {
      assertPasswordPolicy(input.password, { username });
      passwordHash = await hashPassword(input.password, this.#passwordCost);
    }
    const id = (input.id ?? randomUUID()) as AccountId;
    const now = this.now();
    try {
      await this.#db.query(
        `INSERT INTO identity_accounts (id, username_index, profile, role, organisation, member_address,
           patient_fhir_id, patient_pseudonym, practitioner_fhir_id, password_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
        [
          id,
          this.usernameIndex(username),
          this.#sealJson({ u: username, n: displayName }, 'profile', id),
          input.role,
          organisation,
          memberAddress,
          patient?.fhirId ?? null,
          patient?.pseudonym ?? null,
          practitionerId,
          passwordHash,
          now,
        ],
      );
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new MdlError(MdlErrorCode.Conflict, 'an account with this username, member or patient exists');
      }
      throw error;
    }
    return this.#toAccount(await this.#requireRow(id));
  }

  async getAccount(id: string): Promise<Account | undefined> {
    if (typeof id !== 'string' || id.length > 64) return undefined;
    const row = await this.#row('a.id = $1', id);
    return row && this.#toAccount(row);
  }

  async findByUsername(username: string): Promise<Account | undefined> {
    const row = await this.#row('a.username_index = $1', this.usernameIndex(username));
    return row && this.#toAccount(row);
  }

  async findByMemberAddress(address: Address): Promise<Account | undefined> {
    if (!isAddress(address, { strict: false })) return undefined;
    const row = await this.#row('a.member_address = $1', getAddress(address));
    return row && this.#toAccount(row);
  }

  async findByPatient(fhirId: string): Promise<Account | undefined> {
    const row = await this.#row('a.patient_fhir_id = $1', fhirId);
    return row && this.#toAccount(row);
  }

  /** Accounts (never their secrets), ordered by username. */
  async listAccounts(filter: { role?: Role; organisation?: number; includeDisabled?: boolean } = {}) {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (filter.role !== undefined) {
      params.push(filter.role);
      conditions.push(`a.role = $${params.length}`);
    }
    if (filter.organisation !== undefined) {
      params.push(filter.organisation);
      conditions.push(`a.organisation = $${params.length}`);
    }
    if (!filter.includeDisabled) conditions.push('NOT a.disabled');
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const { rows } = await this.#db.query<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM identity_accounts a ${where}`,
      params,
    );
    // Usernames are sealed, so the order is made here rather than by the database.
    return rows.map((r) => this.#toAccount(r)).sort((x, y) => x.username.localeCompare(y.username));
  }

  async updateAccount(id: AccountId, update: AccountUpdate): Promise<Account> {
    const row = await this.#requireRow(id);
    const role = row.role as Role;
    const sets: string[] = [];
    const params: unknown[] = [id];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (update.displayName !== undefined) {
      const profile = this.#openJson<{ u: string; n: string }>(row.profile, 'profile', id);
      set(
        'profile',
        this.#sealJson({ u: profile.u, n: checkDisplayName(update.displayName) }, 'profile', id),
      );
    }
    if (update.organisation !== undefined) set('organisation', checkOrganisation(update.organisation));
    if (update.memberAddress !== undefined)
      set('member_address', checkMemberAddress(role, update.memberAddress));
    if (update.practitionerId !== undefined) {
      set(
        'practitioner_fhir_id',
        update.practitionerId === null ? null : checkFhirId(update.practitionerId, 'practitioner id'),
      );
    }
    if (sets.length > 0) {
      set('updated_at', this.now());
      try {
        await this.#db.query(`UPDATE identity_accounts SET ${sets.join(', ')} WHERE id = $1`, params);
      } catch (error) {
        if (isUniqueViolation(error)) throw new MdlError(MdlErrorCode.Conflict, 'member address is taken');
        throw error;
      }
    }
    return this.#toAccount(await this.#requireRow(id));
  }

  async #touch(id: AccountId, sql: string, params: unknown[]): Promise<void> {
    const { rowCount } = await this.#db.query(
      `UPDATE identity_accounts SET ${sql}, updated_at = $2 WHERE id = $1`,
      [id, this.now(), ...params],
    );
    if (rowCount === 0) throw new MdlError(MdlErrorCode.NotFound, 'no such account');
  }

  /** Disables (or re-enables) an account: no login, no API token works while disabled. */
  async setDisabled(id: AccountId, disabled: boolean): Promise<void> {
    await this.#touch(id, 'disabled = $3', [disabled === true]);
  }

  /** Sets a new password after checking the policy. */
  async setPassword(id: AccountId, password: string): Promise<void> {
    const account = await this.getAccount(id);
    if (!account) throw new MdlError(MdlErrorCode.NotFound, 'no such account');
    assertPasswordPolicy(password, { username: account.username });
    await this.setPasswordHash(id, await hashPassword(password, this.#passwordCost));
  }

  /** Stores a hash made elsewhere (the login's re-hash at a raised cost). */
  async setPasswordHash(id: AccountId, hash: string): Promise<void> {
    await this.#touch(id, 'password_hash = $3', [hash]);
  }

  /** Removes every second factor (TOTP, pending TOTP, WebAuthn credentials): the admin's recovery path. */
  async resetSecondFactors(id: AccountId): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const { rowCount } = await tx.query(
        `UPDATE identity_accounts SET totp = NULL, totp_pending = NULL, totp_last_step = NULL, updated_at = $2
          WHERE id = $1`,
        [id, this.now()],
      );
      if (rowCount === 0) throw new MdlError(MdlErrorCode.NotFound, 'no such account');
      await tx.query('DELETE FROM identity_webauthn_credentials WHERE account_id = $1', [id]);
    });
  }

  /** What LoginService needs; undefined for an unknown username. */
  async loginRecord(username: string): Promise<LoginRecord | undefined> {
    const row = await this.#row('a.username_index = $1', this.usernameIndex(username));
    if (!row) return undefined;
    return {
      account: this.#toAccount(row),
      passwordHash: row.password_hash,
      totpPending: row.totp_pending !== null,
    };
  }

  // --- TOTP -------------------------------------------------------------------------------------------

  /**
   * Starts (or restarts) TOTP enrolment: a fresh secret, sealed as pending, and the otpauth:// URI to show the
   * user once. It becomes the account's factor when a code from it is confirmed (confirmTotpEnrolment, or the
   * first login with a code); an already enrolled factor stays in force until then.
   */
  async beginTotpEnrolment(id: AccountId): Promise<{ secret: TotpSecret; uri: string }> {
    const account = await this.getAccount(id);
    if (!account) throw new MdlError(MdlErrorCode.NotFound, 'no such account');
    const secret = generateTotpSecret();
    await this.#touch(id, 'totp_pending = $3', [this.#sealJson(secret, 'totp-pending', id)]);
    return { secret, uri: totpUri(secret, { issuer: this.#issuer, label: account.username }) };
  }

  /** Confirms a pending enrolment with a current code; the code's step counts as used. */
  async confirmTotpEnrolment(id: AccountId, code: string): Promise<boolean> {
    const row = await this.#row('a.id = $1', id);
    if (!row?.totp_pending) return false;
    const secret = this.#openJson<TotpSecret>(row.totp_pending, 'totp-pending', id);
    const step = matchTotp(secret, code, { nowMs: this.#clock() });
    if (step === undefined) return false;
    // Conditional on the pending secret being the one checked, so a concurrent restart is not confirmed.
    const { rowCount } = await this.#db.query(
      `UPDATE identity_accounts SET totp = $2, totp_pending = NULL, totp_last_step = $3, updated_at = $4
        WHERE id = $1 AND totp_pending = $5`,
      [id, this.#sealJson(secret, 'totp', id), step, this.now(), row.totp_pending],
    );
    return rowCount === 1;
  }

  /**
   * Checks a TOTP code and records its step as used. False for a wrong, expired or malformed code, for a step
   * at or before the last one used (replay), and for an account without TOTP. Atomic across processes.
   */
  async verifyTotp(id: AccountId, code: string): Promise<boolean> {
    const row = await this.#row('a.id = $1', id);
    if (!row?.totp) return false;
    const secret = this.#openJson<TotpSecret>(row.totp, 'totp', id);
    const last = row.totp_last_step === null ? undefined : Number(row.totp_last_step);
    const step = matchTotp(secret, code, { nowMs: this.#clock(), lastUsedStep: last });
    if (step === undefined) return false;
    const { rowCount } = await this.#db.query(
      `UPDATE identity_accounts SET totp_last_step = $2
        WHERE id = $1 AND totp IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $2)`,
      [id, step],
    );
    return rowCount === 1;
  }

  // --- patient keys -----------------------------------------------------------------------------------

  /** Stores a patient's sealed key file (custodial keys; see patientKeys.ts). */
  async setPatientKeys(id: AccountId, sealed: string): Promise<void> {
    if (typeof sealed !== 'string' || sealed.length > 100_000) throw bad('sealed patient keys expected');
    const account = await this.getAccount(id);
    if (account?.role !== 'patient') throw new MdlError(MdlErrorCode.NotFound, 'no such patient account');
    await this.#touch(id, 'patient_keys = $3', [sealed]);
  }

  /** The sealed key file of a patient account, if the node holds it. */
  async patientKeys(id: AccountId): Promise<string | undefined> {
    const { rows } = await this.#db.query<{ patient_keys: string | null }>(
      'SELECT patient_keys FROM identity_accounts WHERE id = $1',
      [id],
    );
    return rows[0]?.patient_keys ?? undefined;
  }

  // --- activation ---------------------------------------------------------------------------------------

  /**
   * Issues (or re-issues, replacing the previous one) the one-time activation code of a patient account
   * awaiting activation. Only the code's SHA-256 is stored (130 random bits need no slow hash).
   */
  async issueActivationCode(id: AccountId, expiresAt: Date): Promise<string> {
    const row = await this.#row('a.id = $1', id);
    if (row?.role !== 'patient' || row.patient_pseudonym !== null) {
      throw new MdlError(MdlErrorCode.Conflict, 'only a patient account awaiting activation gets a code');
    }
    const code = newActivationCode();
    await this.#db.query(
      `INSERT INTO identity_activations (account_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (account_id) DO UPDATE SET code_hash = $2, created_at = $3, expires_at = $4`,
      [id, sha256(normaliseActivationCode(code)!), this.now(), expiresAt],
    );
    return code;
  }

  /** The account a live (unused, unexpired) activation code opens, or undefined. */
  async activationAccount(code: string): Promise<Account | undefined> {
    const normalised = normaliseActivationCode(code);
    if (!normalised) return undefined;
    const { rows } = await this.#db.query<{ account_id: string }>(
      'SELECT account_id FROM identity_activations WHERE code_hash = $1 AND expires_at > $2',
      [sha256(normalised), this.now()],
    );
    const account = rows[0] && (await this.getAccount(rows[0].account_id));
    return account?.disabled ? undefined : account;
  }

  /**
   * Activates a patient account with its code, once: the code is consumed and the password, pseudonym and
   * keys (sealed file or public bundle) set in one transaction. MDL_NOT_FOUND when the code is unknown,
   * used or expired, or the account was activated meanwhile.
   */
  async activatePatient(code: string, activation: PatientActivation): Promise<Account> {
    const normalised = normaliseActivationCode(code);
    if (!normalised) throw new MdlError(MdlErrorCode.NotFound, 'no such activation code');
    if (!PSEUDONYM.test(activation.pseudonym)) throw bad('patient pseudonym must be 32 bytes of hex');
    if ((activation.sealedKeys === undefined) === (activation.publicBundle === undefined)) {
      throw bad('either a sealed key file or a public key bundle');
    }
    const account = await this.activationAccount(normalised);
    if (!account) throw new MdlError(MdlErrorCode.NotFound, 'no such activation code');
    assertPasswordPolicy(activation.password, { username: account.username });
    const hash = await hashPassword(activation.password, this.#passwordCost);
    const activated = await this.#db.transaction(async (tx) => {
      const used = await tx.query(
        `DELETE FROM identity_activations WHERE code_hash = $1 AND account_id = $2 AND expires_at > $3`,
        [sha256(normalised), account.id, this.now()],
      );
      if (used.rowCount !== 1) return false;
      const { rowCount } = await tx.query(
        `UPDATE identity_accounts SET password_hash = $2, patient_pseudonym = $3, patient_keys = $4,
           patient_public_bundle = $5, updated_at = $6
          WHERE id = $1 AND role = 'patient' AND patient_pseudonym IS NULL AND NOT disabled`,
        [
          account.id,
          hash,
          activation.pseudonym.toLowerCase(),
          activation.sealedKeys ?? null,
          activation.publicBundle ?? null,
          this.now(),
        ],
      );
      return rowCount === 1;
    });
    if (!activated) throw new MdlError(MdlErrorCode.NotFound, 'no such activation code');
    return this.#toAccount(await this.#requireRow(account.id));
  }

  /** The public key bundle (base64url) of a patient who holds their keys themselves. */
  async patientPublicBundle(id: AccountId): Promise<string | undefined> {
    const { rows } = await this.#db.query<{ patient_public_bundle: string | null }>(
      'SELECT patient_public_bundle FROM identity_accounts WHERE id = $1',
      [id],
    );
    return rows[0]?.patient_public_bundle ?? undefined;
  }

  /** Whether a patient account still awaits activation (its Patient id, when it does). */
  async pendingPatient(id: AccountId): Promise<string | undefined> {
    const row = await this.#row('a.id = $1', id);
    return row?.role === 'patient' && row.patient_pseudonym === null ? row.patient_fhir_id! : undefined;
  }

  // --- API tokens -------------------------------------------------------------------------------------

  /** Issues a 256-bit bearer token; the value is returned once and only its SHA-256 is stored. */
  async createApiToken(
    accountId: AccountId,
    options: ApiTokenOptions,
  ): Promise<{ id: string; token: string; expiresAt: Date | null }> {
    const token = randomBytes(32).toString('base64url');
    const info = await this.addApiToken(accountId, token, options);
    return { id: info.id, token, expiresAt: info.expiresAt };
  }

  /**
   * Registers a bearer token chosen elsewhere (MEDLEDGER_ADMIN_TOKEN). At least 32 characters; registering
   * the same token again is a no-op.
   */
  async addApiToken(accountId: AccountId, token: string, options: ApiTokenOptions): Promise<ApiTokenInfo> {
    if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) {
      throw bad(`API tokens are ${MIN_TOKEN_LENGTH} to ${MAX_TOKEN_LENGTH} characters`);
    }
    return this.importApiTokenHash(accountId, sha256(token), options);
  }

  /** Registers a token by its SHA-256 alone (importing node/src/principals.ts credentials). */
  async importApiTokenHash(
    accountId: AccountId,
    tokenHash: Uint8Array,
    options: ApiTokenOptions,
  ): Promise<ApiTokenInfo> {
    if (!(tokenHash instanceof Uint8Array) || tokenHash.length !== 32)
      throw bad('token hash must be 32 bytes');
    const label = checkDisplayName(options.label);
    const now = this.now();
    if (options.expiresAt !== undefined && !(options.expiresAt.getTime() > now.getTime())) {
      throw bad('token expiry must be in the future');
    }
    const amr = options.amr === undefined ? null : checkAmr(options.amr);
    if (!(await this.getAccount(accountId))) throw new MdlError(MdlErrorCode.NotFound, 'no such account');
    await this.#db.query(
      `INSERT INTO identity_api_tokens (id, token_hash, account_id, label, created_at, expires_at, amr)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (token_hash) DO NOTHING`,
      [randomUUID(), tokenHash, accountId, label, now, options.expiresAt ?? null, amr],
    );
    const { rows } = await this.#db.query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM identity_api_tokens WHERE token_hash = $1`,
      [tokenHash],
    );
    const row = rows[0]!;
    if (row.account_id !== accountId)
      throw new MdlError(MdlErrorCode.Conflict, 'token belongs to another account');
    return tokenInfo(row);
  }

  /** The account a bearer token belongs to, or undefined (unknown, revoked, expired, or account disabled). */
  async authenticateToken(token: string): Promise<Account | undefined> {
    return (await this.authenticateTokenWithAssurance(token))?.account;
  }

  /** The account a bearer token belongs to and the authentication methods the token was minted with. */
  async authenticateTokenWithAssurance(
    token: string,
  ): Promise<{ account: Account; amr: string[] | null } | undefined> {
    if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) {
      return undefined;
    }
    const { rows } = await this.#db.query<AccountRow & { token_amr: string | null }>(
      `SELECT ${ACCOUNT_COLUMNS}, t.amr AS token_amr
         FROM identity_api_tokens t JOIN identity_accounts a ON a.id = t.account_id
        WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)
          AND NOT a.disabled`,
      [sha256(token), this.now()],
    );
    const row = rows[0];
    return row && { account: this.#toAccount(row), amr: amrOf(row.token_amr) };
  }

  async listApiTokens(accountId: AccountId): Promise<ApiTokenInfo[]> {
    const { rows } = await this.#db.query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM identity_api_tokens WHERE account_id = $1 ORDER BY created_at, id`,
      [accountId],
    );
    return rows.map(tokenInfo);
  }

  /**
   * Revokes a token by its id — only among `owner`'s tokens when an owner is given; false if there is no
   * such unrevoked token.
   */
  async revokeApiToken(tokenId: string, owner?: AccountId): Promise<boolean> {
    if (typeof tokenId !== 'string' || !UUID.test(tokenId)) return false;
    const { rowCount } = await this.#db.query(
      `UPDATE identity_api_tokens SET revoked_at = $2
        WHERE id = $1 AND revoked_at IS NULL AND ($3::text IS NULL OR account_id = $3)`,
      [tokenId, this.now(), owner ?? null],
    );
    return rowCount === 1;
  }

  // --- administrators ------------------------------------------------------------------------------------

  /**
   * Disables an account unless it is the last enabled administrator able to operate the node — one with a
   * password (an interactive login) or a live API token (the bootstrap operator's). The check and the change
   * are one transaction holding the administrators' rows, so two administrators disabling each other at
   * the same time cannot both succeed. Returns false (and changes nothing) for the last such administrator.
   */
  async disableUnlessLastOperator(id: AccountId): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const now = this.now();
      const { rows } = await tx.query<{ id: string; operable: boolean }>(
        `SELECT a.id, (a.password_hash IS NOT NULL OR EXISTS (
                  SELECT 1 FROM identity_api_tokens t WHERE t.account_id = a.id AND t.revoked_at IS NULL
                     AND (t.expires_at IS NULL OR t.expires_at > $1))) AS operable
           FROM identity_accounts a WHERE a.role = 'admin' AND NOT a.disabled ORDER BY a.id FOR UPDATE`,
        [now],
      );
      const target = await this.#row('a.id = $1', id, tx);
      if (!target) throw new MdlError(MdlErrorCode.NotFound, 'no such account');
      if (target.role === 'admin' && !rows.some((r) => r.id !== id && r.operable)) return false;
      await tx.query('UPDATE identity_accounts SET disabled = true, updated_at = $2 WHERE id = $1', [
        id,
        now,
      ]);
      return true;
    });
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const AMR_VALUE = /^[a-z]{2,8}$/;

function checkAmr(amr: readonly string[]): string {
  if (!Array.isArray(amr) || amr.length === 0 || amr.length > 8 || !amr.every((m) => AMR_VALUE.test(m))) {
    throw bad('amr must be a list of RFC 8176 method names');
  }
  return [...new Set(amr)].join(' ');
}

function amrOf(value: string | null): string[] | null {
  return value === null ? null : value.split(' ').filter(Boolean);
}

interface TokenRow {
  id: string;
  account_id: string;
  label: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  amr: string | null;
}

const TOKEN_COLUMNS = 'id, account_id, label, created_at, expires_at, revoked_at, amr';

function tokenInfo(row: TokenRow): ApiTokenInfo {
  return {
    id: row.id,
    accountId: row.account_id as AccountId,
    label: row.label,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    amr: amrOf(row.amr),
  };
}
