/**
 * @medledger/audit-log — the node's verifiable audit log: salted commitments to AuditEvents as the
 * leaves of an append-only RFC 9162 Merkle log, signed checkpoints, inclusion and consistency proofs, and an
 * independent verifier. docs/audit-log.md explains the design.
 */

export {
  type AuditAppendEntry,
  type AuditEntry,
  AuditLog,
  queueAuditEntries,
  type StoredCheckpoint,
} from './AuditLog.js';
export {
  AUDIT_COMMITMENT_LENGTH,
  AUDIT_SALT_LENGTH,
  type AuditCommitment,
  type AuditEventJson,
  commitAuditEvent,
  commitCanonicalAuditEvent,
  verifyCommitment,
} from './auditLeaf.js';
export { auditLogMigrations } from './auditLogMigrations.js';
export {
  CHECKPOINT_CONTEXT,
  type Checkpoint,
  checkpointBytes,
  type SignedCheckpoint,
  signCheckpoint,
  verifyCheckpointSignature,
} from './checkpoint.js';
export {
  ADDRESS_COMMITMENT_EXTENSION,
  ADDRESS_SALT_EXTENSION,
  committedAuditEvent,
  patientAuditEvent,
  verifyNetworkAddresses,
  withholdNetworkAddresses,
} from './networkAddress.js';
export {
  type AuditInclusionClaim,
  verifyAuditInclusion,
  verifyCheckpointConsistency,
  verifyEntryInclusion,
} from './proofs.js';
export {
  type AuditDivergence,
  type AuditVerification,
  type CheckpointDivergenceReason,
  type EntryDivergenceReason,
  type VerifyAuditLogOptions,
  verifyAuditLog,
} from './verifyAuditLog.js';
