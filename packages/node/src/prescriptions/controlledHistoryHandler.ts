/**
 * The answering side of controlled-substance monitoring between nodes: the handler of workflow kind
 * `controlled-substance-history`, and the reading and stripping both sides share.
 *
 * The request (FHIR Parameters): `patient` — the patient's ledger pseudonym (valueIdentifier in
 * urn:medledger:patient-pseudonym), `member` — the requesting person's member account (valueString), and any
 * number of `prescription` — on-chain prescription ids (valueIdentifier in urn:medledger:prescription) whose
 * dispenses a pharmacy is asked for (a pharmacy does not know the patient: its dispenses name the prescription).
 * The answer: a Bundle (collection) of stripped MedicationRequests and MedicationDispenses.
 *
 * Checks, in order: the sender is active (the channel); the consortium's policy is enabled on-chain; the named
 * member may monitor for the sender (monitoringPolicy.ts). Then, as system access named
 * "controlled-substance monitoring", it reads that patient's MedicationRequests and MedicationDispenses and this
 * node's dispenses of the named prescriptions, keeps the controlled ones (`classifyMedication`) of the policy's
 * look-back, and strips each to what monitoring needs. Non-controlled medications never leave the node.
 *
 * No oracle: policy off, a member not allowed, an unknown patient and a patient with no controlled records all
 * get the same empty Bundle. The event in this node's audit log names the patient (when known here), the
 * requesting organisation and member, and purpose of use TREAT "controlled-substance monitoring".
 *
 * Limits: at most MAX_RECORDS of each resource type per patient and MAX_PRESCRIPTIONS named prescriptions are
 * considered; a pharmacy's dispenses are found among its latest MAX_RECORDS dispenses of the look-back.
 */
import { sha256, utf8ToBytes } from '@medledger/crypto';
import type { ReceivedWorkflowRequest, WorkflowPayload } from '@medledger/exchange';
import { classifyMedication } from '@medledger/prescriptions';
import type { Address, Hex } from 'viem';
import { PATIENT_PSEUDONYM_SYSTEM } from '../access/PatientLinks.js';
import { MEMBER_SYSTEM, ORGANISATION_SYSTEM } from '../audit/auditEvents.js';
import type { OrganisationDirectory } from '../exchange/OrganisationDirectory.js';
import type { WorkflowAnswer, WorkflowHandler } from '../exchange/WorkflowChannel.js';
import type { NodeContext } from '../NodeContext.js';
import type { Records } from '../services/RecordService.js';
import { mayMonitor, readMonitoringPolicy } from './monitoringPolicy.js';
import { PRESCRIPTION_ID_SYSTEM } from './prescriptionOrder.js';

export const CONTROLLED_HISTORY_KIND = 'controlled-substance-history';
/** The name of the system access that reads for monitoring (the caller id the kernel and audit see). */
export const MONITORING_ACCESS = 'controlled-substance monitoring';
export const MONITORING_PURPOSE = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }],
  text: MONITORING_ACCESS,
};
const MAX_RECORDS = 200;
export const MAX_PRESCRIPTIONS = 100;
const PRESCRIBER_TAG_SYSTEM = 'urn:medledger:prescriber-tag';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const DAY_MS = 86_400_000;

export interface MonitoringAsk {
  pseudonym?: Hex;
  member?: Address;
  prescriptions: Hex[];
}

/** Reads the request Parameters; undefined for anything malformed. */
export function parseMonitoringAsk(payload: unknown): MonitoringAsk | undefined {
  if (!isObj(payload) || payload.resourceType !== 'Parameters' || !Array.isArray(payload.parameter)) return;
  const ask: MonitoringAsk = { prescriptions: [] };
  for (const p of payload.parameter) {
    if (!isObj(p)) return;
    const id = isObj(p.valueIdentifier) ? p.valueIdentifier : undefined;
    if (p.name === 'patient' && id?.system === PATIENT_PSEUDONYM_SYSTEM && typeof id.value === 'string') {
      if (!/^0x[0-9a-f]{64}$/.test(id.value) || ask.pseudonym) return;
      ask.pseudonym = id.value as Hex;
    } else if (p.name === 'member' && typeof p.valueString === 'string') {
      if (!/^0x[0-9a-fA-F]{40}$/.test(p.valueString) || ask.member) return;
      ask.member = p.valueString.toLowerCase() as Address;
    } else if (p.name === 'prescription' && id?.system === PRESCRIPTION_ID_SYSTEM) {
      if (typeof id.value !== 'string' || !/^0x[0-9a-f]{64}$/.test(id.value)) return;
      ask.prescriptions.push(id.value as Hex);
    } else return;
  }
  if (!ask.member || ask.prescriptions.length > MAX_PRESCRIPTIONS) return;
  return ask;
}

