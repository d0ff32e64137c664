/**
 * Small shared shapes of the prescriptions module: the prescriber's table row (rx_prescriptions), hex and byte
 * conversions of on-chain ids, and the one-time token format the patient hands to a pharmacy
 * (`mdlrx1.<prescription id>.<32 random bytes>`, all lower-case hex; the node keeps only SHA-256 of the secret).
 */
import { bytesToHex, hexToBytes, sha256 } from '@medledger/crypto';
import type { Hex } from 'viem';

export interface PrescriptionRow {
  prescription_id: Uint8Array;
  record_id: string;
  patient_fhir_id: string;
  salt: Uint8Array;
  canonical_hash: Uint8Array;
  supply_seconds: string | number | null;
  routed_to: string | number | null;
  cancelled_at: string | number | null;
}

export const hexOf = (b: Uint8Array) => `0x${bytesToHex(b)}` as Hex;
export const bytes32 = (h: string) => hexToBytes(h.replace(/^0x/, ''));

/** A token as the patient hands it over: the prescription id and 32 random bytes, one string for a QR code. */
export function formatToken(prescription: Hex, secret: string): string {
  return `mdlrx1.${prescription.slice(2)}.${secret}`;
}

export function parseToken(token: unknown): { prescription: Hex; secret: string } | undefined {
  if (typeof token !== 'string') return undefined;
  const m = /^mdlrx1\.([0-9a-f]{64})\.([0-9a-f]{64})$/.exec(token);
  return m ? { prescription: `0x${m[1]}` as Hex, secret: m[2]! } : undefined;
}

export const tokenHash = (secret: string) => sha256(hexToBytes(secret));
