/**
 * The transactional outbox of audit-log checkpoints and the anchorer that drains it into AuditAnchor.
 *
 * The audit log calls `enqueueCheckpointAnchor` inside the transaction that stores a signed checkpoint, so a
 * stored checkpoint always has its anchor queued. The CheckpointAnchorer then, per log:
 *   1. opens the log on-chain once (`openLog`, when `logOpenedAt` says it is not open);
 *   2. takes the NEWEST queued checkpoint of the log and marks the older queued ones 'superseded': the newer
 *      anchor covers them, since consistency between checkpoints is proved off-chain (RFC 9162). At most one
 *      anchoring transaction per log is in flight (a partial unique index says so), so under load one
 *      transaction anchors many checkpoints and the gas per audited event stays low;
 *   3. signs `anchorCheckpoint(logKey, size, root)` with an explicit nonce under the client's nonce lock, stores
 *      the transaction's hash, nonce and bytes ('submitted') and only then sends it;
 *   4. polls receipts and stores block number/hash and gas used ('confirmed').
 * `reconcile()` (at start; the confirmed-row check also periodically) repairs what a crash, a dropped
 * transaction, a reorg or an embedded chain restored from an older state left behind; see docs/ledger.md.
 * Before a checkpoint is sent again, the chain's CheckpointAnchored events of the log are searched for it.
 *
 * Limits: one anchorer per node account (nonces are allocated in-process); `openLog` is sent without an outbox
 * row (it is idempotent: after a crash the log's opening is read from the chain again); the event search reads
 * from the deployment block in one `eth_getLogs`.
 */

import { auditAnchorAbi } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { equalBytes } from '@medledger/crypto';
import type { Db, Queryable } from '@medledger/storage';
import {
  type Address,
  bytesToHex,
  encodeFunctionData,
  type Hash,
  type Hex,
  hexToBytes,
  keccak256,
  stringToBytes,
} from 'viem';
import { type CheckpointAnchoredLog, type LedgerClient, revertedWith } from './LedgerClient.js';
import { firstLine, OutboxWorker } from './OutboxWorker.js';

// ---------------------------------------------------------------------------------------------- outbox

const MAX_LOG_ID = 200;

function bad(message: string): MdlError {
  return new MdlError(MdlErrorCode.BadInput, message);
}

function checkLogId(logId: unknown): asserts logId is string {
  if (typeof logId !== 'string' || logId.length === 0 || logId.length > MAX_LOG_ID) {
    throw bad(`audit log id must be 1 to ${MAX_LOG_ID} characters`);
  }
}

function checkCheckpointId(checkpointId: unknown): asserts checkpointId is number {
  if (!Number.isSafeInteger(checkpointId) || (checkpointId as number) < 1) {
    throw bad('audit checkpoint id must be a positive integer');
  }
}

/** The on-chain id (bytes32) of an audit log: keccak256 of its name in UTF-8. */
export function auditLogKey(logId: string): Hex {
  checkLogId(logId);
  return keccak256(stringToBytes(logId));
}

export interface CheckpointAnchorInput {
  /** The audit log's name. */
  logId: string;
  /** The caller's checkpoint row id: one anchor row per checkpoint. */
  checkpointId: number;
  /** RFC 9162 tree size, at least 1 (AuditAnchor refuses empty trees). */
  size: number;
  /** RFC 9162 root hash, 32 bytes. */
  root: Uint8Array;
}

/**
 * Queues a checkpoint for anchoring. Call it inside the transaction that stores the checkpoint: if that commits,
 * the anchor is queued; if it rolls back, nothing is. Queuing the same checkpointId with the same log, size and
 * root again is a no-op; with anything different it is refused (MDL_BAD_INPUT) without aborting the caller's
 * transaction.
 */
