/**
 * Telling a patient that someone broke the glass on their record. The notice is a FHIR `Communication` in the
 * patient's compartment (category Documents, so only the patient and those allowed to read their documents
 * see it — never the directory), written as the organisation: who (the practitioner's name and organisation),
 * when, why (the stated reason, when this node holds it) and until when. The patient reads it like any other
 * record of theirs (`GET /fhir/Communication`, `$everything`).
 *
 * Every session on a patient linked at this node is noticed, whoever opened it: the node's own break-glass
 * route writes the notice at once, and a sweep over the consent index's sessions (every few seconds) catches
 * sessions opened through other organisations' nodes and any notice a crash interrupted. One notice per
 * session (table care_break_glass_notices); within one process the writes are serialised. Limits: two node
 * processes on one database could both write a notice for the same session (a duplicate, never a loss).
 *
 * Delivery beyond the record (e-mail, SMS, push) goes through a `PatientNotifier` adapter. The default does
 * nothing (and logs nothing); an adapter receives only ids and times — no name, no reason — so that what
 * leaves the node says "log in to see a notice", and it must not throw (failures are ignored here: the
 * stored notice is what counts).
 */
import type { BreakGlassSession } from '@medledger/consent';
import { hexToBytes } from '@medledger/crypto';
import type { Hex } from 'viem';
import { PATIENT_PSEUDONYM_SYSTEM } from '../access/PatientLinks.js';
import type { NodeContext } from '../NodeContext.js';
import type { Records } from '../services/RecordService.js';
import { isoOf } from './careRequests.js';
import { openText } from './sealedText.js';

export const BREAK_GLASS_SESSION_SYSTEM = 'urn:medledger:break-glass-session';
export const BREAK_GLASS_EXPIRES_EXTENSION = 'urn:medledger:break-glass-expires';

/** What a delivery adapter is told: ids and times only. */
export interface BreakGlassNotice {
  /** The patient's FHIR Patient id at this node. */
  patientId: string;
  /** The patient's account at this node, if they have one (to look up where to deliver). */
  accountId?: string;
  sessionId: number;
  openedAt: Date;
  expiresAt: Date;
  /** The stored notice, `Communication/<id>`. */
  notification: string;
}

/** E-mail / SMS / push delivery of break-glass notices. */
export interface PatientNotifier {
  notify(notice: BreakGlassNotice): Promise<void>;
}

/** The default adapter: no delivery beyond the stored notice, and no logging. */
export const noPatientNotifier: PatientNotifier = { notify: async () => undefined };

const SWEEP_INTERVAL_MS = 5_000;
const PAGE = 100;

interface ReasonRow {
  reason_hash: Uint8Array;
  account_id: string;
  patient_fhir_id: string;
  sealed: Uint8Array;
}

export class BreakGlassNotices {
  readonly #ctx: NodeContext;
  readonly #notifier: PatientNotifier;
  /** Notices are system-owned records of the patient's: written with system access, named. */
  readonly #records: Records;
  #queue: Promise<unknown> = Promise.resolve();
  #afterId = 0;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  #stopped = false;

  constructor(ctx: NodeContext, notifier: PatientNotifier = noPatientNotifier) {
    this.#ctx = ctx;
    this.#notifier = notifier;
    this.#records = ctx.records.system('break-glass notice');
  }

