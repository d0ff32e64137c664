/**
 * The exchange's rows in the index database (tables in exchangeMigrations.ts): the custodian's replay store,
 * both sides' receipts, and what a requester holds after a release (wrapped category keys and sealed records).
 */
import { hexToBytes } from '@medledger/crypto';
import type { ExchangeReceipt } from '@medledger/exchange';
import type { Db, Queryable } from '@medledger/storage';

/** How long a request id is kept past its expiry: covers the node's clock stepping back by up to this much. */
export const REPLAY_ALLOWANCE_SECONDS = 300;

export type ExchangeSide = 'custodian' | 'requester';

export interface HeldRelease {
  custodian: number;
  /** The patient's ledger pseudonym (0x + 64 hex) the request named. */
  patient: string;
  requestId: string;
  keys: readonly {
    pseudonym: Uint8Array;
    category: number;
    epoch: number;
    holderKeyId: string;
    envelope: Uint8Array;
  }[];
  records: readonly {
    cid: string;
    pseudonym: Uint8Array;
    category: number;
    epoch: number;
    envelope: Uint8Array;
  }[];
}

const hex32 = (hex: string) => hexToBytes(hex.replace(/^0x/, ''));

export class ExchangeStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Remembers a request id until `expiresAt` (plus the allowance); true if it was new. One INSERT under the
   * primary key: atomic across workers and nodes sharing the database.
   */
  async claimRequest(requestId: string, expiresAt: number, now: number): Promise<boolean> {
    await this.#db.query('DELETE FROM exchange_replay WHERE keep_until < $1', [now]);
    const r = await this.#db.query(
      `INSERT INTO exchange_replay (request_id, keep_until) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [hex32(requestId), expiresAt + REPLAY_ALLOWANCE_SECONDS],
    );
    return r.rowCount === 1;
  }

  async #putReceipt(
    q: Queryable,
    side: ExchangeSide,
    peer: number,
    receipt: { bytes: Uint8Array; receipt: ExchangeReceipt },
  ): Promise<void> {
    const r = receipt.receipt;
    await q.query(
      `INSERT INTO exchange_receipts (receipt_id, request_id, side, peer, outcome, records, receipt)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [hex32(r.receiptId), hex32(r.requestId), side, peer, r.outcome, r.records.length, receipt.bytes],
    );
  }

  /** Records one exchange's receipt on this side (idempotent). */
  putReceipt(
    side: ExchangeSide,
    peer: number,
    receipt: { bytes: Uint8Array; receipt: ExchangeReceipt },
  ): Promise<void> {
    return this.#putReceipt(this.#db, side, peer, receipt);
  }

  /** A requester's receipt together with the keys and records received, in one transaction. */
  async putRelease(
    receipt: { bytes: Uint8Array; receipt: ExchangeReceipt },
    held: HeldRelease,
  ): Promise<void> {
    const requestId = hex32(held.requestId);
    const patient = hex32(held.patient);
    await this.#db.transaction(async (tx) => {
      await this.#putReceipt(tx, 'requester', held.custodian, receipt);
      for (const k of held.keys) {
        await tx.query(
          `INSERT INTO exchange_held_keys
             (custodian, pseudonym, category, epoch, holder_key_id, patient, envelope, request_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
          [held.custodian, k.pseudonym, k.category, k.epoch, k.holderKeyId, patient, k.envelope, requestId],
        );
      }
      for (const rec of held.records) {
        await tx.query(
          `INSERT INTO exchange_held_records (cid, custodian, pseudonym, category, epoch, envelope, request_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
          [rec.cid, held.custodian, rec.pseudonym, rec.category, rec.epoch, rec.envelope, requestId],
        );
      }
    });
  }
}
