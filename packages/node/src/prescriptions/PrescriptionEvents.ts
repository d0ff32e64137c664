/**
 * The chain as the prescriptions' message bus: reads the Prescriptions contract's events from its deployment
 * block on (eth_getLogs, a cursor kept in rx_cursor) and applies what concerns this node.
 * - PrescriptionRouted to this organisation: the prescription enters the pharmacy queue (rx_queue), with the
 *   prescriber's organisation as the custodian to fetch it from;
 * - PrescriptionCancelled: marked in the queue and on the prescriber's row, wherever the node has it;
 * - PrescriptionDispensed of a prescription this node recorded: the fill is kept (rx_fills), and when a refill
 *   becomes due — last fill + the days of supply of one fill (dispenseRequest.expectedSupplyDuration), less a
 *   margin — while fills remain, the patient gets a notice: a FHIR Communication in their record, written with
 *   system access named for it, as break-glass notices are (breakGlassNotices.ts).
 * Due-ness is judged by the chain's clock (the latest block), the clock the contract enforces windows with.
 * Runs every POLL_MS and on demand (`sync`, which the queue and list routes call first); runs are serialised.
 * Limits: a reorg deeper than the confirmations the chain gives is not undone here (QBFT chains are final).
 */
import { prescriptionsAbi } from '@medledger/contracts';
import { hexToBytes } from '@medledger/crypto';
import { type Hex, parseEventLogs } from 'viem';
import type { NodeContext } from '../NodeContext.js';
import type { Records } from '../services/RecordService.js';
import { type PrescriptionLedger, PrescriptionStatus } from './PrescriptionLedger.js';
import { hexOf } from './prescriptionRows.js';

const POLL_MS = 2_000;
const CURSOR = 'prescriptions';
/** Blocks per eth_getLogs call. */
const SPAN = 5_000n;
/** The refill reminder comes this share of the supply before it runs out (at most REMINDER_MAX_MARGIN). */
const REMINDER_MARGIN = 0.2;
const REMINDER_MAX_MARGIN = 3 * 86_400;
const PRESCRIPTION_EVENTS = new Set(['PrescriptionRouted', 'PrescriptionCancelled', 'PrescriptionDispensed']);
export const REFILL_REMINDER_SYSTEM = 'urn:medledger:refill-reminder';

