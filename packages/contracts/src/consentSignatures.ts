// The patient's EIP-712 signatures ConsentManager accepts (grantConsentBySig, revokeConsentBySig), made with
// any viem account holding the patient's secp256k1 consent key — the node's custodial keys and the browser's
// self-held keys sign through these same two functions, so the two can never drift apart.

import { MdlError, MdlErrorCode } from '@medledger/core';
import { type Address, type Hex, type LocalAccount, parseSignature, signatureToCompactSignature } from 'viem';
import { type ConsentTerms, consentDomain, consentTypes } from './consent.js';

/** Where a ConsentManager is deployed: the EIP-712 domain's chain and contract. */
export interface ConsentManagerDomain {
  chainId: number;
  verifyingContract: Address;
}

/** An EIP-712 signature, whole and in the EIP-2098 compact form (r, yParity‖s) the contract's *BySig take. */
export interface ConsentSignature {
  signature: Hex;
  r: Hex;
  vs: Hex;
}

type Signer = Pick<LocalAccount, 'signTypedData'>;

function compact(signature: Hex): ConsentSignature {
  const { r, yParityAndS } = signatureToCompactSignature(parseSignature(signature));
  return { signature, r, vs: yParityAndS };
}

function checkDeadline(deadline: bigint): void {
  if (typeof deadline !== 'bigint' || deadline <= 0n || deadline >= 1n << 256n) {
    throw new MdlError(MdlErrorCode.BadInput, 'deadline must be a positive uint256 (Unix seconds)');
  }
}

/** Signs a consent grant (EIP-712 GrantConsent). The caller checks the terms name its own pseudonym. */
export async function signConsentGrant(
  signer: Signer,
  terms: ConsentTerms,
  domain: ConsentManagerDomain,
  deadline: bigint,
): Promise<ConsentSignature> {
  checkDeadline(deadline);
  return compact(
    await signer.signTypedData({
      domain: consentDomain(domain.chainId, domain.verifyingContract),
      types: consentTypes,
      primaryType: 'GrantConsent',
      message: { consent: terms, deadline },
    }),
  );
}

/** Signs the revocation of a grant by its consent id (EIP-712 RevokeConsent). */
export async function signConsentRevocation(
  signer: Signer,
  consentId: Hex,
  domain: ConsentManagerDomain,
  deadline: bigint,
): Promise<ConsentSignature> {
  if (typeof consentId !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(consentId)) {
    throw new MdlError(MdlErrorCode.BadInput, 'consent id must be 32 bytes of hex');
  }
  checkDeadline(deadline);
  return compact(
    await signer.signTypedData({
      domain: consentDomain(domain.chainId, domain.verifyingContract),
      types: consentTypes,
      primaryType: 'RevokeConsent',
      message: { consentId, deadline },
    }),
  );
}
