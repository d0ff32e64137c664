/**
 * Verifying audit-log proofs without the log: inclusion of an entry's commitment against a root, consistency
 * between two checkpoints, and the full check a patient runs on one of their entries (event + salt →
 * commitment → inclusion proof → signed checkpoint). All delegate the hashing to @medledger/crypto's RFC 9162.
 *
 * Limits: these never throw; false covers both a wrong proof and a malformed argument.
 */
import { leafHash, verifyConsistency, verifyInclusion } from '@medledger/crypto';
import { type AuditEventJson, verifyCommitment } from './auditLeaf.js';
import { type Checkpoint, type SignedCheckpoint, verifyCheckpointSignature } from './checkpoint.js';

/** True iff `proof` shows leaf `index` with `commitment` in the tree of `treeSize` leaves with `root`. */
export function verifyEntryInclusion(
  commitment: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  try {
    return verifyInclusion(leafHash(commitment), index, treeSize, proof, root);
  } catch {
    return false;
  }
}

/** True iff `proof` shows `newer` extends `older` (same log, append-only). Signatures are not checked here. */
export function verifyCheckpointConsistency(
  older: Checkpoint,
  newer: Checkpoint,
  proof: readonly Uint8Array[],
): boolean {
  return (
    older.logId === newer.logId && verifyConsistency(older.size, newer.size, older.root, newer.root, proof)
  );
}

export interface AuditInclusionClaim {
  event: AuditEventJson;
  salt: Uint8Array;
  commitment: Uint8Array;
  index: number;
  proof: readonly Uint8Array[];
  checkpoint: SignedCheckpoint;
}

/**
 * What a patient checks for one of their audit entries: the event and salt give the commitment, the proof
 * puts it at `index` under the checkpoint's root, and the checkpoint is signed by the node's key.
 */
export function verifyAuditInclusion(claim: AuditInclusionClaim, publicKey: Uint8Array): boolean {
  return (
    verifyCommitment(claim.event, claim.salt, claim.commitment) &&
    verifyEntryInclusion(
      claim.commitment,
      claim.index,
      claim.checkpoint.size,
      claim.proof,
      claim.checkpoint.root,
    ) &&
    verifyCheckpointSignature(claim.checkpoint, publicKey)
  );
}