export async function enqueueCheckpointAnchor(q: Queryable, c: CheckpointAnchorInput): Promise<void> {
  if (typeof c !== 'object' || c === null) throw bad('audit checkpoint must be an object');
  checkLogId(c.logId);
  checkCheckpointId(c.checkpointId);
  if (!Number.isSafeInteger(c.size) || c.size < 1) {
    throw bad('audit checkpoint size must be a positive integer');
  }
  if (!(c.root instanceof Uint8Array) || c.root.length !== 32) {
    throw bad('audit checkpoint root must be 32 bytes');
  }
  if (c.root.every((b) => b === 0)) throw bad('audit checkpoint root must not be zero');
  const inserted = await q.query(
    `INSERT INTO ledger_checkpoint_anchors (log_id, log_key, checkpoint_id, size, root, status)
     VALUES ($1, $2, $3, $4, $5, 'queued')
     ON CONFLICT (checkpoint_id) DO NOTHING`,
    [c.logId, hexToBytes(auditLogKey(c.logId)), c.checkpointId, c.size, c.root],
  );
  if (inserted.rowCount === 1) return;
  const { rows } = await q.query<{ log_id: string; size: number; root: Uint8Array }>(
    'SELECT log_id, size, root FROM ledger_checkpoint_anchors WHERE checkpoint_id = $1',
    [c.checkpointId],
  );
  const row = rows[0];
  if (!row || row.log_id !== c.logId || row.size !== c.size || !equalBytes(row.root, c.root)) {
    throw bad(`audit checkpoint ${c.checkpointId} is already queued with another log, size or root`);
  }
}

// ---------------------------------------------------------------------------------------------- queries

export type CheckpointAnchorStatus = 'queued' | 'submitted' | 'confirmed' | 'superseded';

export interface CheckpointAnchor {
  checkpointId: number;
  logId: string;
  /** auditLogKey(logId): the log's id on-chain. */
  logKey: Hex;
  size: number;
  root: Uint8Array;
  /**
   * 'queued': waiting (again, after a lost transaction or block); 'submitted': its transaction is on record and
   * sent; 'confirmed': anchored, with the fields below; 'superseded': a newer checkpoint of the log was anchored
   * instead and covers it (prove consistency from this checkpoint to that one off-chain).
   */
  status: CheckpointAnchorStatus;
  enqueuedAt: Date;
  /** Transactions signed for it so far. */
  attempts: number;
  /** Chain and AuditAnchor address of the transaction (submitted and confirmed). */
  chainId?: number;
  contract?: Address;
  txHash?: Hash;
  blockNumber?: number;
  blockHash?: Hash;
  /** Gas used by the anchoring transaction (confirmed). */
  gasUsed?: number;
  confirmedAt?: Date;
  /** Why it is waiting, when the last attempt failed (one line, no secrets). */
  lastError?: string;
}

interface AnchorRow {
  id: number;
  log_id: string;
  log_key: Uint8Array;
  checkpoint_id: number;
  size: number;
  root: Uint8Array;
  status: CheckpointAnchorStatus;
  enqueued_at: Date;
  attempts: number;
  chain_id: number | null;
  contract: string | null;
  tx_hash: string | null;
  nonce: number | null;
  raw_tx: string | null;
  submitted_at: Date | null;
  block_number: number | null;
  block_hash: string | null;
  gas_used: number | null;
  confirmed_at: Date | null;
  last_error: string | null;
}

