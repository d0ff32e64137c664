/**
 * WebAuthn second factor over @simplewebauthn/server: registration and authentication ceremonies, with the
 * credential store and single-use, expiring challenges in the identity tables.
 *
 * - A challenge is stored with its subject (the account for registration, the username's keyed hash for
 *   authentication) and taken with one DELETE … RETURNING, so it is used at most once even with several node
 *   processes, and never after its expiry (default 5 minutes).
 * - A signature counter that does not increase is refused (the library checks against the stored value; a
 *   conditional UPDATE closes the race between two concurrent uses of one assertion). Authenticators that
 *   always report 0 (most passkeys) get replay protection from the single-use challenge alone.
 * - Authentication options for an unknown username, or an account without credentials, list a decoy
 *   credential id derived from the username's keyed hash: the same answer every time, so the options do not
 *   reveal whether the account exists or has a key.
 *
 * Limits: attestation is 'none' (no authenticator model policy, no metadata service); ES256, EdDSA and RS256
 * keys are accepted. Every refusal is MDL_INVALID_CREDENTIAL without saying which check failed.
 */

import { createHash } from 'node:crypto';
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { Db } from '@medledger/storage';
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { AccountId, AccountStore } from './AccountStore.js';

export interface WebAuthnConfig {
  /** The relying party id: the node's registrable domain (e.g. "node.hospital.example"). */
  rpID: string;
  /** Shown by the authenticator. */
  rpName: string;
  /** Origins the browser may report (e.g. "https://node.hospital.example"). */
  origins: readonly string[];
  /** How long a challenge stays usable; default 5 minutes. */
  challengeTtlMs?: number;
  /**
   * 'required' makes the authenticator verify the user (PIN, biometrics); the default 'preferred' accepts a
   * user-present touch, which is enough for a second factor after the password.
   */
  userVerification?: 'required' | 'preferred' | 'discouraged';
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number;
}

export interface WebAuthnCredentialInfo {
  /** Credential id, base64url. */
  id: string;
  accountId: AccountId;
  counter: number;
  transports: AuthenticatorTransport[];
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}

interface CredentialRow {
  id: string;
  account_id: string;
  public_key: Uint8Array;
  counter: number;
  transports: string;
  device_type: string;
  backed_up: boolean;
  created_at: Date;
  last_used_at: Date | null;
}

const DEFAULT_TTL_MS = 5 * 60_000;
const ALL_TRANSPORTS: AuthenticatorTransport[] = ['ble', 'hybrid', 'internal', 'nfc', 'usb'];

function refused(): MdlError {
  return new MdlError(MdlErrorCode.InvalidCredential, 'WebAuthn response refused');
}

function parseTransports(text: string): AuthenticatorTransport[] {
  return text ? (text.split(',') as AuthenticatorTransport[]) : [];
}

