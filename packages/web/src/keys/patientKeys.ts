/**
 * The patient's own keys in the browser (self-held custody): the same key file the node would keep for a
 * custodial patient (identity's patientKeys.ts) — a @medledger/crypto Keystore (docs/spec/keystore.md: scrypt
 * from the passphrase, committing AES-256-GCM) holding the patient's key bundle (X-Wing to receive wrapped
 * category keys, composite ML-DSA-65 + Ed25519) and the secp256k1 consent key as the named secret
 * "consent-account", whose address gives the on-chain pseudonym. A file made here opens in identity's
 * `openPatientKeys` and the other way round.
 *
 * scrypt runs through @noble/hashes' scryptAsync, which yields to the page and reports progress, so the
 * screens can show a determinate bar. Consent signatures are EIP-712 (viem, the same typed data as the
 * contracts package and identity): what ConsentManager.grantConsentBySig / revokeConsentBySig accept.
 *
 * Limits: secrets live in JavaScript memory while unlocked (wiping is best effort); the page's strict CSP is
 * what keeps other script away from them. A forgotten passphrase loses the keys — hence the saved copy.
 */
import {
  type ConsentManagerDomain,
  type ConsentSignature,
  type ConsentTerms,
  patientPseudonymOf,
  signConsentGrant,
  signConsentRevocation,
} from '@medledger/contracts/consent';

export type { ConsentManagerDomain, ConsentSignature };

import {
  type AsyncScrypt,
  bytesToBase64url,
  bytesToHex,
  DEFAULT_SCRYPT,
  type KeyBundle,
  Keystore,
  type ScryptParams,
} from '@medledger/crypto';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import type { Address, Hex } from 'viem';
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';

/** The keystore secret that holds the patient's secp256k1 consent key (as in identity's patientKeys.ts). */
export const CONSENT_ACCOUNT_SECRET = 'consent-account';

/** Called with the share of the key derivation done (0…1). */
export type OnProgress = (share: number) => void;

export interface KeyFileOptions {
  onProgress?: OnProgress;
  /** scrypt cost (default DEFAULT_SCRYPT, 2^17); tests use the format's floor. */
  scrypt?: ScryptParams;
}

/** Why a key file did not open, in words for the person. */
export class KeyFileError extends Error {
  constructor(
    readonly reason: 'wrong-passphrase' | 'damaged' | 'not-patient-keys',
    message: string,
  ) {
    super(message);
    this.name = 'KeyFileError';
  }
}

const progressScrypt =
  (onProgress?: OnProgress): AsyncScrypt =>
  (password, salt, params) =>
    scryptAsync(password, salt, { ...params, asyncTick: 25, ...(onProgress ? { onProgress } : {}) });

/** A patient's unlocked keys. Call `destroy()` when done. */
export class PatientKeyFile {
  #keystore: Keystore;
  #account: PrivateKeyAccount;
  #sealed: string;
  readonly address: Address;
  readonly pseudonym: Hex;

  private constructor(keystore: Keystore, sealed: string) {
    if (!keystore.secretNames().includes(CONSENT_ACCOUNT_SECRET)) {
      keystore.destroy();
      throw new KeyFileError('not-patient-keys', 'This key file holds no patient consent key.');
    }
    const secret = keystore.secret(CONSENT_ACCOUNT_SECRET);
    this.#account = privateKeyToAccount(`0x${bytesToHex(secret)}`);
    secret.fill(0);
    this.#keystore = keystore;
    this.#sealed = sealed;
    this.address = this.#account.address;
    this.pseudonym = patientPseudonymOf(this.address);
  }

  /** New keys generated in this browser, sealed under `passphrase` (at least 12 characters). */
  static async create(passphrase: string, options: KeyFileOptions = {}): Promise<PatientKeyFile> {
    const keystore = await Keystore.createAsync(passphrase, progressScrypt(options.onProgress), {
      scrypt: options.scrypt ?? DEFAULT_SCRYPT,
    });
    // A random 32-byte value is a valid secp256k1 key except with probability ~2^-128.
    keystore.secret(CONSENT_ACCOUNT_SECRET);
    return new PatientKeyFile(keystore, keystore.serialize());
  }

