/**
 * The transactional outbox of record anchors and the batch anchorer that drains it.
 *
 * The node calls `enqueueLeaf` inside the DB transaction of the write it anchors, so an acknowledged write
 * always has its leaf queued. The Anchorer then, in order:
 *   1. claims the oldest queued leaves (one DB transaction, `FOR UPDATE SKIP LOCKED`), builds an RFC 9162 tree
 *      over their leaf hashes, signs the root with the node's composite key and stores the batch ('pending');
 *   2. signs `anchorBatch(root, size, keccak256(signature))` with an explicit nonce, stores the transaction's
 *      hash, nonce and bytes ('submitted') and only then sends it — so whatever is on the chain is known to
 *      the DB by hash;
 *   3. polls receipts and stores block number/hash and the BatchAnchored sequence and head ('confirmed').
 * `reconcile()` (at start, and periodically for confirmed batches) repairs what a crash, a dropped
 * transaction or an embedded chain restored from an older state left behind; see docs/ledger.md.
 *
 * Before any batch is sent again, the chain is searched for a BatchAnchored event with its root and
 * signature digest from this organisation: a batch is re-anchored only when the chain has no anchor of it.
 *
 * Limits: one Anchorer per node account (nonces are allocated in-process); proofs are computed from the
 * batch's stored leaf hashes (O(batch size) per query).
 */

import { recordRegistryAbi } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  type CompositeSigner,
  compositeVerify,
  equalBytes,
  MerkleTree,
  rootFromLeafHashes,
  verifyInclusion,
} from '@medledger/crypto';
import type { Db, Queryable } from '@medledger/storage';
import {
  type Address,
  bytesToHex,
  encodeFunctionData,
  type Hash,
  type Hex,
  hexToBytes,
  keccak256,
} from 'viem';
import type { BatchAnchoredLog, LedgerClient } from './LedgerClient.js';
import { OutboxWorker } from './OutboxWorker.js';

/** Context string of the composite signature over a batch root. */
export const RECORD_BATCH_CONTEXT = 'medledger/record-batch/v1';

/**
 * The message signed for a batch: root (32) ‖ batch size (uint32, big-endian) ‖ chain id (uint64, big-endian)
 * ‖ RecordRegistry address (20) — 64 bytes. Binding the chain and contract means a signature cannot be
 * replayed as an anchor on another deployment.
 */
export function batchSignatureMessage(
  root: Uint8Array,
  size: number,
  chainId: number,
  registry: Address,
): Uint8Array {
  if (root.length !== 32) throw new MdlError(MdlErrorCode.BadInput, 'batch root must be 32 bytes');
  if (!Number.isInteger(size) || size < 1 || size > 0xffffffff) {
    throw new MdlError(MdlErrorCode.BadInput, 'batch size out of range');
  }
  const message = new Uint8Array(64);
  const view = new DataView(message.buffer);
  message.set(root, 0);
  view.setUint32(32, size);
  view.setBigUint64(36, BigInt(chainId));
  message.set(hexToBytes(registry), 44);
  return message;
}

// ---------------------------------------------------------------------------------------------- outbox

export interface LeafInput {
  /** What the leaf anchors, e.g. 'record'. */
  kind: 'record' | (string & {});
  /** Unique per leaf, e.g. "Observation/123/_history/2". */
  sourceKey: string;
  /** The RFC 9162 leaf hash (32 bytes). */
  leafHash: Uint8Array;
}

/**
 * Queues a leaf for anchoring. Call it inside the transaction of the write it anchors. Queuing the same
 * sourceKey with the same leaf hash again is a no-op; with a different leaf hash it is refused (MDL_BAD_INPUT)
 * without aborting the caller's transaction.
 */
