/**
 * The independent audit-log verifier: reads the stored entries and checkpoints straight from the database,
 * recomputes the RFC 9162 tree, and checks every checkpoint's signature, log id, ordering, root (against the
 * recomputed root at its size), consistency with the previous checkpoint and — through the integrator's
 * `anchoredRoot` hook — the root anchored on-chain. It reports the FIRST divergence in log order.
 *
 * Limits: the sealed events are opaque here; only with the `openEvent` hook (which unseals one) are the stored
 * salt and event checked against the commitment — without it, a changed commitment is still caught by the
 * checkpoint that covers it (as a root divergence over an entry range, not a single index). Entries after the
 * last checkpoint are reported as unsigned, not as a divergence. Holds the tree in memory.
 */
import { equalBytes, leafHash, MerkleTree, verifyConsistency } from '@medledger/crypto';
import type { Queryable } from '@medledger/storage';
import { checkpointFromRow } from './AuditLog.js';
import {
  AUDIT_COMMITMENT_LENGTH,
  AUDIT_SALT_LENGTH,
  type AuditEventJson,
  verifyCommitment,
} from './auditLeaf.js';
import { verifyCheckpointSignature } from './checkpoint.js';

export type EntryDivergenceReason =
  /** No entry holds this leaf index (deleted, or un-integrated) while later ones exist. */
  | 'missing'
  /** The commitment or salt has the wrong length. */
  | 'malformed'
  /** With `openEvent`: the sealed event and salt do not give the stored commitment (or cannot be opened). */
  | 'commitment';

export type CheckpointDivergenceReason =
  | 'signature'
  | 'log-id'
  /** The checkpoint covers more entries than the log holds (entries deleted at the end). */
  | 'beyond-log'
  /** Size or timestamp smaller than the previous checkpoint's. */
  | 'order'
  /** Its root is not the recomputed root at its size: an entry in [entriesFrom, size) was changed. */
  | 'root'
  | 'consistency'
  /** Its root differs from the root anchored on-chain for (logId, size). */
  | 'anchor';

export type AuditDivergence =
  | { kind: 'entry'; index: number; reason: EntryDivergenceReason }
  | {
      /** A root anchored on-chain that the stored entries do not reproduce (history rewritten after anchoring)
       * or that covers more entries than the log holds ('beyond-log'). */
      kind: 'anchor';
      size: number;
      reason: 'root' | 'beyond-log';
      /** Where the anchor is on the chain, as the caller gave it. */
      block?: number;
      transaction?: string;
    }
  | {
      kind: 'checkpoint';
      /** Row id and position (0-based, in table order) of the checkpoint. */
      id: number;
      position: number;
      size: number;
      reason: CheckpointDivergenceReason;
      /** For 'root' and 'anchor': the first entry index the divergence can lie at (the previous good size). */
      entriesFrom?: number;
    };

export interface AuditVerification {
  ok: boolean;
  /** Integrated entries read (up to the first entry divergence). */
  size: number;
  /** Checkpoints checked and found good. */
  checkpoints: number;
  /** Entries not yet covered by any checkpoint. */
  unsignedEntries: number;
  /** On-chain anchors (from `anchors`) checked against the recomputed tree. */
  anchors: number;
  divergence?: AuditDivergence;
}

export interface VerifyAuditLogOptions {
  /** The expected log id; default: the first checkpoint's. */
  logId?: string;
  /** The root anchored on-chain for (logId, size), or undefined if that checkpoint was not anchored. */
  anchoredRoot?(logId: string, size: number): Promise<Uint8Array | undefined>;
  /**
   * Every checkpoint of this log anchored on-chain (read from the chain's events, not from this database): each
   * root must be the recomputed root at its size. This is what catches a history rewritten — entries and
   * checkpoints alike, re-signed with the node's own key — after it was anchored.
   */
  anchors?: readonly { size: number; root: Uint8Array; block?: number; transaction?: string }[];
  /** Unseals a stored event so its commitment can be recomputed. */
  openEvent?(sealedEvent: Uint8Array, index: number): Promise<AuditEventJson>;
}

const PAGE = 50_000;

interface EntryRow {
  leaf_index: number;
  commitment: Uint8Array;
  salt: Uint8Array;
  sealed_event?: Uint8Array;
}