  /**
   * Opens a sealed key file with its passphrase. KeyFileError 'wrong-passphrase', 'damaged' (not a key file,
   * or altered: the AEAD refuses it) or 'not-patient-keys'.
   */
  static async unlock(
    sealed: string,
    passphrase: string,
    options: KeyFileOptions = {},
  ): Promise<PatientKeyFile> {
    let keystore: Keystore;
    try {
      keystore = await Keystore.openAsync(sealed, passphrase, progressScrypt(options.onProgress));
    } catch (error) {
      const code = (error as { code?: unknown })?.code;
      if (code === 'MDL_KEYSTORE_WRONG_PASSPHRASE') {
        throw new KeyFileError('wrong-passphrase', 'That passphrase does not open this key file. Try again.');
      }
      throw new KeyFileError(
        'damaged',
        'This is not a medledger key file, or it was changed since it was saved. Use another copy.',
      );
    }
    return new PatientKeyFile(keystore, sealed);
  }

  /** The sealed key file (what is saved in this browser and downloaded). */
  get sealed(): string {
    return this.#sealed;
  }

  /** The public key bundle's encoding, base64url: what the node is given to wrap keys to the patient. */
  get publicBundle(): string {
    return bytesToBase64url(this.#keystore.exportPublicBundle().encoded);
  }

  /** The active key bundle (unwrapping the patient's category keys). */
  keyBundle(): KeyBundle {
    return this.#keystore.active();
  }

  /** Every key bundle held, active or retired (older uploads may be wrapped to a retired one). */
  keyBundleById(keyId: string): KeyBundle {
    return this.#keystore.get(keyId);
  }

  /** Signs a consent grant (EIP-712 GrantConsent) for ConsentManager.grantConsentBySig. */
  async signConsentTerms(
    terms: ConsentTerms,
    domain: ConsentManagerDomain,
    deadline: bigint,
  ): Promise<ConsentSignature> {
    if (typeof terms?.patient !== 'string' || terms.patient.toLowerCase() !== this.pseudonym.toLowerCase()) {
      throw new RangeError("These consent terms name another patient's pseudonym.");
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

  /** Re-seals the same keys under a new passphrase; returns the new file (and keeps it as `sealed`). */
  changePassphrase(passphrase: string): string {
    this.#keystore.changePassphrase(passphrase);
    this.#sealed = this.#keystore.serialize();
    return this.#sealed;
  }

  destroy(): void {
    this.#keystore.destroy();
  }
}

/** `keys.signConsentTerms` as a function: the EIP-712 grant signature ConsentManager accepts. */
export function signConsentTerms(
  keys: PatientKeyFile,
  terms: ConsentTerms,
  domain: ConsentManagerDomain,
  deadline: bigint,
): Promise<ConsentSignature> {
  return keys.signConsentTerms(terms, domain, deadline);
}

/** A signature with the deadline it was made for (send both: the SIGNATURE and DEADLINE extensions). */
export interface SignedConsent extends ConsentSignature {
  deadline: bigint;
}

/**
 * What the consent screens sign with, whoever holds the keys. `sign(terms)` signs a grant whose
 * `terms.patient` is `pseudonym`; `revoke(consentId)` a revocation. Each answer carries its deadline.
 */
export interface ConsentSigner {
  readonly address: Address;
  readonly pseudonym: Hex;
  sign(terms: ConsentTerms): Promise<SignedConsent>;
  revoke(consentId: Hex): Promise<SignedConsent>;
}

/**
 * A ConsentSigner over keys held in this browser, for one ConsentManager deployment; each signature is valid
 * for `validForSeconds` (default an hour) from the moment it is made.
 */
export function selfHeldSigner(
  keys: PatientKeyFile,
  domain: ConsentManagerDomain,
  options: { validForSeconds?: number; now?: () => number } = {},
): ConsentSigner {
  const validFor = BigInt(options.validForSeconds ?? 3600);
  const now = options.now ?? Date.now;
  const deadline = () => BigInt(Math.floor(now() / 1000)) + validFor;
  return {
    address: keys.address,
    pseudonym: keys.pseudonym,
    async sign(terms) {
      const at = deadline();
      return { ...(await keys.signConsentTerms(terms, domain, at)), deadline: at };
    },
    async revoke(consentId) {
      const at = deadline();
      return { ...(await keys.signRevocation(consentId, domain, at)), deadline: at };
    },
  };
}
