// Patients for tests: fresh random keys (never committed), their pseudonyms, and signed consent messages.

import { type Address, type Hex, parseSignature, signatureToCompactSignature, zeroAddress } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import {
  Action,
  type ConsentTerms,
  consentDomain,
  consentTypes,
  mask,
  Purpose,
  patientPseudonymOf,
  ResourceClass,
} from '../../src/index.js';

export interface Patient {
  account: PrivateKeyAccount;
  pseudonym: Hex;
}

export function newPatient(): Patient {
  const account = privateKeyToAccount(generatePrivateKey());
  return { account, pseudonym: patientPseudonymOf(account.address) };
}

export function terms(patient: Patient, now: number, overrides: Partial<ConsentTerms> = {}): ConsentTerms {
  return {
    patient: patient.pseudonym,
    grantee: 2,
    granteeMember: zeroAddress,
    actions: mask(Action.Read),
    resourceClasses: mask(ResourceClass.Observations, ResourceClass.Medications),
    purposes: mask(Purpose.Treatment),
    validFrom: now,
    validUntil: now + 30 * 24 * 3600,
    dataFrom: 0,
    dataUntil: 0,
    nonce: 1n,
    ...overrides,
  };
}

export interface CompactSignature {
  r: Hex;
  vs: Hex;
}

function compact(signature: Hex): CompactSignature {
  const { r, yParityAndS } = signatureToCompactSignature(parseSignature(signature));
  return { r, vs: yParityAndS };
}

export async function signGrant(
  signer: PrivateKeyAccount,
  chainId: number,
  consentManager: Address,
  consent: ConsentTerms,
  deadline: bigint,
): Promise<CompactSignature> {
  return compact(
    await signer.signTypedData({
      domain: consentDomain(chainId, consentManager),
      types: consentTypes,
      primaryType: 'GrantConsent',
      message: { consent, deadline },
    }),
  );
}

export async function signRevoke(
  signer: PrivateKeyAccount,
  chainId: number,
  consentManager: Address,
  consentId: Hex,
  deadline: bigint,
): Promise<CompactSignature> {
  return compact(
    await signer.signTypedData({
      domain: consentDomain(chainId, consentManager),
      types: consentTypes,
      primaryType: 'RevokeConsent',
      message: { consentId, deadline },
    }),
  );
}