export async function verifyAuditLog(
  db: Queryable,
  publicKey: Uint8Array,
  options: VerifyAuditLogOptions = {},
): Promise<AuditVerification> {
  const tree = new MerkleTree();
  let entryDivergence: AuditDivergence | undefined;
  const columns = options.openEvent
    ? 'leaf_index, commitment, salt, sealed_event'
    : 'leaf_index, commitment, salt';
  scan: for (;;) {
    const { rows } = await db.query<EntryRow>(
      `SELECT ${columns} FROM audit_entries WHERE leaf_index >= $1 ORDER BY leaf_index LIMIT $2`,
      [tree.size, PAGE],
    );
    for (const r of rows) {
      const index = tree.size;
      if (r.leaf_index !== index) {
        entryDivergence = { kind: 'entry', index, reason: 'missing' };
        break scan;
      }
      if (r.commitment.length !== AUDIT_COMMITMENT_LENGTH || r.salt.length !== AUDIT_SALT_LENGTH) {
        entryDivergence = { kind: 'entry', index, reason: 'malformed' };
        break scan;
      }
      if (options.openEvent && !(await commitmentHolds(options.openEvent, r, index))) {
        entryDivergence = { kind: 'entry', index, reason: 'commitment' };
        break scan;
      }
      tree.appendLeafHash(leafHash(r.commitment));
    }
    if (rows.length < PAGE) break;
  }

  const { rows: cpRows } = await db.query<Parameters<typeof checkpointFromRow>[0]>(
    'SELECT id, log_id, size, root, timestamp, signature FROM audit_checkpoints ORDER BY id',
  );
  const result = (
    divergence: AuditDivergence | undefined,
    checkpoints: number,
    signed: number,
    anchors = 0,
  ): AuditVerification => ({
    ok: divergence === undefined,
    size: tree.size,
    checkpoints,
    unsignedEntries: tree.size - signed,
    anchors,
    ...(divergence === undefined ? {} : { divergence }),
  });
  const logId = options.logId ?? cpRows[0]?.log_id;
  let prev: { size: number; root: Uint8Array; timestamp: number } | undefined;
  for (const [position, row] of cpRows.entries()) {
    const cp = checkpointFromRow(row);
    if (entryDivergence !== undefined && cp.size > tree.size)
      return result(entryDivergence, position, prev?.size ?? 0);
    const fail = (reason: CheckpointDivergenceReason, entriesFrom?: number) =>
      result(
        {
          kind: 'checkpoint',
          id: cp.id,
          position,
          size: cp.size,
          reason,
          ...(entriesFrom === undefined ? {} : { entriesFrom }),
        },
        position,
        prev?.size ?? 0,
      );
    if (!verifyCheckpointSignature(cp, publicKey)) return fail('signature');
    if (cp.logId !== logId) return fail('log-id');
    if (prev !== undefined && (cp.size < prev.size || cp.timestamp < prev.timestamp)) return fail('order');
    if (cp.size > tree.size) return fail('beyond-log');
    const root = tree.root(cp.size);
    if (!equalBytes(root, cp.root)) return fail('root', prev?.size ?? 0);
    if (
      prev !== undefined &&
      !verifyConsistency(prev.size, cp.size, prev.root, cp.root, tree.consistencyProof(prev.size, cp.size))
    ) {
      return fail('consistency');
    }
    if (options.anchoredRoot) {
      const anchored = await options.anchoredRoot(cp.logId, cp.size);
      if (anchored !== undefined && !equalBytes(anchored, cp.root)) return fail('anchor', prev?.size ?? 0);
    }
    prev = cp;
  }
  if (entryDivergence !== undefined) return result(entryDivergence, cpRows.length, prev?.size ?? 0);
  // The chain's anchors, in chain order: each must be reproduced by the stored entries.
  for (const [checked, anchor] of (options.anchors ?? []).entries()) {
    const where = {
      ...(anchor.block === undefined ? {} : { block: anchor.block }),
      ...(anchor.transaction === undefined ? {} : { transaction: anchor.transaction }),
    };
    const reason =
      anchor.size > tree.size
        ? 'beyond-log'
        : !equalBytes(tree.root(anchor.size), anchor.root)
          ? 'root'
          : undefined;
    if (reason !== undefined) {
      return result(
        { kind: 'anchor', size: anchor.size, reason, ...where },
        cpRows.length,
        prev?.size ?? 0,
        checked,
      );
    }
  }
  return result(undefined, cpRows.length, prev?.size ?? 0, options.anchors?.length ?? 0);
}

async function commitmentHolds(
  openEvent: NonNullable<VerifyAuditLogOptions['openEvent']>,
  r: EntryRow,
  index: number,
): Promise<boolean> {
  try {
    const event = await openEvent(Uint8Array.from(r.sealed_event ?? new Uint8Array(0)), index);
    return verifyCommitment(event, r.salt, r.commitment);
  } catch {
    return false;
  }
}
