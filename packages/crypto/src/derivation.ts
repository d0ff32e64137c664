/**
 * Keyed derivations, each with its own domain-separation label so no output of one can be mistaken for, or
 * replayed as, another:
 * - `deriveSubkey`: HKDF-SHA256 from a node's master secret to purpose-specific keys;
 * - `derivePatientPseudonym`: patient identifier → the bytes32 the ledger knows the patient by. Without the
 *   pseudonym key the mapping can be neither inverted nor tested by guessing identifiers (unlike a plain hash
 *   of a medical record number, which is easily brute-forced);
 * - `blindIndexToken`: search token → keyed hash stored in the index database instead of plaintext PHI.
 *   Tokens are truncated to 128 bits: enough to make collisions negligible for lookups, and the node
 *   re-checks every match after decryption anyway.
 */

import type { Brand } from '@medledger/core';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { bytesToBase64url, bytesToHex, concatBytes, i2osp, utf8ToBytes } from './bytes.js';
import { hkdf, hmacSha256 } from './hash.js';

/** 0x-prefixed 32-byte hex, ready to be a Solidity bytes32. */
export type PatientPseudonym = Brand<`0x${string}`, 'PatientPseudonym'>;
/** 22-character base64url (128 bits). */
export type BlindIndexToken = Brand<string, 'BlindIndexToken'>;

export type SubkeyPurpose = 'patient-pseudonym' | 'blind-index' | 'audit-commitment' | (string & {});

const SUBKEY_SALT = utf8ToBytes('medledger/subkey/v1');
const PSEUDONYM_LABEL = utf8ToBytes('medledger/patient-pseudonym/v1');
const BLIND_INDEX_LABEL = utf8ToBytes('medledger/blind-index/v1');

function requireKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length < 32) {
    throw new MdlError(MdlErrorCode.BadInput, `${what} must be at least 32 bytes`);
  }
}

/** A 32-byte key for one purpose, derived from a master secret of at least 32 bytes. */
export function deriveSubkey(masterSecret: Uint8Array, purpose: SubkeyPurpose): Uint8Array {
  requireKey(masterSecret, 'master secret');
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(purpose)) {
    throw new MdlError(MdlErrorCode.BadInput, 'subkey purpose must be lower-case kebab-case');
  }
  return hkdf(masterSecret, SUBKEY_SALT, utf8ToBytes(purpose), 32);
}

/** Length-prefixed UTF-8 (NFC), so that no two different input tuples encode to the same bytes. */
function encodeText(s: string, what: string): Uint8Array {
  if (typeof s !== 'string' || s.length === 0)
    throw new MdlError(MdlErrorCode.BadInput, `${what} must be non-empty`);
  // NFC so that visually identical identifiers typed on different systems map to the same value.
  const b = utf8ToBytes(s.normalize('NFC'));
  return concatBytes(i2osp(b.length, 4), b);
}

/**
 * The pseudonym of a patient, given the identifier system (e.g. a hospital's MRN namespace URI) and value.
 * The system is part of the input so equal values from different systems never collide.
 */
export function derivePatientPseudonym(
  pseudonymKey: Uint8Array,
  system: string,
  value: string,
): PatientPseudonym {
  requireKey(pseudonymKey, 'pseudonym key');
  const mac = hmacSha256(
    pseudonymKey,
    concatBytes(PSEUDONYM_LABEL, encodeText(system, 'identifier system'), encodeText(value, 'identifier')),
  );
  return `0x${bytesToHex(mac)}` as PatientPseudonym;
}

/** The blind-index token of one search value of one field (e.g. field "Patient.name", value "smith"). */
export function blindIndexToken(indexKey: Uint8Array, field: string, value: string): BlindIndexToken {
  requireKey(indexKey, 'blind-index key');
  const mac = hmacSha256(
    indexKey,
    concatBytes(BLIND_INDEX_LABEL, encodeText(field, 'field'), encodeText(value, 'search value')),
  );
  return bytesToBase64url(mac.subarray(0, 16)) as BlindIndexToken;
}
