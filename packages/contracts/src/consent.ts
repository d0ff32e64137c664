// The consent vocabulary shared with the contracts: bit positions, the EIP-712 types a patient signs, the
// pseudonym derivation and the consent id. Mirrors ConsentManager.sol; the integration tests hold the two
// together (ids and pseudonyms computed here must equal the contract's).

import { DataCategory } from '@medledger/core';
import { type Address, encodeAbiParameters, getAddress, type Hex, hashStruct, keccak256, toHex } from 'viem';

/** Bit positions of Consent.actions (FHIR Consent.provision.action). */
export const Action = { Read: 0, Write: 1 } as const;
export type Action = (typeof Action)[keyof typeof Action];

/**
 * Bit positions of Consent.resourceClasses: the data categories of @medledger/core, which also number the
 * category byte of record envelopes — one vocabulary from the contract to the ciphertext.
 */
export const ResourceClass = DataCategory;
export type ResourceClass = DataCategory;

/** Bit positions of Consent.purposes (v3 PurposeOfUse TREAT, HPAYMT, HOPERAT, HRESCH, ETREAT). */
export const Purpose = { Treatment: 0, Payment: 1, Operations: 2, Research: 3, Emergency: 4 } as const;
export type Purpose = (typeof Purpose)[keyof typeof Purpose];

export const ACTION_COUNT = 2;
export const RESOURCE_CLASS_COUNT = 12;
export const PURPOSE_COUNT = 5;

/** A bitmask with the given bit positions set. */
export function mask(...bits: readonly number[]): number {
  return bits.reduce((m, b) => m | (1 << b), 0);
}

/** The terms of a grant, as the contract's `Consent` struct. */
export interface ConsentTerms {
  patient: Hex;
  grantee: number;
  granteeMember: Address;
  actions: number;
  resourceClasses: number;
  purposes: number;
  validFrom: number;
  validUntil: number;
  dataFrom: number;
  dataUntil: number;
  nonce: bigint;
}

/** EIP-712 types of the messages a patient signs. */
export const consentTypes = {
  Consent: [
    { name: 'patient', type: 'bytes32' },
    { name: 'grantee', type: 'uint32' },
    { name: 'granteeMember', type: 'address' },
    { name: 'actions', type: 'uint8' },
    { name: 'resourceClasses', type: 'uint16' },
    { name: 'purposes', type: 'uint8' },
    { name: 'validFrom', type: 'uint40' },
    { name: 'validUntil', type: 'uint40' },
    { name: 'dataFrom', type: 'uint40' },
    { name: 'dataUntil', type: 'uint40' },
    { name: 'nonce', type: 'uint64' },
  ],
  GrantConsent: [
    { name: 'consent', type: 'Consent' },
    { name: 'deadline', type: 'uint256' },
  ],
  RevokeConsent: [
    { name: 'consentId', type: 'bytes32' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** The EIP-712 domain of a ConsentManager deployment. */
export function consentDomain(chainId: number, verifyingContract: Address) {
  return { name: 'medledger ConsentManager', version: '1', chainId, verifyingContract } as const;
}

const PSEUDONYM_DOMAIN = keccak256(toHex('medledger.patient-pseudonym.v1'));

/** The on-chain pseudonym controlled by a patient's signing address (ConsentManager.pseudonymOf). */
export function patientPseudonymOf(patientAccount: Address): Hex {
  return keccak256(
    encodeAbiParameters([{ type: 'bytes32' }, { type: 'address' }], [PSEUDONYM_DOMAIN, patientAccount]),
  );
}

/** A grant as the contract takes it: the terms packed into two words (layouts in types/ConsentTerms.sol). */
export interface PackedConsent {
  patient: Hex;
  scope: bigint;
  period: bigint;
}

const U40 = (1n << 40n) - 1n;

export function packConsent(terms: ConsentTerms): PackedConsent {
  const scope =
    BigInt(terms.grantee) |
    (BigInt(terms.granteeMember) << 32n) |
    (BigInt(terms.actions) << 192n) |
    (BigInt(terms.resourceClasses) << 200n) |
    (BigInt(terms.purposes) << 216n);
  const period =
    BigInt(terms.validFrom) |
    (BigInt(terms.validUntil) << 40n) |
    (BigInt(terms.dataFrom) << 80n) |
    (BigInt(terms.dataUntil) << 120n) |
    (terms.nonce << 160n);
  return { patient: terms.patient, scope, period };
}

export function unpackConsent(packed: PackedConsent): ConsentTerms {
  const { scope, period } = packed;
  return {
    patient: packed.patient,
    grantee: Number(scope & 0xffffffffn),
    granteeMember: getAddress(`0x${((scope >> 32n) & ((1n << 160n) - 1n)).toString(16).padStart(40, '0')}`),
    actions: Number((scope >> 192n) & 0xffn),
    resourceClasses: Number((scope >> 200n) & 0xffffn),
    purposes: Number((scope >> 216n) & 0xffn),
    validFrom: Number(period & U40),
    validUntil: Number((period >> 40n) & U40),
    dataFrom: Number((period >> 80n) & U40),
    dataUntil: Number((period >> 120n) & U40),
    nonce: (period >> 160n) & ((1n << 64n) - 1n),
  };
}

/** A grant's id: the EIP-712 struct hash of its terms (ConsentManager.consentIdOf). */
export function consentIdOf(terms: ConsentTerms): Hex {
  return hashStruct({ data: terms, primaryType: 'Consent', types: consentTypes });
}
