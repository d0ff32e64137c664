/**
 * A patient's keys: a crypto key bundle (X-Wing to receive wrapped category keys, composite ML-DSA-65 +
 * Ed25519 to sign) and a secp256k1 account whose EIP-712 signatures ConsentManager accepts for consent grants
 * and revocations. The patient's on-chain pseudonym is patientPseudonymOf(that account's address).
 *
 * Custodial by default: everything is sealed in one crypto Keystore file (docs/spec/keystore.md — scrypt from
 * the patient's passphrase, committing AES-256-GCM), the secp256k1 key as its named secret "consent-account".
 * The node stores that file; it is also exactly what the patient downloads to hold their keys themselves, and
 * it opens only with the passphrase. The passphrase is meant to be the patient's credential (their login
 * password), so the node can open the keys only while the patient is present and typing it.
 *
 * Opening runs the Keystore's scrypt (about a quarter second at the default cost) on the libuv pool, inside the
 * same concurrency bound as password checks (passwords.ts), never on the event loop: a burst of passphrase
 * guesses must not stall the node. Throttling those guesses is the caller's job (the node counts them in its
 * LoginThrottle). Creating and re-sealing stay synchronous (done rarely, by the owner).
 *
 * Limits: a forgotten passphrase loses the
 * keys (and with them the pseudonym's consents); keep a second copy under a recovery code if that matters
 * (`changePassphrase` on a second opened copy). Wiping secrets is best effort (see docs/crypto.md).
 */

import {
  type ConsentManagerDomain,
  type ConsentSignature,
  type ConsentTerms,
  patientPseudonymOf,
  signConsentGrant,
  signConsentRevocation,
} from '@medledger/contracts';

export type { ConsentManagerDomain, ConsentSignature };

import { MdlError, MdlErrorCode } from '@medledger/core';
import { type KeyBundle, Keystore, type PublicKeyBundle, type ScryptParams } from '@medledger/crypto';
import { type Address, bytesToHex, type Hex } from 'viem';
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { boundedScrypt } from './passwords.js';

/** Longer passphrases are refused before any KDF work (the login form allows 1,024 characters). */
const MAX_PASSPHRASE_BYTES = 4096;

/** The keystore secret that holds the patient's secp256k1 consent key. */
export const CONSENT_ACCOUNT_SECRET = 'consent-account';

/** A patient's opened keys. Call `destroy()` when done. */
export class PatientKeys {
  #keystore: Keystore;
  #account: PrivateKeyAccount;
  #sealed: string;
  readonly address: Address;
  readonly pseudonym: Hex;

  private constructor(keystore: Keystore, sealed: string) {
    if (!keystore.secretNames().includes(CONSENT_ACCOUNT_SECRET)) {
      keystore.destroy();
      throw new MdlError(MdlErrorCode.KeystoreCorrupt, 'not a patient key file');
    }
    const secret = keystore.secret(CONSENT_ACCOUNT_SECRET);
    this.#account = privateKeyToAccount(bytesToHex(secret));
    secret.fill(0);
    this.#keystore = keystore;
    this.#sealed = sealed;
    this.address = this.#account.address;
    this.pseudonym = patientPseudonymOf(this.address);
  }

  /** New keys sealed under `passphrase` (at least 12 characters). */
  static create(passphrase: string, options: { scrypt?: ScryptParams; now?: number } = {}): PatientKeys {
    const keystore = Keystore.create(passphrase, options);
    // A random 32-byte value is a valid secp256k1 key except with probability ~2^-128.
    keystore.secret(CONSENT_ACCOUNT_SECRET);
    return new PatientKeys(keystore, keystore.serialize());
  }

  /**
   * Opens a sealed key file. MDL_KEYSTORE_WRONG_PASSPHRASE for a wrong passphrase, MDL_KEYSTORE_CORRUPT for a
   * damaged file or one that holds no consent key.
   */
  static async open(sealed: string, passphrase: string): Promise<PatientKeys> {
    if (typeof passphrase !== 'string' || Buffer.byteLength(passphrase) > MAX_PASSPHRASE_BYTES) {
      throw new MdlError(MdlErrorCode.KeystoreWrongPassphrase, 'wrong keystore passphrase');
    }
    return new PatientKeys(await Keystore.openAsync(sealed, passphrase, boundedScrypt), sealed);
  }

  /** The sealed key file: what the node stores and the patient downloads. */
  get sealed(): string {
    return this.#sealed;
  }

  /** The public bundle (publish it so category keys can be wrapped to the patient). */
  get publicBundle(): PublicKeyBundle {
    return this.#keystore.exportPublicBundle();
  }

  /** The key bundle, for unwrapping the patient's category keys. */
  keyBundle(): KeyBundle {
    return this.#keystore.active();
  }

  /** Signs a consent grant (EIP-712 GrantConsent) for ConsentManager.grantConsentBySig. */
  async signConsent(
    terms: ConsentTerms,
    domain: ConsentManagerDomain,
    deadline: bigint,
  ): Promise<ConsentSignature> {
    if (typeof terms?.patient !== 'string' || terms.patient.toLowerCase() !== this.pseudonym.toLowerCase()) {
      throw new MdlError(MdlErrorCode.BadInput, "consent terms name another patient's pseudonym");
    }
    return signConsentGrant(this.#account, terms, domain, deadline);
  }

  /** Signs a revocation (EIP-712 RevokeConsent) for ConsentManager.revokeConsentBySig. */
  async signRevocation(
    consentId: Hex,
    domain: ConsentManagerDomain,
    deadline: bigint,
  ): Promise<ConsentSignature> {
    return signConsentRevocation(this.#account, consentId, domain, deadline);
  }

  /**
   * Re-seals the same keys under a new passphrase (fresh salt; the current scrypt cost unless another is
   * given) and returns the new sealed file.
   */
  changePassphrase(newPassphrase: string, scrypt?: ScryptParams): string {
    if (scrypt) this.#keystore.changePassphrase(newPassphrase, scrypt);
    else this.#keystore.changePassphrase(newPassphrase);
    this.#sealed = this.#keystore.serialize();
    return this.#sealed;
  }

  destroy(): void {
    this.#keystore.destroy();
  }
}

/** New patient keys sealed under `passphrase`. */
export function createPatientKeys(
  passphrase: string,
  options: { scrypt?: ScryptParams; now?: number } = {},
): PatientKeys {
  return PatientKeys.create(passphrase, options);
}

/** Opens a sealed patient key file with its passphrase (the KDF off the event loop). */
export function openPatientKeys(sealed: string, passphrase: string): Promise<PatientKeys> {
  return PatientKeys.open(sealed, passphrase);
}
