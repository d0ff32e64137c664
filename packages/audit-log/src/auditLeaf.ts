/**
 * An audit-log leaf is a salted commitment to one AuditEvent: SHA-256(salt ‖ RFC 8785 canonical bytes of the
 * event), with a fresh 32-byte salt kept beside the (sealed) event. Without the salt the commitment reveals
 * nothing about the event, not even whether two leaves commit to the same event; with the salt and the event a
 * patient or auditor recomputes it and checks it against an inclusion proof.
 *
 * Limits: the event is any I-JSON value (canonicalisation rejects the rest with MdlError(BadInput)); its FHIR
 * shape is the caller's concern. The commitment is the leaf *data*: the tree hashes it again as H(0x00 ‖ data).
 */

import { randomBytes } from 'node:crypto';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { canonicalBytes, concatBytes, equalBytes, sha256 } from '@medledger/crypto';

/** Length in bytes of a salt and of a commitment. */
export const AUDIT_SALT_LENGTH = 32;
export const AUDIT_COMMITMENT_LENGTH = 32;

/** An AuditEvent as JSON (FHIR AuditEvent, IHE BALP shape); only its canonical bytes matter here. */
export type AuditEventJson = Readonly<Record<string, unknown>>;

export interface AuditCommitment {
  salt: Uint8Array;
  commitment: Uint8Array;
}

function commit(event: AuditEventJson, salt: Uint8Array): Uint8Array {
  return sha256(concatBytes(salt, canonicalBytes(event)));
}

/** Commits to `event` under `salt` (default: 32 fresh random bytes). */
export function commitAuditEvent(event: AuditEventJson, salt?: Uint8Array): AuditCommitment {
  return commitCanonicalAuditEvent(canonicalBytes(event), salt);
}

/**
 * The same commitment from the event's RFC 8785 canonical bytes, for a caller that already holds them (to
 * store them too): `canonical` must be exactly `canonicalBytes(event)`, or no one can verify the commitment.
 */
export function commitCanonicalAuditEvent(canonical: Uint8Array, salt?: Uint8Array): AuditCommitment {
  const s = salt === undefined ? new Uint8Array(randomBytes(AUDIT_SALT_LENGTH)) : Uint8Array.from(salt);
  if (s.length !== AUDIT_SALT_LENGTH)
    throw new MdlError(MdlErrorCode.BadInput, 'audit salt must be 32 bytes');
  return { salt: s, commitment: sha256(concatBytes(s, canonical)) };
}

/** True iff `commitment` is the commitment to `event` under `salt`. Never throws. */
export function verifyCommitment(event: AuditEventJson, salt: Uint8Array, commitment: Uint8Array): boolean {
  try {
    if (!(salt instanceof Uint8Array) || salt.length !== AUDIT_SALT_LENGTH) return false;
    if (!(commitment instanceof Uint8Array) || commitment.length !== AUDIT_COMMITMENT_LENGTH) return false;
    return equalBytes(commit(event, salt), commitment);
  } catch {
    return false;
  }
}