function anchorOf(row: AnchorRow): CheckpointAnchor {
  const anchor: CheckpointAnchor = {
    checkpointId: row.checkpoint_id,
    logId: row.log_id,
    logKey: bytesToHex(row.log_key),
    size: row.size,
    // pg returns Buffers: a plain copy compares equal whichever backend produced it.
    root: new Uint8Array(row.root),
    status: row.status,
    enqueuedAt: row.enqueued_at,
    attempts: row.attempts,
  };
  if (row.status === 'submitted' || row.status === 'confirmed') {
    if (row.chain_id !== null) anchor.chainId = row.chain_id;
    if (row.contract !== null) anchor.contract = row.contract as Address;
    if (row.tx_hash !== null) anchor.txHash = row.tx_hash as Hash;
  }
  if (row.status === 'confirmed') {
    if (row.block_number !== null) anchor.blockNumber = row.block_number;
    if (row.block_hash !== null) anchor.blockHash = row.block_hash as Hash;
    if (row.gas_used !== null) anchor.gasUsed = row.gas_used;
    if (row.confirmed_at !== null) anchor.confirmedAt = row.confirmed_at;
  }
  if (row.last_error !== null) anchor.lastError = row.last_error;
  return anchor;
}

/** Where a checkpoint's anchor is; null for a checkpoint never queued (MDL_BAD_INPUT for an id that is not one). */
export async function checkpointAnchorOf(
  q: Queryable,
  checkpointId: number,
): Promise<CheckpointAnchor | null> {
  checkCheckpointId(checkpointId);
  const { rows } = await q.query<AnchorRow>(
    'SELECT * FROM ledger_checkpoint_anchors WHERE checkpoint_id = $1',
    [checkpointId],
  );
  return rows[0] ? anchorOf(rows[0]) : null;
}

/** The confirmed anchor of a log with the largest tree size; null when none is confirmed. */
export async function latestConfirmedCheckpointAnchor(
  q: Queryable,
  logId: string,
): Promise<CheckpointAnchor | null> {
  checkLogId(logId);
  const { rows } = await q.query<AnchorRow>(
    `SELECT * FROM ledger_checkpoint_anchors WHERE log_id = $1 AND status = 'confirmed'
      ORDER BY size DESC, id DESC LIMIT 1`,
    [logId],
  );
  return rows[0] ? anchorOf(rows[0]) : null;
}

export interface CheckpointAnchorStats {
  queued: number;
  submitted: number;
  confirmed: number;
  superseded: number;
  /** When the oldest checkpoint not anchored yet (queued or submitted) was queued; null when there is none. */
  oldestUnanchoredAt: Date | null;
  /** Its age in milliseconds (0 when there is none). */
  anchorLagMs: number;
}

/** Outbox depth and anchor lag of the checkpoint anchors, for metrics and drain(). */
export async function checkpointAnchorStats(q: Queryable): Promise<CheckpointAnchorStats> {
  const { rows } = await q.query<{
    queued: number;
    submitted: number;
    confirmed: number;
    superseded: number;
    oldest: Date | null;
    lag_ms: number | null;
  }>(
    `SELECT count(*) FILTER (WHERE status = 'queued')::int8 AS queued,
            count(*) FILTER (WHERE status = 'submitted')::int8 AS submitted,
            count(*) FILTER (WHERE status = 'confirmed')::int8 AS confirmed,
            count(*) FILTER (WHERE status = 'superseded')::int8 AS superseded,
            min(enqueued_at) FILTER (WHERE status IN ('queued', 'submitted')) AS oldest,
            (extract(epoch FROM now() - min(enqueued_at) FILTER (WHERE status IN ('queued', 'submitted')))
              * 1000)::int8 AS lag_ms
       FROM ledger_checkpoint_anchors`,
  );
  const r = rows[0]!;
  return {
    queued: r.queued,
    submitted: r.submitted,
    confirmed: r.confirmed,
    superseded: r.superseded,
    oldestUnanchoredAt: r.oldest,
    anchorLagMs: r.lag_ms ?? 0,
  };
}

// ---------------------------------------------------------------------------------------------- anchorer