  /** The notice of a session (written now if there is none yet); undefined when the patient is not ours. */
  notify(session: BreakGlassSession, patientId?: string): Promise<string | undefined> {
    const run = this.#queue.then(() => this.#notify(session, patientId));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #notify(session: BreakGlassSession, knownPatientId?: string): Promise<string | undefined> {
    const ctx = this.#ctx;
    const existing = await ctx.db.query<{ communication_id: string }>(
      'SELECT communication_id FROM care_break_glass_notices WHERE session_id = $1',
      [session.id],
    );
    if (existing.rows[0]) return existing.rows[0].communication_id;

    const reasonRow = (
      await ctx.db.query<ReasonRow>(
        'SELECT reason_hash, account_id, patient_fhir_id, sealed FROM care_break_glass_reasons WHERE reason_hash = $1',
        [hexToBytes(session.reasonHash.slice(2))],
      )
    ).rows[0];
    const patientId =
      knownPatientId ?? reasonRow?.patient_fhir_id ?? (await this.#localPatient(session.patient));
    if (!patientId) return undefined;
    const reason =
      reasonRow && openText(ctx.sealingKey, 'break-glass-reason', session.reasonHash, reasonRow.sealed);
    const practitioner = reasonRow
      ? await ctx.accounts.getAccount(reasonRow.account_id)
      : await ctx.accounts.findByMemberAddress(session.member);
    const who = practitioner?.displayName ?? 'a practitioner';
    const where =
      session.organisation === ctx.organisationId
        ? 'this organisation'
        : `organisation ${session.organisation}`;
    const why = reason ?? `recorded by ${where}, available to its auditors`;
    const from = isoOf(session.openedAt);
    const until = isoOf(session.expiresAt);

    const communication = {
      resourceType: 'Communication',
      identifier: [{ system: BREAK_GLASS_SESSION_SYSTEM, value: String(session.id) }],
      status: 'completed',
      category: [
        {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/communication-category', code: 'alert' }],
          text: 'Emergency access to your record',
        },
      ],
      priority: 'urgent',
      subject: { reference: `Patient/${patientId}` },
      recipient: [{ reference: `Patient/${patientId}` }],
      sender: { display: `${who} (${where})` },
      sent: from,
      reasonCode: [{ text: why }],
      extension: [{ url: BREAK_GLASS_EXPIRES_EXTENSION, valueDateTime: until }],
      payload: [
        {
          contentString:
            `${who} (${where}) used emergency access ("break the glass") to your record from ${from} ` +
            `until ${until}. Reason given: ${why}. The access is reviewed by an auditor.`,
        },
      ],
    };
    const { stored } = await this.#records.create('Communication', communication);
    await ctx.db.query(
      `INSERT INTO care_break_glass_notices (session_id, patient_fhir_id, communication_id) VALUES ($1, $2, $3)
       ON CONFLICT (session_id) DO NOTHING`,
      [session.id, patientId, stored.id],
    );
    const account = await ctx.accounts.findByPatient(patientId);
    const notice: BreakGlassNotice = {
      patientId,
      ...(account ? { accountId: account.id } : {}),
      sessionId: session.id,
      openedAt: new Date(session.openedAt * 1000),
      expiresAt: new Date(session.expiresAt * 1000),
      notification: `Communication/${stored.id}`,
    };
    void Promise.resolve()
      .then(() => this.#notifier.notify(notice))
      .catch(() => undefined);
    return stored.id;
  }

  /** The local Patient carrying this on-chain pseudonym (the link's identifier), if any. */
  async #localPatient(chain: Hex): Promise<string | undefined> {
    const params = new URLSearchParams({ identifier: `${PATIENT_PSEUDONYM_SYSTEM}|${chain.toLowerCase()}` });
    const bundle = (await this.#records.search('Patient', params)) as {
      entry?: { resource?: { id?: string } }[];
    };
    return bundle.entry?.[0]?.resource?.id;
  }

  /** One pass over sessions not seen yet: a notice for every one whose patient is linked here. */
  async sweep(): Promise<void> {
    for (;;) {
      const sessions = await this.#ctx.consent.breakGlassSessions({ afterId: this.#afterId, limit: PAGE });
      if (sessions.length === 0) return;
      const linked = await this.#ctx.links.recordPseudonymsOf(this.#ctx.db, [
        ...new Set(sessions.map((s) => s.patient.toLowerCase() as Hex)),
      ]);
      for (const s of sessions) {
        if (linked.has(s.patient.toLowerCase() as Hex)) await this.notify(s);
        this.#afterId = s.id;
      }
      if (sessions.length < PAGE) return;
    }
  }

  start(): void {
    const tick = () => {
      if (this.#stopped) return;
      this.#sweeping = this.sweep()
        .catch(() => undefined) // the chain or database is away: the next tick retries from the same session
        .finally(() => {
          this.#sweeping = undefined;
          if (!this.#stopped) schedule();
        });
    };
    const schedule = () => {
      this.#timer = setTimeout(tick, SWEEP_INTERVAL_MS);
      this.#timer.unref();
    };
    schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#sweeping;
    await this.#queue;
  }
}
