/**
 * The audit trail's ledger side: checkpoints queued for AuditAnchor in the ledger's outbox (in the transaction
 * that stores them), their anchors looked up, and the chain's CheckpointAnchored events read back for the
 * verifier. The CheckpointAnchorer (started by the node) sends them.
 */
import {
  auditLogKey,
  checkpointAnchorOf,
  enqueueCheckpointAnchor,
  type LedgerClient,
  latestConfirmedCheckpointAnchor,
} from '@medledger/ledger';
import type { Queryable } from '@medledger/storage';
import { hexToBytes } from 'viem';
import type { AuditAnchoring } from './AuditTrail.js';

export function ledgerAnchoring(
  db: Queryable,
  ledger: LedgerClient,
  organisation: number,
  logId: string,
): AuditAnchoring {
  return {
    enqueue: (tx, cp) =>
      enqueueCheckpointAnchor(tx, { logId: cp.logId, checkpointId: cp.id, size: cp.size, root: cp.root }),
    async anchorOf(id) {
      const a = await checkpointAnchorOf(db, id);
      if (!a) return null;
      return {
        status: a.status,
        ...(a.chainId !== undefined ? { chainId: a.chainId } : {}),
        ...(a.contract ? { contract: a.contract } : {}),
        ...(a.txHash ? { txHash: a.txHash } : {}),
        ...(a.blockNumber !== undefined ? { blockNumber: a.blockNumber } : {}),
        ...(a.blockHash ? { blockHash: a.blockHash } : {}),
      };
    },
    latestAnchored: async () => (await latestConfirmedCheckpointAnchor(db, logId))?.checkpointId,
    chainAnchors: async () =>
      (await ledger.findCheckpointsAnchored(organisation, auditLogKey(logId))).map((l) => ({
        size: l.treeSize,
        root: hexToBytes(l.root),
        block: Number(l.blockNumber),
        transaction: l.transactionHash,
      })),
  };
}