export type CheckpointAnchorerEvent =
  | { type: 'opened'; logId: string; txHash: Hash; gasUsed: number }
  | { type: 'submitted'; checkpointId: number; logId: string; size: number; txHash: Hash; nonce: number }
  | {
      type: 'confirmed';
      checkpointId: number;
      logId: string;
      size: number;
      txHash: Hash;
      blockNumber: number;
      gasUsed: number;
    }
  | { type: 'superseded'; logId: string; checkpointIds: number[]; why: string }
  | { type: 'found'; checkpointId: number; txHash: Hash; why: string }
  | { type: 'requeued'; checkpointId: number; why: string }
  | { type: 'rebroadcast'; checkpointId: number; txHash: Hash }
  | { type: 'error'; message: string; logId?: string };

export interface CheckpointAnchorerOptions {
  db: Db;
  ledger: LedgerClient;
  /** The node's organisation; read from the registry at start when absent. */
  organisationId?: number;
  /** Pause between rounds when idle (default 500 ms). */
  intervalMs?: number;
  /** A submitted transaction the chain does not know counts as lost after this long (default 10 s). */
  lostAfterMs?: number;
  /** A transaction still in the pool after this long is sent again, same bytes (default 30 s). */
  rebroadcastAfterMs?: number;
  /** How often confirmed anchors are checked against the chain while running (default 5 s). */
  recheckEveryMs?: number;
  onEvent?: (event: CheckpointAnchorerEvent) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type From = 'queued' | 'submitted' | 'confirmed';

export class CheckpointAnchorer extends OutboxWorker {
  private readonly recheckEveryMs: number;
  private readonly onEvent: (event: CheckpointAnchorerEvent) => void;
  private lastRecheck = 0;
  /** Log keys known to be open on the chain (cleared for a log whose anchors vanished). */
  private readonly openLogs = new Set<Hex>();
  /** Logs whose last attempt the contract refused: retried with exponential back-off, others go on. */
  private readonly deferred = new Map<string, { failures: number; until: number }>();

  constructor(options: CheckpointAnchorerOptions) {
    const onEvent = options.onEvent ?? (() => undefined);
    super({
      db: options.db,
      ledger: options.ledger,
      ...(options.organisationId === undefined ? {} : { organisationId: options.organisationId }),
      intervalMs: options.intervalMs ?? 500,
      onError: (message) => onEvent({ type: 'error', message }),
      name: 'checkpoint anchorer',
      lostAfterMs: options.lostAfterMs,
      rebroadcastAfterMs: options.rebroadcastAfterMs,
    });
    this.onEvent = onEvent;
    this.recheckEveryMs = options.recheckEveryMs ?? 5_000;
  }

  /** Waits until no checkpoint is queued or submitted (MDL_UNAVAILABLE after `timeoutMs`). */
  async drain(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await checkpointAnchorStats(this.db);
      if (s.queued === 0 && s.submitted === 0) return;
      if (Date.now() > deadline) {
        throw new MdlError(MdlErrorCode.Unavailable, 'checkpoint anchorer: outbox not drained in time');
      }
      this.wakeUp();
      await sleep(50);
    }
  }

  stats(q: Queryable = this.db): Promise<CheckpointAnchorStats> {
    return checkpointAnchorStats(q);
  }

  /** One round: recheck confirmations when due, confirm, submit. */
  protected async round(): Promise<void> {
    if (Date.now() - this.lastRecheck >= this.recheckEveryMs) await this.recheckConfirmed();
    await this.pollSubmitted();
    await this.submitQueued();
  }

  /**
   * Start-up reconciliation: confirmed anchors whose block is no longer on the chain go back to the queue;
   * submitted ones are confirmed, kept waiting, or (when the chain lost them) queued again; queued ones are
   * submitted. Safe to call at any time; clears the back-off of refused logs.
   */
  async reconcile(): Promise<void> {
    await this.prepare();
    this.deferred.clear();
    await this.recheckConfirmed();
    await this.pollSubmitted();
    await this.submitQueued();
  }

  // ------------------------------------------------------------------------------------------ phases