/** The Parameters a requester sends. */
export function monitoringAskPayload(ask: Required<MonitoringAsk>): WorkflowPayload {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'patient', valueIdentifier: { system: PATIENT_PSEUDONYM_SYSTEM, value: ask.pseudonym } },
      { name: 'member', valueString: ask.member },
      ...ask.prescriptions.map((value) => ({
        name: 'prescription',
        valueIdentifier: { system: PRESCRIPTION_ID_SYSTEM, value },
      })),
    ],
  } as unknown as WorkflowPayload;
}

const controlled = (r: Obj) => classifyMedication(r.medicationCodeableConcept).ingredients.length > 0;

const pick = (from: Obj, keys: readonly string[]): Obj =>
  Object.fromEntries(keys.filter((k) => from[k] !== undefined).map((k) => [k, from[k]]));

/** Dosage without free text that could carry notes about the patient (timing, dose, route stay). */
const dosage = (v: unknown) =>
  Array.isArray(v)
    ? v.filter(isObj).map((d) => pick(d, ['sequence', 'timing', 'asNeededBoolean', 'route', 'doseAndRate']))
    : undefined;

const tag = (organisation: number) => ({
  tag: [{ system: ORGANISATION_SYSTEM, code: String(organisation) }],
});

const prescriberTag = (organisation: number, who: string) =>
  who.startsWith('0x')
    ? { identifier: { system: MEMBER_SYSTEM, value: who.toLowerCase() } }
    : {
        identifier: {
          system: PRESCRIBER_TAG_SYSTEM,
          value: Buffer.from(sha256(utf8ToBytes(`${organisation}|${who}`)))
            .subarray(0, 12)
            .toString('hex'),
        },
      };

/** A MedicationRequest reduced to what monitoring needs, tagged with its organisation. */
export function stripRequest(
  r: Obj,
  organisation: number,
  prescription?: { id: Hex; prescriber: string },
): Obj {
  const dr = isObj(r.dispenseRequest) ? r.dispenseRequest : {};
  const requester =
    isObj(r.requester) && typeof r.requester.reference === 'string' ? r.requester.reference : '';
  return {
    resourceType: 'MedicationRequest',
    id: r.id,
    meta: tag(organisation),
    ...(prescription ? { identifier: [{ system: PRESCRIPTION_ID_SYSTEM, value: prescription.id }] } : {}),
    ...pick(r, ['status', 'intent', 'medicationCodeableConcept', 'authoredOn']),
    subject: { display: 'the monitored patient' },
    requester: prescriberTag(organisation, prescription?.prescriber ?? requester),
    ...(dosage(r.dosageInstruction) ? { dosageInstruction: dosage(r.dosageInstruction) } : {}),
    dispenseRequest: pick(dr, [
      'validityPeriod',
      'numberOfRepeatsAllowed',
      'quantity',
      'expectedSupplyDuration',
    ]),
    performer: { identifier: { system: ORGANISATION_SYSTEM, value: String(organisation) } },
  };
}

/** A MedicationDispense reduced to what monitoring needs; the pharmacy is `organisation`. */
export function stripDispense(d: Obj, organisation: number): Obj {
  return {
    resourceType: 'MedicationDispense',
    id: d.id,
    meta: tag(organisation),
    ...pick(d, [
      'status',
      'medicationCodeableConcept',
      'quantity',
      'daysSupply',
      'whenPrepared',
      'whenHandedOver',
      'authorizingPrescription',
    ]),
    subject: { display: 'the monitored patient' },
    ...(dosage(d.dosageInstruction) ? { dosageInstruction: dosage(d.dosageInstruction) } : {}),
    performer: [{ actor: { identifier: { system: ORGANISATION_SYSTEM, value: String(organisation) } } }],
  };
}

const recordDay = (r: Obj): string | undefined => {
  const dr = isObj(r.dispenseRequest) ? r.dispenseRequest : {};
  const vp = isObj(dr.validityPeriod) ? dr.validityPeriod : {};
  const v = r.whenHandedOver ?? r.whenPrepared ?? vp.end ?? vp.start ?? r.authoredOn;
  return typeof v === 'string' ? v : undefined;
};

const within = (r: Obj, sinceMs: number) => {
  const day = recordDay(r);
  return day === undefined || Date.parse(day) >= sinceMs;
};

async function search(records: Records, type: string, params: Record<string, string>): Promise<Obj[]> {
  const bundle = (await records.search(type, new URLSearchParams(params))) as {
    entry?: { resource?: unknown }[];
  };
  return (bundle.entry ?? []).map((e) => e.resource).filter(isObj);
}