function checkLeaf(leaf: LeafInput): void {
  if (!(leaf.leafHash instanceof Uint8Array) || leaf.leafHash.length !== 32) {
    throw new MdlError(MdlErrorCode.BadInput, 'anchor leaf hash must be 32 bytes');
  }
  if (typeof leaf.sourceKey !== 'string' || leaf.sourceKey.length === 0 || leaf.sourceKey.length > 512) {
    throw new MdlError(MdlErrorCode.BadInput, 'anchor source key must be 1 to 512 characters');
  }
  if (typeof leaf.kind !== 'string' || leaf.kind.length === 0 || leaf.kind.length > 64) {
    throw new MdlError(MdlErrorCode.BadInput, 'anchor leaf kind must be 1 to 64 characters');
  }
}

export async function enqueueLeaf(q: Queryable, leaf: LeafInput): Promise<void> {
  checkLeaf(leaf);
  const inserted = await q.query(
    `INSERT INTO ledger_outbox (kind, source_key, leaf_hash) VALUES ($1, $2, $3)
     ON CONFLICT (source_key) DO NOTHING`,
    [leaf.kind, leaf.sourceKey, leaf.leafHash],
  );
  if (inserted.rowCount === 1) return;
  const existing = await q.query<{ leaf_hash: Uint8Array }>(
    'SELECT leaf_hash FROM ledger_outbox WHERE source_key = $1',
    [leaf.sourceKey],
  );
  const row = existing.rows[0];
  if (!row || !equalBytes(row.leaf_hash, leaf.leafHash)) {
    throw new MdlError(MdlErrorCode.BadInput, 'anchor source key already queued with a different leaf hash');
  }
}

/**
 * Queues many leaves with one statement (a transaction Bundle's worth), with enqueueLeaf's rules: re-queuing a
 * key with the same hash does nothing; a key already queued with a different hash is MDL_BAD_INPUT.
 */
export async function enqueueLeaves(q: Queryable, leaves: readonly LeafInput[]): Promise<void> {
  if (leaves.length === 0) return;
  for (const leaf of leaves) checkLeaf(leaf);
  const inserted = await q.query(
    `INSERT INTO ledger_outbox (kind, source_key, leaf_hash)
     SELECT u.kind, u.source_key, decode(u.leaf_hash, 'hex')
       FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(kind, source_key, leaf_hash, n)
      ORDER BY u.n
     ON CONFLICT (source_key) DO NOTHING`,
    [
      leaves.map((l) => l.kind),
      leaves.map((l) => l.sourceKey),
      leaves.map((l) => bytesToHexPlain(l.leafHash)),
    ],
  );
  if (inserted.rowCount === leaves.length) return;
  for (const leaf of leaves) await enqueueLeaf(q, leaf); // re-checks the already queued ones, with their reasons
}