function info(row: CredentialRow): WebAuthnCredentialInfo {
  return {
    id: row.id,
    accountId: row.account_id as AccountId,
    counter: Number(row.counter),
    transports: parseTransports(row.transports),
    deviceType: row.device_type === 'multiDevice' ? 'multiDevice' : 'singleDevice',
    backedUp: row.backed_up,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

export class WebAuthnService {
  readonly #db: Db;
  readonly #store: AccountStore;
  readonly #config: Required<Omit<WebAuthnConfig, 'origins'>> & { origins: string[] };

  constructor(store: AccountStore, config: WebAuthnConfig) {
    if (!config.rpID || !config.rpName || config.origins.length === 0) {
      throw new MdlError(MdlErrorCode.Config, 'WebAuthn needs an rpID, an rpName and at least one origin');
    }
    this.#db = store.db;
    this.#store = store;
    this.#config = {
      rpID: config.rpID,
      rpName: config.rpName,
      origins: [...config.origins],
      challengeTtlMs: config.challengeTtlMs ?? DEFAULT_TTL_MS,
      userVerification: config.userVerification ?? 'preferred',
      clock: config.clock ?? Date.now,
    };
  }

  async #putChallenge(challenge: string, subject: string, purpose: 'registration' | 'authentication') {
    const now = this.#config.clock();
    await this.#db.query('DELETE FROM identity_webauthn_challenges WHERE expires_at <= $1', [new Date(now)]);
    await this.#db.query(
      'INSERT INTO identity_webauthn_challenges (challenge, subject, purpose, expires_at) VALUES ($1, $2, $3, $4)',
      [challenge, subject, purpose, new Date(now + this.#config.challengeTtlMs)],
    );
  }

  /** Consumes a challenge: true once, for its subject and purpose, before it expires. */
  async #takeChallenge(challenge: string, subject: string, purpose: 'registration' | 'authentication') {
    if (typeof challenge !== 'string' || challenge.length > 256) return false;
    const { rows } = await this.#db.query<{ expires_at: Date }>(
      `DELETE FROM identity_webauthn_challenges WHERE challenge = $1 AND subject = $2 AND purpose = $3
        RETURNING expires_at`,
      [challenge, subject, purpose],
    );
    return rows.length === 1 && rows[0]!.expires_at.getTime() > this.#config.clock();
  }

  async #rows(accountId: string): Promise<CredentialRow[]> {
    const { rows } = await this.#db.query<CredentialRow>(
      'SELECT * FROM identity_webauthn_credentials WHERE account_id = $1 ORDER BY created_at, id',
      [accountId],
    );
    return rows;
  }

  async credentials(accountId: AccountId): Promise<WebAuthnCredentialInfo[]> {
    return (await this.#rows(accountId)).map(info);
  }

  async removeCredential(accountId: AccountId, credentialId: string): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      'DELETE FROM identity_webauthn_credentials WHERE account_id = $1 AND id = $2',
      [accountId, credentialId],
    );
    return rowCount === 1;
  }

  /** Options for navigator.credentials.create(); the challenge is stored for this account. */
  async registrationOptions(accountId: AccountId): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const account = await this.#store.getAccount(accountId);
    if (!account || account.disabled) throw new MdlError(MdlErrorCode.NotFound, 'no such account');
    const existing = await this.#rows(accountId);
    const options = await generateRegistrationOptions({
      rpName: this.#config.rpName,
      rpID: this.#config.rpID,
      userName: account.username,
      userDisplayName: account.displayName,
      userID: new TextEncoder().encode(account.id),
      attestationType: 'none',
      timeout: this.#config.challengeTtlMs,
      excludeCredentials: existing.map((c) => ({ id: c.id, transports: parseTransports(c.transports) })),
      authenticatorSelection: { residentKey: 'discouraged', userVerification: this.#config.userVerification },
    });
    await this.#putChallenge(options.challenge, accountId, 'registration');
    return options;
  }

  /** Verifies navigator.credentials.create()'s response and stores the credential. */
  async verifyRegistration(
    accountId: AccountId,
    response: RegistrationResponseJSON,
  ): Promise<WebAuthnCredentialInfo> {
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: (challenge) => this.#takeChallenge(challenge, accountId, 'registration'),
        expectedOrigin: this.#config.origins,
        expectedRPID: this.#config.rpID,
        requireUserVerification: this.#config.userVerification === 'required',
      });
    } catch {
      throw refused();
    }
    if (!verified.verified) throw refused();
    // The account may have been disabled since the options were issued.
    const account = await this.#store.getAccount(accountId);
    if (!account || account.disabled) throw refused();
    const { credential, credentialDeviceType, credentialBackedUp } = verified.registrationInfo;
    const transports = (response.response.transports ?? []).filter((t): t is AuthenticatorTransport =>
      (ALL_TRANSPORTS as readonly string[]).includes(t),
    );
    const now = new Date(this.#config.clock());
    const { rowCount } = await this.#db.query(
      `INSERT INTO identity_webauthn_credentials
         (id, account_id, public_key, counter, transports, device_type, backed_up, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
      [
        credential.id,
        accountId,
        credential.publicKey,
        credential.counter,
        transports.join(','),
        credentialDeviceType,
        credentialBackedUp,
        now,
      ],
    );
    if (rowCount !== 1) throw new MdlError(MdlErrorCode.Conflict, 'this credential is already registered');
    const row = (await this.#rows(accountId)).find((r) => r.id === credential.id)!;
    return info(row);
  }

  #decoyId(subject: string): string {
    return createHash('sha256').update(`medledger/webauthn-decoy/v1|${subject}`).digest('base64url');
  }

  /**
   * Options for navigator.credentials.get() when `username` logs in. Unknown usernames and accounts without
   * a credential get a stable decoy, so the answer reveals nothing about the account.
   */
  async authenticationOptions(username: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const subject = Buffer.from(this.#store.usernameIndex(username)).toString('base64url');
    const account = await this.#store.findByUsername(username);
    const rows = account && !account.disabled ? await this.#rows(account.id) : [];
    const allowCredentials =
      rows.length > 0
        ? rows.map((c) => ({ id: c.id, transports: parseTransports(c.transports) }))
        : [{ id: this.#decoyId(subject), transports: ALL_TRANSPORTS }];
    const options = await generateAuthenticationOptions({
      rpID: this.#config.rpID,
      allowCredentials,
      timeout: this.#config.challengeTtlMs,
      userVerification: this.#config.userVerification,
    });
    await this.#putChallenge(options.challenge, subject, 'authentication');
    return options;
  }

  /**
   * Verifies navigator.credentials.get()'s response for `username`: the challenge issued for that username,
   * a credential of that account, a valid signature and an increasing counter. Returns the account id;
   * throws MDL_INVALID_CREDENTIAL otherwise.
   */
  async verifyAuthentication(username: string, response: AuthenticationResponseJSON): Promise<AccountId> {
    const subject = Buffer.from(this.#store.usernameIndex(username)).toString('base64url');
    const account = await this.#store.findByUsername(username);
    const credentialId = typeof response?.id === 'string' ? response.id : '';
    const row = account ? (await this.#rows(account.id)).find((r) => r.id === credentialId) : undefined;
    let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: (challenge) => this.#takeChallenge(challenge, subject, 'authentication'),
        expectedOrigin: this.#config.origins,
        expectedRPID: this.#config.rpID,
        credential: row
          ? { id: row.id, publicKey: Uint8Array.from(row.public_key), counter: Number(row.counter) }
          : // Unknown credential: still consume the challenge, then fail on a key that verifies nothing.
            { id: credentialId, publicKey: new Uint8Array(0), counter: 0 },
        requireUserVerification: this.#config.userVerification === 'required',
      });
    } catch {
      throw refused();
    }
    if (!verified.verified || !row || !account || account.disabled) throw refused();
    const next = verified.authenticationInfo.newCounter;
    // Conditional on the counter still being below the new value: two concurrent uses cannot both pass.
    const { rowCount } = await this.#db.query(
      `UPDATE identity_webauthn_credentials SET counter = $2, last_used_at = $3, backed_up = $4
        WHERE id = $1 AND (counter < $2 OR (counter = 0 AND $2 = 0))`,
      [row.id, next, new Date(this.#config.clock()), verified.authenticationInfo.credentialBackedUp],
    );
    if (rowCount !== 1) throw refused();
    return account.id;
  }
}
