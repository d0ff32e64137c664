/**
 * The node's append-only audit log over the `Db` interface: entries are queued in the caller's transaction
 * (so an acknowledged request's audit event is durable with it), integrated into the RFC 9162 tree in queue
 * order, and covered by signed checkpoints. An in-memory MerkleTree (rebuilt from the table at open) serves
 * roots and proofs in O(log n).
 *
 * Limits: one writer per log — `integrate` and `checkpoint` are serialised in-process and, on PostgreSQL, by
 * an advisory lock; a second process that integrated meanwhile is caught up with, never overwritten. `open`
 * refuses a log whose entries do not reproduce its latest checkpoint (run `verifyAuditLog` to find where).
 * The whole tree is held in memory (64–128 bytes per leaf).
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { type CompositeSigner, equalBytes, leafHash, MerkleTree } from '@medledger/crypto';
import type { Db, Queryable } from '@medledger/storage';
import { AUDIT_COMMITMENT_LENGTH, AUDIT_SALT_LENGTH } from './auditLeaf.js';
import { type SignedCheckpoint, signCheckpoint } from './checkpoint.js';

/** What the caller queues: the commitment and salt (from `commitAuditEvent`) and the event, already sealed. */
export interface AuditAppendEntry {
  commitment: Uint8Array;
  salt: Uint8Array;
  /** Opaque bytes (e.g. the encrypted AuditEvent); never parsed here. */
  sealedEvent: Uint8Array;
  /**
   * Whom the entry is about, as opaque bytes (1–64) the caller chooses — e.g. a keyed pseudonym of the patient,
   * never an identifier in clear — so `entries({ subject })` finds a patient's entries without opening any.
   */
  subject?: Uint8Array;
}

/** An integrated entry: leaf `index` of the tree. */
export interface AuditEntry extends AuditAppendEntry {
  index: number;
}

export interface StoredCheckpoint extends SignedCheckpoint {
  /** Position in the checkpoint table (increasing). */
  id: number;
}

/** Rows per INSERT statement and per integration transaction. */
const INSERT_CHUNK = 1000;
const INTEGRATE_BATCH = 10_000;
const LOAD_PAGE = 50_000;
const AUDIT_LOCK = 0x6d646c61; // "mdla"

function bad(message: string): MdlError {
  return new MdlError(MdlErrorCode.BadInput, message);
}

function checkEntry(e: AuditAppendEntry): void {
  if (!(e.commitment instanceof Uint8Array) || e.commitment.length !== AUDIT_COMMITMENT_LENGTH)
    throw bad('audit commitment must be 32 bytes');
  if (!(e.salt instanceof Uint8Array) || e.salt.length !== AUDIT_SALT_LENGTH)
    throw bad('audit salt must be 32 bytes');
  if (!(e.sealedEvent instanceof Uint8Array)) throw bad('sealed audit event must be bytes');
  if (
    e.subject !== undefined &&
    (!(e.subject instanceof Uint8Array) || e.subject.length < 1 || e.subject.length > 64)
  )
    throw bad('audit subject must be 1 to 64 bytes');
}

/**
 * Queues entries in `q` — pass the transaction of the request being audited, so both commit or neither does.
 * Needs no open AuditLog: any process sharing the database may queue.
 */
export async function queueAuditEntries(q: Queryable, entries: readonly AuditAppendEntry[]): Promise<void> {
  for (const e of entries) checkEntry(e);
  for (let i = 0; i < entries.length; i += INSERT_CHUNK) {
    const chunk = entries.slice(i, i + INSERT_CHUNK);
    const params: (Uint8Array | null)[] = [];
    const values = chunk.map((e, j) => {
      params.push(e.commitment, e.salt, e.sealedEvent, e.subject ?? null);
      return `($${4 * j + 1}, $${4 * j + 2}, $${4 * j + 3}, $${4 * j + 4})`;
    });
    await q.query(
      `INSERT INTO audit_entries (commitment, salt, sealed_event, subject) VALUES ${values.join(', ')}`,
      params,
    );
  }
}

interface CheckpointRow {
  id: number;
  log_id: string;
  size: number;
  root: Uint8Array;
  timestamp: number;
  signature: Uint8Array;
}

export function checkpointFromRow(r: CheckpointRow): StoredCheckpoint {
  return {
    id: r.id,
    logId: r.log_id,
    size: r.size,
    root: Uint8Array.from(r.root),
    timestamp: r.timestamp,
    signature: Uint8Array.from(r.signature),
  };
}