/**
 * This node's controlled records for monitoring: the patient's requests and dispenses (when `patientId` is
 * given) and its dispenses of `prescriptions`, within `lookbackDays`, stripped.
 */
export async function localControlledHistory(
  ctx: NodeContext,
  records: Records,
  input: { patientId?: string; prescriptions: readonly Hex[]; lookbackDays: number },
): Promise<Obj[]> {
  const sinceMs = Date.now() - input.lookbackDays * DAY_MS;
  const out: Obj[] = [];
  const seen = new Set<string>();
  if (input.patientId) {
    const subject = `Patient/${input.patientId}`;
    const requests = (await search(records, 'MedicationRequest', { subject, _count: String(MAX_RECORDS) }))
      .filter(controlled)
      .filter((r) => within(r, sinceMs));
    const ids = requests.map((r) => String(r.id));
    const onChain = new Map<string, { id: Hex; prescriber: string }>();
    if (ids.length > 0) {
      const { rows } = await ctx.db.query<{
        record_id: string;
        prescription_id: Uint8Array;
        prescriber: string;
      }>('SELECT record_id, prescription_id, prescriber FROM rx_prescriptions WHERE record_id = ANY($1)', [
        ids,
      ]);
      for (const row of rows) {
        onChain.set(row.record_id, {
          id: `0x${Buffer.from(row.prescription_id).toString('hex')}` as Hex,
          prescriber: row.prescriber,
        });
      }
    }
    for (const r of requests) out.push(stripRequest(r, ctx.organisationId, onChain.get(String(r.id))));
    for (const d of await search(records, 'MedicationDispense', { subject, _count: String(MAX_RECORDS) })) {
      if (controlled(d) && within(d, sinceMs)) {
        seen.add(String(d.id));
        out.push(stripDispense(d, ctx.organisationId));
      }
    }
  }
  if (input.prescriptions.length > 0) {
    const wanted = new Set(input.prescriptions);
    const since = new Date(sinceMs).toISOString();
    const dispenses = await search(records, 'MedicationDispense', {
      whenhandedover: `ge${since}`,
      _sort: '-_lastUpdated',
      _count: String(MAX_RECORDS),
    });
    for (const d of dispenses) {
      const auth = Array.isArray(d.authorizingPrescription) ? d.authorizingPrescription : [];
      const named = auth.some(
        (a) =>
          isObj(a) &&
          isObj(a.identifier) &&
          a.identifier.system === PRESCRIPTION_ID_SYSTEM &&
          wanted.has(a.identifier.value as Hex),
      );
      if (named && controlled(d) && !seen.has(String(d.id))) out.push(stripDispense(d, ctx.organisationId));
    }
  }
  return out;
}

export const historyBundle = (resources: readonly Obj[]): WorkflowPayload =>
  ({
    resourceType: 'Bundle',
    type: 'collection',
    entry: resources.map((resource) => ({ resource })),
  }) as unknown as WorkflowPayload;

export function controlledHistoryHandler(
  ctx: NodeContext,
  directory: OrganisationDirectory,
): WorkflowHandler {
  const records = ctx.records.system(MONITORING_ACCESS);
  return async (call: ReceivedWorkflowRequest): Promise<WorkflowAnswer> => {
    const nothing: WorkflowAnswer = { payload: historyBundle([]), purposeOfUse: MONITORING_PURPOSE };
    const ask = parseMonitoringAsk(call.payload);
    if (!ask?.member) return nothing;
    const audit = { member: ask.member, purposeOfUse: MONITORING_PURPOSE };
    await ctx.consent.catchUp();
    const policy = await readMonitoringPolicy(ctx);
    if (!policy.enabled) return { ...nothing, ...audit };
    if (!(await mayMonitor(ctx, directory, call.requester.organisation, ask.member))) {
      return { ...nothing, ...audit };
    }
    const linked = ask.pseudonym
      ? (await ctx.links.recordPseudonymsOf(ctx.db, [ask.pseudonym])).get(ask.pseudonym)
      : undefined;
    const patient = linked
      ? (
          await search(records, 'Patient', {
            identifier: `${PATIENT_PSEUDONYM_SYSTEM}|${ask.pseudonym}`,
            _count: '2',
          })
        )[0]
      : undefined;
    const patientId = typeof patient?.id === 'string' ? patient.id : undefined;
    const found = await localControlledHistory(ctx, records, {
      ...(patientId ? { patientId } : {}),
      prescriptions: ask.prescriptions,
      lookbackDays: policy.lookbackDays,
    });
    const subject = patientId ? ctx.records.patientPseudonym(patientId) : undefined;
    return { payload: historyBundle(found), ...audit, ...(subject ? { subject } : {}) };
  };
}