  /**
   * For every log with queued checkpoints and no transaction in flight: supersedes all but the newest, makes
   * sure the log is open, then signs the anchor with the next nonce, stores it, and sends it. A refusal by the
   * contract is settled against the chain (already anchored → confirmed; a larger checkpoint there →
   * superseded) or retried later with back-off, without holding up other logs. `broadcast: false` stops after
   * storing (a crash drill: the process died before the send). Returns transactions sent.
   */
  async submitQueued(options: { broadcast?: boolean } = {}): Promise<number> {
    await this.prepare();
    const { rows: logs } = await this.db.query<{ log_id: string; log_key: Uint8Array }>(
      `SELECT DISTINCT q.log_id, q.log_key FROM ledger_checkpoint_anchors q
        WHERE q.status = 'queued'
          AND NOT EXISTS (SELECT 1 FROM ledger_checkpoint_anchors s
                           WHERE s.log_key = q.log_key AND s.status = 'submitted')
        ORDER BY q.log_id`,
    );
    let sent = 0;
    for (const log of logs) {
      if (this.stopRequested) break;
      const deferred = this.deferred.get(log.log_id);
      if (deferred && Date.now() < deferred.until) continue;
      try {
        if (await this.submitLog(log.log_id, bytesToHex(log.log_key), options)) sent++;
      } catch (error) {
        // The chain or the database failing fails the round (global back-off); a contract refusal concerns
        // this log only.
        if (revertedWith(error) === undefined) throw error;
        this.defer(log.log_id, firstLine(error));
      }
    }
    return sent;
  }

  private defer(logId: string, message: string): void {
    const failures = (this.deferred.get(logId)?.failures ?? 0) + 1;
    const pause = Math.min(30_000, this.intervalMs * 2 ** Math.min(failures, 7));
    this.deferred.set(logId, { failures, until: Date.now() + pause });
    this.onEvent({ type: 'error', message, logId });
  }

  /** Submits the newest queued checkpoint of one log; true when a transaction was sent. */
  private async submitLog(logId: string, logKey: Hex, options: { broadcast?: boolean }): Promise<boolean> {
    const row = await this.takeNewest(logId, logKey);
    if (!row) return false;
    try {
      await this.ensureOpen(logId, logKey);
      if (row.attempts > 0) {
        const found = await this.findOnChain(row);
        if (found) {
          await this.confirm(row, found, ['queued'], 'its anchor was found on the chain before re-sending');
          return false;
        }
      }
      const data = encodeFunctionData({
        abi: auditAnchorAbi,
        functionName: 'anchorCheckpoint',
        args: [logKey, BigInt(row.size), bytesToHex(row.root)],
      });
      return await this.ledger.withNonceLock(async () => {
        const nonce = await this.ledger.pendingNonce();
        const signed = await this.ledger.signCall({ to: this.ledger.auditAnchor, data, nonce });
        const stored = await this.db.query(
          `UPDATE ledger_checkpoint_anchors
              SET status = 'submitted', tx_hash = $2, nonce = $3, raw_tx = $4, submitted_at = now(),
                  chain_id = $5, contract = $6, attempts = attempts + 1, last_error = NULL
            WHERE id = $1 AND status = 'queued'`,
          [row.id, signed.hash, signed.nonce, signed.raw, this.ledger.chainId, this.ledger.auditAnchor],
        );
        if (stored.rowCount !== 1) return false;
        this.deferred.delete(logId);
        if (options.broadcast !== false) await this.ledger.sendRaw(signed.raw);
        this.onEvent({
          type: 'submitted',
          checkpointId: row.checkpoint_id,
          logId,
          size: row.size,
          txHash: signed.hash,
          nonce: signed.nonce,
        });
        return true;
      });
    } catch (error) {
      const reason = revertedWith(error);
      if (reason === 'TreeSizeNotIncreasing') {
        // Settled here: confirmed, superseded, or left queued with the reason and this log backed off.
        await this.settleRefused(row, 'queued', 'the chain refused its tree size');
        return false;
      }
      if (reason === 'AuditLogNotOpen') this.openLogs.delete(logKey); // the chain lost the opening: re-open
      await this.db.query('UPDATE ledger_checkpoint_anchors SET last_error = $2 WHERE id = $1', [
        row.id,
        firstLine(error),
      ]);
      throw error;
    }
  }

