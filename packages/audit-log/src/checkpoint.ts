/**
 * Signed checkpoints of the audit log: {logId, size, root, timestamp} as RFC 8785 canonical JSON (root in
 * base64url, timestamp in milliseconds since the epoch), signed with the node's composite ML-DSA-65 + Ed25519
 * key under the context "medledger/audit-checkpoint/v1", so a checkpoint signature can never be replayed as any
 * other medledger signature.
 *
 * Limits: the checkpoint says nothing about which key signed it; the verifier brings the public key (from the
 * consortium registry).
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  bytesToBase64url,
  type CompositeSigner,
  canonicalBytes,
  compositeVerify,
  MERKLE_HASH_LENGTH,
} from '@medledger/crypto';

export const CHECKPOINT_CONTEXT = 'medledger/audit-checkpoint/v1';

export interface Checkpoint {
  logId: string;
  size: number;
  root: Uint8Array;
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
}

export interface SignedCheckpoint extends Checkpoint {
  signature: Uint8Array;
}

function checkCheckpoint(cp: Checkpoint): void {
  if (typeof cp.logId !== 'string' || cp.logId.length === 0 || cp.logId.length > 200)
    throw new MdlError(MdlErrorCode.BadInput, 'checkpoint log id must be 1–200 characters');
  if (!Number.isSafeInteger(cp.size) || cp.size < 0)
    throw new MdlError(MdlErrorCode.BadInput, 'checkpoint size must be a non-negative integer');
  if (!(cp.root instanceof Uint8Array) || cp.root.length !== MERKLE_HASH_LENGTH)
    throw new MdlError(MdlErrorCode.BadInput, 'checkpoint root must be a 32-byte hash');
  if (!Number.isSafeInteger(cp.timestamp) || cp.timestamp < 0)
    throw new MdlError(MdlErrorCode.BadInput, 'checkpoint timestamp must be a non-negative integer');
}

/** The exact bytes a checkpoint signature covers. */
export function checkpointBytes(cp: Checkpoint): Uint8Array {
  checkCheckpoint(cp);
  return canonicalBytes({
    logId: cp.logId,
    root: bytesToBase64url(cp.root),
    size: cp.size,
    timestamp: cp.timestamp,
  });
}

/** Signs `cp` with the node's composite key. */
export function signCheckpoint(signer: CompositeSigner, cp: Checkpoint): SignedCheckpoint {
  const signature = signer.sign(checkpointBytes(cp), CHECKPOINT_CONTEXT);
  return { logId: cp.logId, size: cp.size, root: cp.root.slice(), timestamp: cp.timestamp, signature };
}

/** True iff `cp` is well formed and its signature verifies under `publicKey`. Never throws. */
export function verifyCheckpointSignature(cp: SignedCheckpoint, publicKey: Uint8Array): boolean {
  try {
    return compositeVerify(publicKey, checkpointBytes(cp), cp.signature, CHECKPOINT_CONTEXT);
  } catch {
    return false;
  }
}
