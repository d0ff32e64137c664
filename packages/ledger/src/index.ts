/**
 * @medledger/ledger — the node's ledger layer: the embedded anvil chain, contract bootstrap, a viem client for
 * the node account, the transactional outbox with its batch anchorer, and the outbox of audit-log checkpoint
 * anchors. docs/ledger.md explains the states and the failure modes handled.
 */
export {
  Anchorer,
  type AnchorerEvent,
  type AnchorerOptions,
  type AnchorState,
  type AnchorStats,
  type AnchorStatus,
  anchorStats,
  anchorStatus,
  anchorStatuses,
  BatchTreeCache,
  batchSignatureMessage,
  enqueueLeaf,
  enqueueLeaves,
  type LeafInput,
  RECORD_BATCH_CONTEXT,
  verifyAnchored,
} from './Anchorer.js';
export {
  type EnsureDeploymentOptions,
  type EnsureDeploymentResult,
  ensureDeployment,
  minedOnReturn,
  type OrganisationProfile,
} from './bootstrap.js';
export {
  auditLogKey,
  type CheckpointAnchor,
  CheckpointAnchorer,
  type CheckpointAnchorerEvent,
  type CheckpointAnchorerOptions,
  type CheckpointAnchorInput,
  type CheckpointAnchorStats,
  type CheckpointAnchorStatus,
  checkpointAnchorOf,
  checkpointAnchorStats,
  enqueueCheckpointAnchor,
  latestConfirmedCheckpointAnchor,
} from './CheckpointAnchorer.js';
export {
  anvilBinary,
  type ChainExit,
  type ChainStart,
  DEV_MNEMONIC,
  devAccount,
  EMBEDDED_CHAIN_ID,
  EmbeddedChain,
  type EmbeddedChainOptions,
} from './EmbeddedChain.js';
export {
  type AuditCheckpoint,
  type BatchAnchoredLog,
  type CheckpointAnchoredLog,
  LedgerClient,
  type LedgerClientOptions,
  revertedWith,
  type SignedTransaction,
  unavailable,
} from './LedgerClient.js';
export { ledgerMigrations } from './migrations.js';