export class PrescriptionEvents {
  readonly #ctx: NodeContext;
  readonly #chain: PrescriptionLedger;
  readonly #records: Records;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(ctx: NodeContext, chain: PrescriptionLedger) {
    this.#ctx = ctx;
    this.#chain = chain;
    this.#records = ctx.records.system('prescription refill reminder');
  }

  /** Applies every event up to the chain's head, then writes the reminders now due. */
  sync(): Promise<void> {
    const run = this.#queue.then(() => this.#sync());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #sync(): Promise<void> {
    const { db, ledger } = this.#ctx;
    const head = await ledger.blockNumber();
    const cursor = await db.query<{ next_block: string }>(
      'SELECT next_block FROM rx_cursor WHERE name = $1',
      [CURSOR],
    );
    let from = cursor.rows[0] ? BigInt(cursor.rows[0].next_block) : this.#chain.deployedAt;
    while (from <= head) {
      const to = from + SPAN - 1n < head ? from + SPAN - 1n : head;
      const logs = await ledger.rpc('reading prescription events', () =>
        ledger.publicClient.getLogs({ address: this.#chain.address, fromBlock: from, toBlock: to }),
      );
      for (const event of parseEventLogs({ abi: prescriptionsAbi, logs })) await this.#apply(event);
      from = to + 1n;
      await db.query(
        `INSERT INTO rx_cursor (name, next_block) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET next_block = EXCLUDED.next_block`,
        [CURSOR, from.toString()],
      );
    }
    await this.#remind();
  }

  async #apply(event: { eventName: string; args: unknown }): Promise<void> {
    const db = this.#ctx.db;
    const args = event.args as Record<string, unknown>;
    if (!PRESCRIPTION_EVENTS.has(event.eventName)) return;
    const id = hexToBytes((args.id as Hex).slice(2));
    if (event.eventName === 'PrescriptionRouted') {
      if (Number(args.pharmacy) !== this.#ctx.organisationId) return;
      const record = await this.#chain.record(args.id as Hex);
      await db.query(
        `INSERT INTO rx_queue (prescription_id, custodian, routed) VALUES ($1, $2, true)
         ON CONFLICT (prescription_id) DO UPDATE SET routed = true, updated_at = now()`,
        [id, record.organisation],
      );
    } else if (event.eventName === 'PrescriptionCancelled') {
      await db.query('UPDATE rx_queue SET cancelled = true, updated_at = now() WHERE prescription_id = $1', [
        id,
      ]);
      await db.query(
        `UPDATE rx_prescriptions SET cancelled_at = coalesce(cancelled_at, extract(epoch from now())::int8)
          WHERE prescription_id = $1`,
        [id],
      );
    } else if (event.eventName === 'PrescriptionDispensed') {
      const ours = await db.query('SELECT 1 FROM rx_prescriptions WHERE prescription_id = $1', [id]);
      if (ours.rows.length === 0) return;
      const block = (event as unknown as { blockNumber: bigint }).blockNumber;
      const at = await this.#ctx.ledger.rpc('reading a block', () =>
        this.#ctx.ledger.publicClient.getBlock({ blockNumber: block }),
      );
      await db.query(
        `INSERT INTO rx_fills (prescription_id, fill_number, pharmacy, filled_at, fills_remaining)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [
          id,
          Number(args.fillNumber),
          Number(args.pharmacy),
          Number(at.timestamp),
          Number(args.fillsRemaining),
        ],
      );
    }
  }

  /** A notice for every last fill whose supply is about to run out, with fills left, not yet noticed. */
  async #remind(): Promise<void> {
    const db = this.#ctx.db;
    const { rows } = await db.query<{
      prescription_id: Uint8Array;
      fill_number: number;
      filled_at: string;
      supply_seconds: string;
      patient_fhir_id: string;
      record_id: string;
    }>(
      `SELECT f.prescription_id, f.fill_number, f.filled_at, p.supply_seconds, p.patient_fhir_id, p.record_id
         FROM rx_fills f JOIN rx_prescriptions p ON p.prescription_id = f.prescription_id
        WHERE f.reminder_id IS NULL AND f.fills_remaining > 0 AND p.supply_seconds IS NOT NULL
          AND p.cancelled_at IS NULL
          AND f.fill_number = (SELECT max(fill_number) FROM rx_fills g WHERE g.prescription_id = f.prescription_id)`,
    );
    if (rows.length === 0) return;
    const now = await this.#chain.now();
    for (const row of rows) {
      const supply = Number(row.supply_seconds);
      const margin = Math.min(REMINDER_MAX_MARGIN, Math.floor(supply * REMINDER_MARGIN));
      const due = Number(row.filled_at) + supply - margin;
      if (now < due) continue;
      const id = hexOf(row.prescription_id);
      const onChain = await this.#chain.record(id);
      if (onChain.status !== PrescriptionStatus.Active) continue;
      const left = onChain.fillsAllowed - onChain.fillsUsed;
      const runsOut = new Date((Number(row.filled_at) + supply) * 1000).toISOString();
      const { stored } = await this.#records.create('Communication', {
        resourceType: 'Communication',
        identifier: [{ system: REFILL_REMINDER_SYSTEM, value: `${id}/${row.fill_number}` }],
        status: 'completed',
        category: [
          {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/communication-category', code: 'reminder' },
            ],
            text: 'Refill reminder',
          },
        ],
        subject: { reference: `Patient/${row.patient_fhir_id}` },
        recipient: [{ reference: `Patient/${row.patient_fhir_id}` }],
        about: [{ reference: `MedicationRequest/${row.record_id}` }],
        sent: new Date(now * 1000).toISOString(),
        payload: [
          {
            contentString:
              `Your supply from the last fill runs out around ${runsOut}. ` +
              `${left} refill${left === 1 ? '' : 's'} remain${left === 1 ? 's' : ''}: ask your pharmacy to refill.`,
          },
        ],
      });
      await db.query('UPDATE rx_fills SET reminder_id = $3 WHERE prescription_id = $1 AND fill_number = $2', [
        row.prescription_id,
        row.fill_number,
        stored.id,
      ]);
    }
  }

  start(): void {
    const tick = () => {
      if (this.#stopped) return;
      this.sync()
        .catch(() => undefined) // the chain or database is away: the next tick starts from the same cursor
        .finally(() => {
          if (this.#stopped) return;
          this.#timer = setTimeout(tick, POLL_MS);
          this.#timer.unref();
        });
    };
    this.#timer = setTimeout(tick, POLL_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#queue;
  }
}