function bytesToHexPlain(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// ---------------------------------------------------------------------------------------------- queries

export type AnchorState = 'queued' | 'batched' | 'submitted' | 'anchored';

export interface AnchorStatus {
  state: AnchorState;
  leafHash: Uint8Array;
  batchId?: number;
  leafIndex?: number;
  treeSize?: number;
  root?: Uint8Array;
  /** RFC 9162 inclusion proof of the leaf under `root`. */
  proof?: Uint8Array[];
  /** Composite signature over batchSignatureMessage(root, treeSize, chainId, recordRegistry). */
  signature?: Uint8Array;
  chainId?: number;
  recordRegistry?: Address;
  txHash?: Hash;
  blockNumber?: number;
  blockHash?: Hash;
  /** Position of the anchor in RecordRegistry's anchor chain, and the chain head after it. */
  anchorSequence?: number;
  anchorHead?: Hex;
}

interface BatchRow {
  id: number;
  root: Uint8Array;
  size: number;
  signature: Uint8Array;
  signature_digest: Uint8Array;
  chain_id: number;
  registry: string;
  status: 'pending' | 'submitted' | 'confirmed';
  attempts: number;
  tx_hash: string | null;
  nonce: number | null;
  raw_tx: string | null;
  submitted_at: Date | null;
  block_number: number | null;
  block_hash: string | null;
  anchor_sequence: number | null;
  anchor_head: string | null;
}

const STATE_OF: Record<BatchRow['status'], AnchorState> = {
  pending: 'batched',
  submitted: 'submitted',
  confirmed: 'anchored',
};

/**
 * Merkle trees of batches, kept in memory so an inclusion proof costs O(log n) hashes instead of reading and
 * re-hashing the whole batch on every read. A batch's leaves never change once it is formed; an entry is used
 * only if its root still equals the batch's stored root.
 */
export class BatchTreeCache {
  readonly #trees = new Map<number, MerkleTree>();
  readonly #limit: number;

  constructor(limit = 256) {
    this.#limit = limit;
  }

  async tree(q: Queryable, batchId: number, root: Uint8Array): Promise<MerkleTree> {
    const cached = this.#trees.get(batchId);
    if (cached && equalBytes(cached.root(), root)) {
      this.#trees.delete(batchId); // most recently used last
      this.#trees.set(batchId, cached);
      return cached;
    }
    const leaves = await q.query<{ leaf_hash: Uint8Array }>(
      'SELECT leaf_hash FROM ledger_outbox WHERE batch_id = $1 ORDER BY leaf_index',
      [batchId],
    );
    const tree = MerkleTree.fromLeafHashes(leaves.rows.map((r) => r.leaf_hash));
    if (this.#trees.size >= this.#limit) this.#trees.delete(this.#trees.keys().next().value as number);
    this.#trees.set(batchId, tree);
    return tree;
  }
}

type StatusRow = { source_key: string; leaf_hash: Uint8Array; leaf_index: number | null } & Partial<
  Omit<BatchRow, 'id'>
> & { batch_id: number | null };

const STATUS_COLUMNS = `o.source_key, o.leaf_hash, o.leaf_index, o.batch_id, b.root, b.size, b.signature, b.chain_id,
            b.registry, b.status, b.tx_hash, b.block_number, b.block_hash, b.anchor_sequence, b.anchor_head`;

/** Where a leaf is in the outbox, with its inclusion proof once batched; null for an unknown sourceKey. */
export async function anchorStatus(
  q: Queryable,
  sourceKey: string,
  cache: BatchTreeCache = new BatchTreeCache(1),
): Promise<AnchorStatus | null> {
  return (await anchorStatuses(q, [sourceKey], cache)).get(sourceKey) ?? null;
}

/** anchorStatus for many leaves with one query (a page of search results). Unknown keys are absent. */
export async function anchorStatuses(
  q: Queryable,
  sourceKeys: readonly string[],
  cache: BatchTreeCache = new BatchTreeCache(16),
): Promise<Map<string, AnchorStatus>> {
  const out = new Map<string, AnchorStatus>();
  if (sourceKeys.length === 0) return out;
  const { rows } = await q.query<StatusRow>(
    `SELECT ${STATUS_COLUMNS}
       FROM ledger_outbox o LEFT JOIN ledger_batches b ON b.id = o.batch_id
      WHERE o.source_key = ANY($1::text[])`,
    [sourceKeys],
  );
  for (const row of rows) out.set(row.source_key, await statusOf(q, row, cache));
  return out;
}

async function statusOf(q: Queryable, row: StatusRow, cache: BatchTreeCache): Promise<AnchorStatus> {
  if (row.batch_id === null || row.leaf_index === null || !row.status || !row.root || !row.size) {
    return { state: 'queued', leafHash: row.leaf_hash };
  }
  const tree = await cache.tree(q, row.batch_id, row.root);
  const status: AnchorStatus = {
    state: STATE_OF[row.status],
    leafHash: row.leaf_hash,
    batchId: row.batch_id,
    leafIndex: row.leaf_index,
    treeSize: row.size,
    root: row.root,
    proof: tree.inclusionProof(row.leaf_index, row.size),
    ...(row.signature ? { signature: row.signature } : {}),
    ...(row.chain_id !== undefined ? { chainId: row.chain_id } : {}),
    ...(row.registry ? { recordRegistry: row.registry as Address } : {}),
  };
  if (row.status !== 'pending' && row.tx_hash) status.txHash = row.tx_hash as Hash;
  if (row.status === 'confirmed') {
    if (row.block_number != null) status.blockNumber = row.block_number;
    if (row.block_hash) status.blockHash = row.block_hash as Hash;
    if (row.anchor_sequence != null) status.anchorSequence = row.anchor_sequence;
    if (row.anchor_head) status.anchorHead = row.anchor_head as Hex;
  }
  return status;
}

/**
 * True only if `sourceKey` is anchored with exactly this leaf hash: the inclusion proof verifies against the
 * batch root, the composite signature over the root verifies with `publicKey` for this chain and
 * RecordRegistry, and the chain holds the transaction's receipt from the node account with a BatchAnchored
 * event carrying that root and keccak256(signature). Chain errors throw MDL_UNAVAILABLE.
 */
export async function verifyAnchored(
  q: Queryable,
  sourceKey: string,
  leafHash: Uint8Array,
  context: {
    ledger: LedgerClient;
    publicKey: Uint8Array;
    /** Optional memo of receipts by transaction hash, for verifying many leaves of the same batches. */
    receipts?: Map<string, Promise<Awaited<ReturnType<LedgerClient['receipt']>>>>;
    /** Optional cache of batch trees, so each batch's tree is rebuilt once rather than once per leaf. */
    trees?: BatchTreeCache;
    /** Optional memo of batch signature checks (root, size, signature digest → verified). */
    signatures?: Map<string, boolean>;
  },
): Promise<boolean> {
  const status = await anchorStatus(q, sourceKey, context.trees);
  if (status?.state !== 'anchored') return false;
  const { root, proof, treeSize, leafIndex, signature, txHash } = status;
  if (!root || !proof || treeSize === undefined || leafIndex === undefined || !signature || !txHash)
    return false;
  if (!(leafHash instanceof Uint8Array) || !equalBytes(status.leafHash, leafHash)) return false;
  if (!verifyInclusion(leafHash, leafIndex, treeSize, proof, root)) return false;
  const { ledger, publicKey } = context;
  if (status.chainId !== ledger.chainId) return false;
  if (status.recordRegistry?.toLowerCase() !== ledger.recordRegistry.toLowerCase()) return false;
  const digest = keccak256(signature);
  const rootHex = bytesToHex(root);
  // The chain and registry were compared above: the batch's signature check depends on these alone.
  const signed = `${rootHex}:${treeSize}:${digest}`;
  let verified = context.signatures?.get(signed);
  if (verified === undefined) {
    const message = batchSignatureMessage(root, treeSize, ledger.chainId, ledger.recordRegistry);
    verified = compositeVerify(publicKey, message, signature, RECORD_BATCH_CONTEXT);
    context.signatures?.set(signed, verified);
  }
  if (!verified) return false;
  let pending = context.receipts?.get(txHash);
  if (!pending) {
    pending = ledger.receipt(txHash);
    context.receipts?.set(txHash, pending);
  }
  const receipt = await pending;
  if (receipt?.status !== 'success') return false;
  if (receipt.from.toLowerCase() !== ledger.address.toLowerCase()) return false;
  return ledger
    .batchAnchoredLogs(receipt)
    .some((log) => log.root === rootHex && log.signatureDigest === digest && log.batchSize === treeSize);
}

export interface AnchorStats {
  /** Leaves not yet in a batch. */
  queuedLeaves: number;
  /** Leaves in batches not yet confirmed. */
  inFlightLeaves: number;
  pendingBatches: number;
  submittedBatches: number;
  confirmedBatches: number;
  /** When the oldest leaf that is not anchored yet was queued (null when all are anchored). */
  oldestUnanchoredAt: Date | null;
  /** Anchor lag: age of that leaf in milliseconds (0 when all are anchored). */
  anchorLagMs: number;
}

/** Outbox depth and anchor lag, for metrics. */
export async function anchorStats(q: Queryable): Promise<AnchorStats> {
  const { rows } = await q.query<{
    queued: number;
    in_flight: number;
    pending: number;
    submitted: number;
    confirmed: number;
    oldest: Date | null;
    lag_ms: number | null;
  }>(
    `WITH open AS (SELECT id FROM ledger_batches WHERE status <> 'confirmed'),
          oldest AS (
            SELECT min(t) AS t FROM (
              SELECT min(enqueued_at) AS t FROM ledger_outbox WHERE batch_id IS NULL
              UNION ALL
              SELECT min(enqueued_at) FROM ledger_outbox WHERE batch_id IN (SELECT id FROM open)
            ) s)
     SELECT (SELECT count(*) FROM ledger_outbox WHERE batch_id IS NULL)::int8 AS queued,
            (SELECT count(*) FROM ledger_outbox WHERE batch_id IN (SELECT id FROM open))::int8 AS in_flight,
            (SELECT count(*) FROM ledger_batches WHERE status = 'pending')::int8 AS pending,
            (SELECT count(*) FROM ledger_batches WHERE status = 'submitted')::int8 AS submitted,
            (SELECT count(*) FROM ledger_batches WHERE status = 'confirmed')::int8 AS confirmed,
            (SELECT t FROM oldest) AS oldest,
            (SELECT (extract(epoch FROM now() - t) * 1000)::int8 FROM oldest) AS lag_ms`,
  );
  const r = rows[0]!;
  return {
    queuedLeaves: r.queued,
    inFlightLeaves: r.in_flight,
    pendingBatches: r.pending,
    submittedBatches: r.submitted,
    confirmedBatches: r.confirmed,
    oldestUnanchoredAt: r.oldest,
    anchorLagMs: r.lag_ms ?? 0,
  };
}

// ---------------------------------------------------------------------------------------------- anchorer

export type AnchorerEvent =
  | { type: 'batched'; batchId: number; size: number }
  | { type: 'submitted'; batchId: number; txHash: Hash; nonce: number }
  | { type: 'confirmed'; batchId: number; txHash: Hash; blockNumber: number; sequence: number }
  | { type: 'found'; batchId: number; txHash: Hash; why: string }
  | { type: 'resubmit'; batchId: number; why: string }
  | { type: 'rebroadcast'; batchId: number; txHash: Hash }
  | { type: 'error'; message: string };

export interface AnchorerOptions {
  db: Db;
  ledger: LedgerClient;
  signer: CompositeSigner;
  /** The node's organisation; read from the registry at start when absent. */
  organisationId?: number;
  /** Pause between rounds when idle (default 250 ms). */
  intervalMs?: number;
  /** Leaves per batch (default 1000, at most 2^32 − 1). */
  maxBatch?: number;
  /** Batches batched or submitted but not confirmed, at most (default 16). */
  maxInFlight?: number;
  /** A submitted transaction the chain does not know counts as lost after this long (default 10 s): RPC
   * back-ends behind a load balancer may not see a just-sent transaction at once. */
  lostAfterMs?: number;
  /** A transaction still in the pool after this long is sent again, same bytes (default 30 s). */
  rebroadcastAfterMs?: number;
  /** How often confirmed batches are checked against the chain while running (default 5 s). */
  recheckEveryMs?: number;
  onEvent?: (event: AnchorerEvent) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Anchorer extends OutboxWorker {
  private readonly signer: CompositeSigner;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly recheckEveryMs: number;
  private readonly onEvent: (event: AnchorerEvent) => void;
  private lastRecheck = 0;

  constructor(options: AnchorerOptions) {
    const onEvent = options.onEvent ?? (() => undefined);
    super({
      db: options.db,
      ledger: options.ledger,
      ...(options.organisationId === undefined ? {} : { organisationId: options.organisationId }),
      intervalMs: options.intervalMs ?? 250,
      onError: (message) => onEvent({ type: 'error', message }),
      name: 'anchorer',
      lostAfterMs: options.lostAfterMs,
      rebroadcastAfterMs: options.rebroadcastAfterMs,
    });
    this.onEvent = onEvent;
    this.signer = options.signer;
    this.maxBatch = options.maxBatch ?? 1000;
    this.maxInFlight = options.maxInFlight ?? 16;
    this.recheckEveryMs = options.recheckEveryMs ?? 5_000;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1 || this.maxBatch > 0xffffffff) {
      throw new MdlError(MdlErrorCode.Config, 'anchorer: maxBatch must be 1 to 2^32 - 1');
    }
  }

  /** Waits until every queued leaf is in a confirmed batch (MDL_UNAVAILABLE after `timeoutMs`). */
  async drain(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await anchorStats(this.db);
      if (s.queuedLeaves === 0 && s.pendingBatches === 0 && s.submittedBatches === 0) return;
      if (Date.now() > deadline) {
        throw new MdlError(MdlErrorCode.Unavailable, 'anchorer: outbox not drained in time');
      }
      this.wakeUp();
      await sleep(50);
    }
  }

  anchorStatus(q: Queryable, sourceKey: string): Promise<AnchorStatus | null> {
    return anchorStatus(q, sourceKey);
  }

  verifyAnchored(q: Queryable, sourceKey: string, leafHash: Uint8Array): Promise<boolean> {
    return verifyAnchored(q, sourceKey, leafHash, { ledger: this.ledger, publicKey: this.signer.publicKey });
  }

  stats(q: Queryable = this.db): Promise<AnchorStats> {
    return anchorStats(q);
  }

  /** One round: recheck confirmations when due, confirm, batch, submit. */
  protected async round(): Promise<void> {
    if (Date.now() - this.lastRecheck >= this.recheckEveryMs) await this.recheckConfirmed();
    await this.pollSubmitted();
    await this.batchQueued();
    await this.submitPending();
  }

  /**
   * Start-up reconciliation: confirmed batches whose block is no longer on the chain go back to
   * resubmission; submitted ones are confirmed, kept waiting, or (when the chain lost them) resubmitted;
   * pending ones are submitted. Safe to call at any time.
   */
  async reconcile(): Promise<void> {
    await this.prepare();
    await this.recheckConfirmed();
    await this.pollSubmitted();
    await this.submitPending();
  }

  // ------------------------------------------------------------------------------------------ phases

  /** Claims queued leaves into signed batches while the in-flight limit allows. Returns batches made. */
  async batchQueued(): Promise<number> {
    await this.prepare();
    let made = 0;
    for (;;) {
      const open = await this.db.query<{ n: number }>(
        "SELECT count(*)::int8 AS n FROM ledger_batches WHERE status <> 'confirmed'",
      );
      if ((open.rows[0]?.n ?? 0) >= this.maxInFlight) return made;
      const batch = await this.db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: number; leaf_hash: Uint8Array }>(
          `SELECT id, leaf_hash FROM ledger_outbox WHERE batch_id IS NULL
            ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [this.maxBatch],
        );
        if (rows.length === 0) return undefined;
        const root = rootFromLeafHashes(rows.map((r) => r.leaf_hash));
        const { signature, digest } = this.signRoot(root, rows.length);
        const inserted = await tx.query<{ id: number }>(
          `INSERT INTO ledger_batches (root, size, signature, signature_digest, chain_id, registry, status)
           VALUES ($1, $2, $3, $4, $5, $6, 'pending') RETURNING id`,
          [root, rows.length, signature, digest, this.ledger.chainId, this.ledger.recordRegistry],
        );
        const batchId = inserted.rows[0]!.id;
        await tx.query(
          `UPDATE ledger_outbox o SET batch_id = $1, leaf_index = x.ord - 1
             FROM unnest($2::int8[]) WITH ORDINALITY AS x(id, ord)
            WHERE o.id = x.id`,
          [batchId, rows.map((r) => r.id)],
        );
        return { batchId, size: rows.length };
      });
      if (!batch) return made;
      made++;
      this.onEvent({ type: 'batched', ...batch });
    }
  }

  private signRoot(root: Uint8Array, size: number): { signature: Uint8Array; digest: Uint8Array } {
    const message = batchSignatureMessage(root, size, this.ledger.chainId, this.ledger.recordRegistry);
    const signature = this.signer.sign(message, RECORD_BATCH_CONTEXT);
    return { signature, digest: hexToBytes(keccak256(signature)) };
  }

  /**
   * Sends every pending batch: looks for an existing anchor first when the batch was sent before, re-signs
   * when the deployment changed, then signs the transaction with the next nonce, stores it, and sends it.
   * `broadcast: false` stops after storing (a crash drill: the process died before the send).
   */
  async submitPending(options: { broadcast?: boolean } = {}): Promise<number> {
    await this.prepare();
    const { rows } = await this.db.query<BatchRow>(
      "SELECT * FROM ledger_batches WHERE status = 'pending' ORDER BY id",
    );
    let sent = 0;
    for (const batch of rows) {
      if (this.stopRequested) break;
      if (batch.attempts > 0) {
        const found = await this.findAnchor(batch);
        if (found) {
          await this.confirm(batch.id, found, 'its anchor was found on the chain before re-sending');
          continue;
        }
      }
      let { root, size, signature } = batch;
      if (
        Number(batch.chain_id) !== this.ledger.chainId ||
        batch.registry.toLowerCase() !== this.ledger.recordRegistry.toLowerCase()
      ) {
        // The deployment changed (e.g. a redeployed embedded chain): the old signature names another contract.
        const fresh = this.signRoot(root, size);
        signature = fresh.signature;
        await this.db.query(
          `UPDATE ledger_batches SET signature = $2, signature_digest = $3, chain_id = $4, registry = $5
            WHERE id = $1 AND status = 'pending'`,
          [batch.id, signature, fresh.digest, this.ledger.chainId, this.ledger.recordRegistry],
        );
      }
      try {
        await this.ledger.withNonceLock(async () => {
          const nonce = await this.ledger.pendingNonce();
          const data = encodeFunctionData({
            abi: recordRegistryAbi,
            functionName: 'anchorBatch',
            args: [bytesToHex(root), size, keccak256(signature)],
          });
          const signed = await this.ledger.signCall({ to: this.ledger.recordRegistry, data, nonce });
          const stored = await this.db.query(
            `UPDATE ledger_batches
                SET status = 'submitted', tx_hash = $2, nonce = $3, raw_tx = $4, submitted_at = now(),
                    attempts = attempts + 1, last_error = NULL
              WHERE id = $1 AND status = 'pending'`,
            [batch.id, signed.hash, signed.nonce, signed.raw],
          );
          if (stored.rowCount !== 1) return;
          if (options.broadcast !== false) await this.ledger.sendRaw(signed.raw);
          sent++;
          this.onEvent({ type: 'submitted', batchId: batch.id, txHash: signed.hash, nonce: signed.nonce });
        });
      } catch (error) {
        const message = (error as Error).message.split('\n')[0] ?? 'error';
        await this.db.query('UPDATE ledger_batches SET last_error = $2 WHERE id = $1', [batch.id, message]);
        throw error;
      }
    }
    return sent;
  }

  /** Confirms, waits for, re-sends or returns to pending every submitted batch. Returns batches confirmed. */
  async pollSubmitted(): Promise<number> {
    await this.prepare();
    const { rows } = await this.db.query<BatchRow>(
      "SELECT * FROM ledger_batches WHERE status = 'submitted' ORDER BY nonce, id",
    );
    let confirmed = 0;
    for (const batch of rows) {
      const hash = batch.tx_hash as Hash;
      const outcome = await this.settleSubmitted('ledger_batches', batch, (txHash) =>
        this.onEvent({ type: 'rebroadcast', batchId: batch.id, txHash }),
      );
      if (outcome === 'waiting') continue;
      if (outcome === 'lost') {
        // The chain does not know the transaction. It may still have anchored the batch under another hash.
        const found = await this.findAnchor(batch);
        if (found) {
          await this.confirm(batch.id, found, 'anchored by another transaction');
          confirmed++;
        } else {
          await this.backToPending(batch.id, `transaction ${hash} is unknown to the chain`);
        }
        continue;
      }
      const log = this.ledger.batchAnchoredLogs(outcome).find((l) => this.isAnchorOf(l, batch));
      if (outcome.status === 'success' && log) {
        await this.confirm(batch.id, log);
        confirmed++;
      } else {
        await this.backToPending(batch.id, `transaction ${hash} reverted`);
      }
    }
    return confirmed;
  }

  /**
   * Confirmed batches, newest block first, until one whose block is still canonical: everything below a
   * canonical block is canonical too. Batches whose block vanished go back to pending (after a search for
   * their anchor elsewhere on the chain).
   */
  async recheckConfirmed(): Promise<number> {
    await this.prepare();
    this.lastRecheck = Date.now();
    return this.walkConfirmed<BatchRow>('ledger_batches', async (batch) => {
      const found = await this.findAnchor(batch);
      if (found && found.blockHash.toLowerCase() !== batch.block_hash?.toLowerCase()) {
        await this.confirm(batch.id, found, 're-included in another block', true);
        return false;
      }
      await this.backToPending(batch.id, `block ${batch.block_number} is no longer on the chain`, true);
      return true;
    });
  }

  private isAnchorOf(log: BatchAnchoredLog, batch: BatchRow): boolean {
    return (
      log.root === bytesToHex(batch.root) &&
      log.signatureDigest === bytesToHex(batch.signature_digest) &&
      log.organisation === this.organisation
    );
  }

  private async findAnchor(batch: BatchRow): Promise<BatchAnchoredLog | undefined> {
    const logs = await this.ledger.findBatchAnchored(bytesToHex(batch.root));
    return logs.find((l) => this.isAnchorOf(l, batch));
  }

  private async confirm(
    batchId: number,
    log: BatchAnchoredLog,
    why?: string,
    fromConfirmed = false,
  ): Promise<void> {
    const updated = await this.db.query(
      `UPDATE ledger_batches
          SET status = 'confirmed', tx_hash = $2, block_number = $3, block_hash = $4, anchor_sequence = $5,
              anchor_head = $6, confirmed_at = now(), last_error = NULL
        WHERE id = $1 AND status = ANY($7::text[])`,
      [
        batchId,
        log.transactionHash,
        Number(log.blockNumber),
        log.blockHash,
        Number(log.sequence),
        log.head,
        fromConfirmed ? ['confirmed'] : ['pending', 'submitted'],
      ],
    );
    if (updated.rowCount !== 1) return;
    if (why) this.onEvent({ type: 'found', batchId, txHash: log.transactionHash, why });
    this.onEvent({
      type: 'confirmed',
      batchId,
      txHash: log.transactionHash,
      blockNumber: Number(log.blockNumber),
      sequence: Number(log.sequence),
    });
  }

  private async backToPending(batchId: number, why: string, fromConfirmed = false): Promise<void> {
    const updated = await this.db.query(
      `UPDATE ledger_batches
          SET status = 'pending', tx_hash = NULL, nonce = NULL, raw_tx = NULL, submitted_at = NULL,
              block_number = NULL, block_hash = NULL, anchor_sequence = NULL, anchor_head = NULL,
              confirmed_at = NULL, last_error = $2
        WHERE id = $1 AND status = $3`,
      [batchId, why, fromConfirmed ? 'confirmed' : 'submitted'],
    );
    if (updated.rowCount === 1) this.onEvent({ type: 'resubmit', batchId, why });
  }
}
