/**
 * The loop both outbox drainers run (the record Anchorer and the CheckpointAnchorer): `prepare` applies the
 * ledger migrations and resolves the node's organisation, `start` reconciles the outbox with the chain and then
 * runs a round every `intervalMs`, backing off exponentially (up to 30 s) while the chain or the database fails;
 * `stop` finishes the current round. Every state change a round makes is one DB statement or transaction, so
 * the outbox is consistent wherever the loop stood.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { type Db, migrate } from '@medledger/storage';
import type { Hash, Hex, TransactionReceipt } from 'viem';
import type { LedgerClient } from './LedgerClient.js';
import { ledgerMigrations } from './migrations.js';

export interface OutboxWorkerOptions {
  db: Db;
  ledger: LedgerClient;
  /** The node's organisation; read from the registry at start when absent. */
  organisationId?: number;
  /** Pause between rounds when idle. */
  intervalMs: number;
  /** Told of a failed round (its first line), before the back-off. */
  onError: (message: string) => void;
  /** Names the worker in its errors. */
  name: string;
  /** A submitted transaction the chain does not know counts as lost after this long (default 10 s): RPC
   * back-ends behind a load balancer may not see a just-sent transaction at once. */
  lostAfterMs?: number | undefined;
  /** A transaction still in the pool after this long is sent again, same bytes (default 30 s). */
  rebroadcastAfterMs?: number | undefined;
}

/** A row of an outbox table whose transaction was signed, stored and sent. */
export interface SubmittedRow {
  id: number;
  tx_hash: string | null;
  raw_tx: string | null;
  submitted_at: Date | null;
}

export const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'error';

export abstract class OutboxWorker {
  protected readonly db: Db;
  protected readonly ledger: LedgerClient;
  protected readonly intervalMs: number;
  protected readonly lostAfterMs: number;
  protected readonly rebroadcastAfterMs: number;
  protected organisation: number | undefined;
  /** Set by stop(): long phases check it between items. */
  protected stopping = false;
  readonly #onError: (message: string) => void;
  readonly #name: string;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #ready = false;

  protected constructor(o: OutboxWorkerOptions) {
    this.db = o.db;
    this.ledger = o.ledger;
    this.organisation = o.organisationId;
    this.intervalMs = o.intervalMs;
    this.lostAfterMs = o.lostAfterMs ?? 10_000;
    this.rebroadcastAfterMs = o.rebroadcastAfterMs ?? 30_000;
    this.#onError = o.onError;
    this.#name = o.name;
  }

  /** One round of the loop. */
  protected abstract round(): Promise<void>;
  /** Brings the outbox and the chain into agreement (at start, and whenever a caller wants). */
  abstract reconcile(): Promise<void>;

  get running(): boolean {
    return this.#loop !== undefined;
  }

  /** True while the loop runs and has been asked to stop (phases called directly by tests never are). */
  protected get stopRequested(): boolean {
    return this.stopping && this.#loop !== undefined;
  }

  /** Applies the migrations and resolves the organisation; start() does this, tests driving phases call it. */
  async prepare(): Promise<void> {
    if (this.#ready) return;
    await migrate(this.db, ledgerMigrations);
    if (this.organisation === undefined) {
      const id = await this.ledger.organisationId();
      if (id === 0) {
        throw new MdlError(
          MdlErrorCode.Config,
          `${this.#name}: ${this.ledger.address} is not a node account`,
        );
      }
      this.organisation = id;
    }
    this.#ready = true;
  }

  /** Reconciles DB and chain, then runs the loop until stop(). */
  async start(): Promise<void> {
    if (this.#loop) return;
    await this.prepare();
    await this.reconcile();
    this.stopping = false;
    this.#loop = this.#run();
  }

  /** Finishes the current round and stops; what is in flight is picked up by the next start's reconcile(). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
  }

  /**
   * Walks the confirmed rows of `table` newest block first, until one whose block is still canonical (everything
   * below a canonical block is canonical too). `vanished(row)` handles a row whose block is gone — found again
   * elsewhere on the chain, or sent back — and says whether the row left the confirmed set. Returns how many did.
   */
  protected async walkConfirmed<R extends { block_number: number | null; block_hash: string | null }>(
    table: 'ledger_batches' | 'ledger_checkpoint_anchors',
    vanished: (row: R) => Promise<boolean>,
  ): Promise<number> {
    let moved = 0;
    let offset = 0;
    const page = 50;
    for (;;) {
      const { rows } = await this.db.query<R>(
        `SELECT * FROM ${table} WHERE status = 'confirmed' ORDER BY block_number DESC, id DESC LIMIT $1 OFFSET $2`,
        [page, offset],
      );
      if (rows.length === 0) return moved;
      let lostInPage = 0;
      for (const row of rows) {
        const canonical = await this.ledger.blockHash(BigInt(row.block_number ?? 0));
        if (canonical && canonical.toLowerCase() === row.block_hash?.toLowerCase()) return moved;
        if (await vanished(row)) {
          lostInPage++;
          moved++;
        }
      }
      // Rows that moved left the 'confirmed' set; only the ones that stayed shift the window.
      offset += rows.length - lostInPage;
    }
  }

  /**
   * What became of a submitted transaction: its receipt; or 'waiting' — in the pool or just mined (sent again,
   * same bytes, once it has waited `rebroadcastAfterMs`: `onRebroadcast` is told), or unknown for less than
   * `lostAfterMs`; or 'lost' — unknown to the chain for longer (the caller looks for its effect on the chain
   * under another hash before sending it back).
   */
  protected async settleSubmitted(
    table: 'ledger_batches' | 'ledger_checkpoint_anchors',
    row: SubmittedRow,
    onRebroadcast: (hash: Hash) => void,
  ): Promise<TransactionReceipt | 'waiting' | 'lost'> {
    const hash = row.tx_hash as Hash;
    const receipt = await this.ledger.receipt(hash);
    if (receipt) return receipt;
    const state = await this.ledger.transactionState(hash);
    const age = Date.now() - (row.submitted_at?.getTime() ?? 0);
    if (state === 'pending' || state === 'mined') {
      if (state === 'pending' && age > this.rebroadcastAfterMs && row.raw_tx) {
        await this.ledger.sendRaw(row.raw_tx as Hex).catch(() => undefined);
        await this.db.query(`UPDATE ${table} SET submitted_at = now() WHERE id = $1`, [row.id]);
        onRebroadcast(hash);
      }
      return 'waiting';
    }
    return age < this.lostAfterMs ? 'waiting' : 'lost';
  }

  /** Starts the next round now instead of after the pause. */
  protected wakeUp(): void {
    this.#wake?.();
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.round();
        failures = 0;
      } catch (error) {
        failures++;
        this.#onError(firstLine(error));
      }
      if (this.stopping) break;
      // Back off exponentially while the chain or the database fails, up to 30 s.
      const pause =
        failures > 0 ? Math.min(30_000, this.intervalMs * 2 ** Math.min(failures, 7)) : this.intervalMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}