export class AuditLog {
  readonly logId: string;
  readonly #db: Db;
  readonly #tree: MerkleTree;
  #last: StoredCheckpoint | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(db: Db, logId: string, tree: MerkleTree, last: StoredCheckpoint | undefined) {
    this.#db = db;
    this.logId = logId;
    this.#tree = tree;
    this.#last = last;
  }

  /** Opens the log in a migrated database (`auditLogMigrations`), rebuilding the tree from its entries. */
  static async open(db: Db, options: { logId: string }): Promise<AuditLog> {
    if (typeof options.logId !== 'string' || options.logId.length === 0)
      throw bad('audit log id is required');
    const tree = new MerkleTree();
    await loadLeaves(db, tree);
    const { rows } = await db.query<CheckpointRow>(
      'SELECT id, log_id, size, root, timestamp, signature FROM audit_checkpoints ORDER BY id DESC LIMIT 1',
    );
    const last = rows[0] === undefined ? undefined : checkpointFromRow(rows[0]);
    if (last !== undefined && (last.size > tree.size || !equalBytes(tree.root(last.size), last.root))) {
      throw new MdlError(
        MdlErrorCode.Conflict,
        'audit log entries do not reproduce the latest checkpoint; run the audit verifier',
      );
    }
    return new AuditLog(db, options.logId, tree, last);
  }

  /** Number of integrated entries (the tree size). */
  get size(): number {
    return this.#tree.size;
  }

  /** The root of the tree of the first `size` entries (default: all). */
  root(size: number = this.#tree.size): Uint8Array {
    return this.#tree.root(size);
  }

  /** Queues entries in the caller's transaction or connection; see `queueAuditEntries`. */
  append(q: Queryable, entries: readonly AuditAppendEntry[]): Promise<void> {
    return queueAuditEntries(q, entries);
  }

  /** Integrates every queued entry, in queue order; returns the new tree size. */
  integrate(): Promise<number> {
    return this.#exclusive(async () => {
      for (;;) {
        const batch = await this.#db.transaction(async (tx) => {
          if (this.#db.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
          const { rows } = await tx.query<{ n: number }>(
            'SELECT coalesce(max(leaf_index) + 1, 0) AS n FROM audit_entries',
          );
          const n = rows[0]?.n ?? 0;
          if (n < this.#tree.size) {
            throw new MdlError(
              MdlErrorCode.Conflict,
              'audit log lost integrated entries; run the audit verifier',
            );
          }
          if (n > this.#tree.size) {
            // Another writer integrated meanwhile: catch up, then integrate on top.
            const r = await tx.query<{ leaf_index: number; commitment: Uint8Array }>(
              'SELECT leaf_index, commitment FROM audit_entries WHERE leaf_index >= $1 ORDER BY leaf_index',
              [this.#tree.size],
            );
            return { rows: r.rows, more: true };
          }
          const r = await tx.query<{ leaf_index: number; commitment: Uint8Array }>(
            `WITH next AS (
               SELECT seq, row_number() OVER (ORDER BY seq) - 1 AS rn
               FROM audit_entries WHERE leaf_index IS NULL ORDER BY seq LIMIT $2)
             UPDATE audit_entries e SET leaf_index = $1::bigint + next.rn
             FROM next WHERE e.seq = next.seq
             RETURNING e.leaf_index, e.commitment`,
            [n, INTEGRATE_BATCH],
          );
          const sorted = r.rows.sort((a, b) => a.leaf_index - b.leaf_index);
          return { rows: sorted, more: sorted.length === INTEGRATE_BATCH };
        });
        // Committed: now (and only now) extend the in-memory tree.
        for (const row of batch.rows) {
          if (row.leaf_index !== this.#tree.size) {
            throw new MdlError(MdlErrorCode.Conflict, 'audit log leaf indices are not contiguous');
          }
          this.#tree.appendLeafHash(leafHash(row.commitment));
        }
        if (!batch.more) return this.#tree.size;
      }
    });
  }

  /**
   * Signs and stores a checkpoint of the current tree. The timestamp is `now` (ms) but never earlier than the
   * previous checkpoint's, so checkpoints are ordered in time as in the table. `onStored` runs in the same
   * transaction as the insert — e.g. to queue the checkpoint's on-chain anchor in an outbox, so a stored
   * checkpoint always has its anchor queued.
   */
  checkpoint(
    signer: CompositeSigner,
    now: number = Date.now(),
    onStored?: (tx: Queryable, checkpoint: StoredCheckpoint) => Promise<void>,
  ): Promise<StoredCheckpoint> {
    return this.#exclusive(async () => {
      const timestamp = Math.max(Math.floor(now), this.#last?.timestamp ?? 0);
      const size = this.#tree.size;
      const signed = signCheckpoint(signer, {
        logId: this.logId,
        size,
        root: this.#tree.root(size),
        timestamp,
      });
      const stored = await this.#db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: number }>(
          `INSERT INTO audit_checkpoints (log_id, size, root, timestamp, signature)
           VALUES ($1, $2, $3, $4, $5) RETURNING id`,
          [signed.logId, signed.size, signed.root, signed.timestamp, signed.signature],
        );
        const cp: StoredCheckpoint = { ...signed, id: rows[0]!.id };
        await onStored?.(tx, cp);
        return cp;
      });
      this.#last = stored;
      return stored;
    });
  }

  /** The latest checkpoint, if any. */
  latestCheckpoint(): StoredCheckpoint | undefined {
    return this.#last === undefined ? undefined : { ...this.#last };
  }

  /** Every checkpoint in order (for a proof API or an auditor). */
  async checkpoints(): Promise<StoredCheckpoint[]> {
    const { rows } = await this.#db.query<CheckpointRow>(
      'SELECT id, log_id, size, root, timestamp, signature FROM audit_checkpoints ORDER BY id',
    );
    return rows.map(checkpointFromRow);
  }

  /** The integrated entry at leaf `index` (salt and sealed event included: the caller decides who sees them). */
  async entry(index: number): Promise<AuditEntry> {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.#tree.size)
      throw bad('leaf index out of range');
    const { rows } = await this.#db.query<{
      commitment: Uint8Array;
      salt: Uint8Array;
      sealed_event: Uint8Array;
    }>('SELECT commitment, salt, sealed_event FROM audit_entries WHERE leaf_index = $1', [index]);
    const r = rows[0];
    if (r === undefined) throw new MdlError(MdlErrorCode.NotFound, 'audit entry not found');
    return {
      index,
      commitment: Uint8Array.from(r.commitment),
      salt: Uint8Array.from(r.salt),
      sealedEvent: Uint8Array.from(r.sealed_event),
    };
  }

  /**
   * Integrated entries in leaf order from leaf `from`, at most `limit` (1–1,000), optionally only those about
   * `subject`. Only entries already in this log's tree are returned, so each has an inclusion proof.
   */
  async entries(options: { from?: number; limit: number; subject?: Uint8Array }): Promise<AuditEntry[]> {
    const from = options.from ?? 0;
    if (!Number.isSafeInteger(from) || from < 0) throw bad('audit cursor must be a non-negative integer');
    if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > 10_000)
      throw bad('audit page size must be 1 to 10000');
    const params: unknown[] = [from, this.#tree.size, options.limit];
    let where = 'leaf_index >= $1 AND leaf_index < $2';
    if (options.subject !== undefined) {
      params.push(options.subject);
      where += ' AND subject = $4';
    }
    const { rows } = await this.#db.query<{
      leaf_index: number;
      commitment: Uint8Array;
      salt: Uint8Array;
      sealed_event: Uint8Array;
      subject: Uint8Array | null;
    }>(
      `SELECT leaf_index, commitment, salt, sealed_event, subject FROM audit_entries
        WHERE ${where} ORDER BY leaf_index LIMIT $3`,
      params,
    );
    return rows.map((r) => ({
      index: Number(r.leaf_index),
      commitment: Uint8Array.from(r.commitment),
      salt: Uint8Array.from(r.salt),
      sealedEvent: Uint8Array.from(r.sealed_event),
      ...(r.subject ? { subject: Uint8Array.from(r.subject) } : {}),
    }));
  }

  /** The stored checkpoint with row id `id`, or the latest one covering at least `size` entries. */
  async findCheckpoint(by: { id: number } | { size: number }): Promise<StoredCheckpoint | undefined> {
    const { rows } =
      'id' in by
        ? await this.#db.query<CheckpointRow>(
            'SELECT id, log_id, size, root, timestamp, signature FROM audit_checkpoints WHERE id = $1',
            [by.id],
          )
        : await this.#db.query<CheckpointRow>(
            `SELECT id, log_id, size, root, timestamp, signature FROM audit_checkpoints
              WHERE size >= $1 ORDER BY id DESC LIMIT 1`,
            [by.size],
          );
    return rows[0] === undefined ? undefined : checkpointFromRow(rows[0]);
  }

  /** Inclusion proof of leaf `index` in the tree of the first `treeSize` entries. */
  inclusionProof(index: number, treeSize: number = this.#tree.size): Uint8Array[] {
    return this.#tree.inclusionProof(index, treeSize);
  }

  /** Consistency proof from the tree of the first `from` entries to that of the first `to`. */
  consistencyProof(from: number, to: number = this.#tree.size): Uint8Array[] {
    return this.#tree.consistencyProof(from, to);
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** Appends every integrated leaf, in order, to `tree`; throws if the leaf indices have a gap. */
async function loadLeaves(q: Queryable, tree: MerkleTree): Promise<void> {
  for (;;) {
    const { rows } = await q.query<{ leaf_index: number; commitment: Uint8Array }>(
      `SELECT leaf_index, commitment FROM audit_entries
       WHERE leaf_index >= $1 ORDER BY leaf_index LIMIT $2`,
      [tree.size, LOAD_PAGE],
    );
    for (const r of rows) {
      if (r.leaf_index !== tree.size) {
        throw new MdlError(
          MdlErrorCode.Conflict,
          'audit log leaf indices are not contiguous; run the audit verifier',
        );
      }
      tree.appendLeafHash(leafHash(r.commitment));
    }
    if (rows.length < LOAD_PAGE) return;
  }
}