  /**
   * One DB transaction: the newest queued checkpoint of the log, with every older queued one marked superseded.
   * A checkpoint already covered by a confirmed anchor of the log (enqueued late, or a retried older one) is
   * superseded too, without a transaction. Returns the checkpoint to send, if any.
   */
  private async takeNewest(logId: string, logKey: Hex): Promise<AnchorRow | undefined> {
    const key = hexToBytes(logKey);
    const { row, superseded, covered } = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<AnchorRow>(
        `SELECT * FROM ledger_checkpoint_anchors WHERE log_key = $1 AND status = 'queued'
          ORDER BY size DESC, id DESC LIMIT 1 FOR UPDATE`,
        [key],
      );
      const newest = rows[0];
      if (!newest) return { row: undefined, superseded: [], covered: false };
      // Older by tree size (then by id for an equal size): a checkpoint queued meanwhile with a larger size is
      // left alone.
      const older = await tx.query<{ checkpoint_id: number }>(
        `UPDATE ledger_checkpoint_anchors SET status = 'superseded', last_error = NULL
          WHERE log_key = $1 AND status = 'queued' AND (size < $2 OR (size = $2 AND id < $3))
          RETURNING checkpoint_id`,
        [key, newest.size, newest.id],
      );
      const ids = older.rows.map((r) => r.checkpoint_id);
      const covering = await tx.query(
        `SELECT 1 FROM ledger_checkpoint_anchors
          WHERE log_key = $1 AND status = 'confirmed' AND (size > $2 OR (size = $2 AND root = $3)) LIMIT 1`,
        [key, newest.size, newest.root],
      );
      if (covering.rows.length > 0) {
        await tx.query(
          `UPDATE ledger_checkpoint_anchors SET status = 'superseded', last_error = NULL WHERE id = $1`,
          [newest.id],
        );
        return { row: undefined, superseded: [...ids, newest.checkpoint_id], covered: true };
      }
      return { row: newest, superseded: ids, covered: false };
    });
    if (superseded.length > 0) {
      this.onEvent({
        type: 'superseded',
        logId,
        checkpointIds: superseded.sort((a, b) => a - b),
        why: covered
          ? 'a confirmed anchor of the log covers them'
          : `checkpoint ${row?.checkpoint_id} of the log is newer`,
      });
    }
    return row;
  }

  /** Opens the log on the chain unless it is (cached per log; AuditLogAlreadyOpen counts as open). */
  private async ensureOpen(logId: string, logKey: Hex): Promise<void> {
    if (this.openLogs.has(logKey)) return;
    const organisation = this.organisation!;
    if ((await this.ledger.auditLogOpenedAt(organisation, logKey)) === 0) {
      const data = encodeFunctionData({ abi: auditAnchorAbi, functionName: 'openLog', args: [logKey] });
      let hash: Hash | undefined;
      try {
        hash = (await this.ledger.sendCall({ to: this.ledger.auditAnchor, data })).hash;
      } catch (error) {
        if (revertedWith(error) !== 'AuditLogAlreadyOpen') throw error;
      }
      if (hash) {
        const receipt = await this.ledger.waitForReceipt(hash, {
          timeoutMs: Math.max(30_000, this.lostAfterMs),
        });
        if (receipt.status === 'success') {
          this.onEvent({ type: 'opened', logId, txHash: hash, gasUsed: Number(receipt.gasUsed) });
        } else if ((await this.ledger.auditLogOpenedAt(organisation, logKey)) === 0) {
          throw new MdlError(
            MdlErrorCode.Unavailable,
            `checkpoint anchorer: opening audit log ${logId} reverted (transaction ${hash})`,
          );
        }
      }
    }
    this.openLogs.add(logKey);
  }

  /** Confirms, waits for, re-sends or settles every submitted anchor. Returns anchors confirmed. */
  async pollSubmitted(): Promise<number> {
    await this.prepare();
    const { rows } = await this.db.query<AnchorRow>(
      "SELECT * FROM ledger_checkpoint_anchors WHERE status = 'submitted' ORDER BY nonce, id",
    );
    let confirmed = 0;
    for (const row of rows) {
      const hash = row.tx_hash as Hash;
      const outcome = await this.settleSubmitted('ledger_checkpoint_anchors', row, (txHash) =>
        this.onEvent({ type: 'rebroadcast', checkpointId: row.checkpoint_id, txHash }),
      );
      if (outcome === 'waiting') continue;
      if (outcome === 'lost') {
        // The chain does not know the transaction. It may still hold the checkpoint under another hash.
        const found = await this.findOnChain(row);
        if (found) {
          await this.confirm(row, found, ['submitted'], 'anchored by another transaction');
          confirmed++;
        } else {
          await this.backToQueued(row, 'submitted', `transaction ${hash} is unknown to the chain`);
        }
        continue;
      }
      const log =
        outcome.status === 'success'
          ? this.ledger.checkpointAnchoredLogs(outcome).find((l) => this.isAnchorOf(l, row))
          : undefined;
      if (log) {
        await this.confirm(row, log, ['submitted'], undefined, Number(outcome.gasUsed));
        confirmed++;
      } else if (
        (await this.settleRefused(row, 'submitted', `transaction ${hash} reverted`)) === 'confirmed'
      ) {
        confirmed++;
      }
    }
    return confirmed;
  }

  /**
   * Confirmed anchors, newest block first, until one whose block is still canonical: everything below a
   * canonical block is canonical too. An anchor whose block vanished is looked for elsewhere on the chain, else
   * queued again — and its log's opening is read from the chain again before the next anchor, so a log the
   * chain forgot (an embedded chain restored from an older state) is re-opened.
   */
  async recheckConfirmed(): Promise<number> {
    await this.prepare();
    this.lastRecheck = Date.now();
    return this.walkConfirmed<AnchorRow>('ledger_checkpoint_anchors', async (row) => {
      const found = await this.findOnChain(row);
      if (found && found.blockHash.toLowerCase() !== row.block_hash?.toLowerCase()) {
        await this.confirm(row, found, ['confirmed'], 're-included in another block');
        return false;
      }
      this.openLogs.delete(bytesToHex(row.log_key));
      await this.backToQueued(row, 'confirmed', `block ${row.block_number} is no longer on the chain`);
      return true;
    });
  }

  /**
   * After the contract refused a checkpoint (TreeSizeNotIncreasing at estimation, or a reverted receipt):
   * the chain holds this very checkpoint → confirmed from its event; the chain holds a larger one → superseded
   * (it covers this one); otherwise → queued with the reason, retried later.
   */
  private async settleRefused(row: AnchorRow, from: From, why: string): Promise<CheckpointAnchorStatus> {
    const found = await this.findOnChain(row);
    if (found) {
      await this.confirm(row, found, [from], 'the chain already holds this checkpoint');
      this.deferred.delete(row.log_id);
      return 'confirmed';
    }
    const latest = await this.ledger.latestAuditCheckpoint(this.organisation!, bytesToHex(row.log_key));
    if (latest.treeSize > row.size) {
      const updated = await this.db.query(
        `UPDATE ledger_checkpoint_anchors
            SET status = 'superseded', tx_hash = NULL, nonce = NULL, raw_tx = NULL, submitted_at = NULL,
                chain_id = NULL, contract = NULL, last_error = NULL
          WHERE id = $1 AND status = $2`,
        [row.id, from],
      );
      if (updated.rowCount === 1) {
        this.onEvent({
          type: 'superseded',
          logId: row.log_id,
          checkpointIds: [row.checkpoint_id],
          why: `the chain holds a larger checkpoint of the log (size ${latest.treeSize})`,
        });
      }
      this.deferred.delete(row.log_id);
      return 'superseded';
    }
    const reason =
      latest.treeSize === row.size
        ? `${why}: the chain holds another root at tree size ${row.size}`
        : `${why}: the chain holds tree size ${latest.treeSize}`;
    if (from === 'queued') {
      await this.db.query('UPDATE ledger_checkpoint_anchors SET last_error = $2 WHERE id = $1', [
        row.id,
        reason,
      ]);
    } else {
      await this.backToQueued(row, from, reason);
    }
    this.defer(row.log_id, `checkpoint anchorer: checkpoint ${row.checkpoint_id}: ${reason}`);
    return 'queued';
  }

  private isAnchorOf(log: CheckpointAnchoredLog, row: AnchorRow): boolean {
    return (
      log.organisation === this.organisation &&
      log.logKey === bytesToHex(row.log_key) &&
      log.treeSize === row.size &&
      log.root === bytesToHex(row.root)
    );
  }

  /** The chain's CheckpointAnchored event of this checkpoint (our organisation, its log, size and root). */
  private async findOnChain(row: AnchorRow): Promise<CheckpointAnchoredLog | undefined> {
    const logs = await this.ledger.findCheckpointsAnchored(this.organisation!, bytesToHex(row.log_key));
    return logs.find((l) => this.isAnchorOf(l, row));
  }

  private async confirm(
    row: AnchorRow,
    log: CheckpointAnchoredLog,
    from: From[],
    why?: string,
    gasUsed?: number,
  ): Promise<void> {
    let gas = gasUsed;
    if (gas === undefined) {
      const receipt = await this.ledger.receipt(log.transactionHash);
      if (!receipt) {
        throw new MdlError(
          MdlErrorCode.Unavailable,
          `checkpoint anchorer: no receipt for anchoring transaction ${log.transactionHash}`,
        );
      }
      gas = Number(receipt.gasUsed);
    }
    const updated = await this.db.query(
      `UPDATE ledger_checkpoint_anchors
          SET status = 'confirmed', tx_hash = $2, block_number = $3, block_hash = $4, gas_used = $5,
              chain_id = $6, contract = $7, confirmed_at = now(), last_error = NULL
        WHERE id = $1 AND status = ANY($8::text[])`,
      [
        row.id,
        log.transactionHash,
        Number(log.blockNumber),
        log.blockHash,
        gas,
        this.ledger.chainId,
        this.ledger.auditAnchor,
        from,
      ],
    );
    if (updated.rowCount !== 1) return;
    if (why)
      this.onEvent({ type: 'found', checkpointId: row.checkpoint_id, txHash: log.transactionHash, why });
    this.onEvent({
      type: 'confirmed',
      checkpointId: row.checkpoint_id,
      logId: row.log_id,
      size: row.size,
      txHash: log.transactionHash,
      blockNumber: Number(log.blockNumber),
      gasUsed: gas,
    });
  }

  private async backToQueued(row: AnchorRow, from: 'submitted' | 'confirmed', why: string): Promise<void> {
    const updated = await this.db.query(
      `UPDATE ledger_checkpoint_anchors
          SET status = 'queued', tx_hash = NULL, nonce = NULL, raw_tx = NULL, submitted_at = NULL,
              chain_id = NULL, contract = NULL, block_number = NULL, block_hash = NULL, gas_used = NULL,
              confirmed_at = NULL, last_error = $2
        WHERE id = $1 AND status = $3`,
      [row.id, why, from],
    );
    if (updated.rowCount === 1) this.onEvent({ type: 'requeued', checkpointId: row.checkpoint_id, why });
  }
}
