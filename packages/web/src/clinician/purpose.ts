/**
 * The purpose of use each role asserts on every read and write (the `X-Purpose-Of-Use` header, v3 PurposeOfUse
 * codes): consent grants name purposes, and the node decides with the one asserted. Clinicians read to treat;
 * a break-glass session opens reads whatever purpose they name, so they keep TREAT under it too.
 */
import type { Role } from '../api/account';

export type PurposeCode = 'TREAT' | 'HPAYMT' | 'HOPERAT' | 'HRESCH' | 'ETREAT';

export function purposeFor(role: Role): PurposeCode {
  switch (role) {
    case 'insurer':
      return 'HPAYMT';
    case 'researcher':
      return 'HRESCH';
    case 'auditor':
      return 'HOPERAT';
    default:
      return 'TREAT';
  }
}

export const PURPOSE_WORDS: Record<PurposeCode, string> = {
  TREAT: 'treatment',
  HPAYMT: 'payment',
  HOPERAT: 'operations',
  HRESCH: 'research',
  ETREAT: 'emergency treatment',
};

export function purposeHeaders(role: Role): Record<string, string> {
  return { 'X-Purpose-Of-Use': purposeFor(role) };
}
