/**
 * A self-held patient signs a grant or its withdrawal in this browser: the key file kept here (IndexedDB) is
 * unlocked with its passphrase (scrypt, with progress), the Consent's on-chain terms are derived as the node
 * will derive them (consentTerms.ts), and the keys sign them (EIP-712, patientKeys.ts). The node relays the
 * signature; the contract accepts it only if it is the patient's. Loaded on demand with the rest of the keys.
 *
 * Revocation signs the stored grant's on-chain id (its `urn:medledger:consent-id` identifier) — the id the node
 * revokes. The node requires a nonce extension on a revocation too, where it is not used: 0.
 *
 * Limits: the keys are unlocked for one signature and wiped after (best effort); every signature costs one
 * scrypt. A key file that is not the one linked to the account is refused before anything is signed.
 */
import type { Hex } from 'viem';
import type { ConsentResource } from '../patient/consentWording';
import { consentTermsOf, grantIdOf, randomNonce } from './consentTerms';
import { loadKeyFile } from './keyStorage';
import { type ConsentManagerDomain, type OnProgress, PatientKeyFile, selfHeldSigner } from './patientKeys';

/** What GET /account/keys says about a patient's keys. */
export interface AccountKeys {
  custody: 'self' | 'custodial';
  patient: string;
  pseudonym: Hex;
  publicBundle?: string;
  consentManager: ConsentManagerDomain;
}

/** The signature, its deadline and the nonce, as the Consent's extensions carry them. */
export interface ConsentSignatureParts {
  signature: Hex;
  deadline: Date;
  nonce: bigint;
}

/** This browser keeps no key file for the account: the patient loads their saved copy first. */
export class NoKeyFileError extends Error {
  constructor() {
    super(
      'This browser does not keep your keys. Open My account and load the key file you saved when you activated your account, then sign again.',
    );
    this.name = 'NoKeyFileError';
  }
}

/** Signs `consent` with unlocked keys: a new grant, or the withdrawal of a stored one. */
export async function signWithKeys(
  keys: PatientKeyFile,
  consent: ConsentResource,
  kind: 'grant' | 'revocation',
  account: Pick<AccountKeys, 'pseudonym' | 'consentManager'>,
  options: { validForSeconds?: number; now?: () => number; nonce?: bigint } = {},
): Promise<ConsentSignatureParts> {
  if (keys.pseudonym.toLowerCase() !== account.pseudonym.toLowerCase()) {
    throw new Error(
      'The key file in this browser is not the one linked to your account. Open My account and load the key file you saved when you activated it.',
    );
  }
  const signer = selfHeldSigner(keys, account.consentManager, {
    ...(options.validForSeconds ? { validForSeconds: options.validForSeconds } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  if (kind === 'revocation') {
    const signed = await signer.revoke(grantIdOf(consent));
    return { signature: signed.signature, deadline: new Date(Number(signed.deadline) * 1000), nonce: 0n };
  }
  const nonce = options.nonce ?? randomNonce();
  const terms = consentTermsOf(consent, {
    pseudonym: account.pseudonym,
    nonce,
    ...(options.now ? { now: Math.floor(options.now() / 1000) } : {}),
  });
  const signed = await signer.sign(terms);
  return { signature: signed.signature, deadline: new Date(Number(signed.deadline) * 1000), nonce };
}

/**
 * Unlocks the key file this browser keeps for `accountId` with `passphrase` (progress: the share of scrypt
 * done) and signs `consent`. NoKeyFileError when there is none; KeyFileError for a wrong passphrase.
 */
export async function signWithKeyFile(request: {
  accountId: string;
  passphrase: string;
  consent: ConsentResource;
  kind: 'grant' | 'revocation';
  account: AccountKeys;
  onProgress?: OnProgress;
}): Promise<ConsentSignatureParts> {
  const stored = await loadKeyFile(request.accountId);
  if (!stored) throw new NoKeyFileError();
  request.onProgress?.(0);
  const keys = await PatientKeyFile.unlock(stored.sealed, request.passphrase, {
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
  });
  try {
    return await signWithKeys(keys, request.consent, request.kind, request.account);
  } finally {
    keys.destroy();
  }
}
