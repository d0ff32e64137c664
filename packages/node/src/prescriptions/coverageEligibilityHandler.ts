/**
 * The insurer's side of an eligibility check between nodes: the handler of workflow kind
 * `coverage-eligibility`. The payload is a FHIR R4 CoverageEligibilityRequest whose `patient` is the patient's
 * ledger pseudonym (an identifier in urn:medledger:patient-pseudonym: the requester's own Patient ids mean
 * nothing here) and whose insurance names one coverage by reference (`Coverage/<id>` at this insurer) or by
 * identifier (the member id printed on the card). The answer is the CoverageEligibilityResponse of
 * @medledger/prescriptions' `decideEligibility`, with the patient given back as it was asked.
 *
 * Reads, all as system access asked for by name: the local Patient linked to the pseudonym and that patient's
 * Coverage records ("coverage eligibility"), and the formulary ("formulary") — MedicationKnowledge resources in
 * the US Drug Formulary STU1 shape, filed at the insurer's node as directory data (no patient), found by the
 * items' RxNorm codes.
 *
 * No oracle: an unknown patient, a patient without the Payment consent (eligibilityConsent.ts) and an unknown
 * coverage all get the same answer — outcome `error`, "unknown coverage", no insurance entries. Only an Insurer
 * organisation answers at all (anything else is the channel's uniform refusal).
 *
 * Limits: one patient per request; at most MAX_ITEMS items (more: the uniform refusal); at most MAX_COVERAGES
 * coverages per patient and MAX_FORMULARY_ENTRIES entries per drug code are considered.
 */
import type { ReceivedWorkflowRequest, WorkflowPayload } from '@medledger/exchange';
import { decideEligibility, RXNORM_SYSTEM } from '@medledger/prescriptions';
import type { Hex } from 'viem';
import { PATIENT_PSEUDONYM_SYSTEM } from '../access/PatientLinks.js';
import type { WorkflowAnswer, WorkflowHandler } from '../exchange/WorkflowChannel.js';
import type { NodeContext } from '../NodeContext.js';
import { eligibilityConsented } from './eligibilityConsent.js';

export const COVERAGE_ELIGIBILITY_KIND = 'coverage-eligibility';
const MAX_COVERAGES = 100;
const MAX_FORMULARY_ENTRIES = 100;
const MAX_ITEMS = 20;
/** A coverage reference no Coverage id can equal: what an identifier that matches nothing becomes. */
const NO_COVERAGE = 'Coverage/unknown-coverage';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

interface SearchBundle {
  entry?: { resource?: Obj }[];
}

/** The ledger pseudonym the request names as its patient, or undefined. */
export function requestedPseudonym(request: Obj): Hex | undefined {
  const identifier = isObj(request.patient) ? request.patient.identifier : undefined;
  if (!isObj(identifier) || identifier.system !== PATIENT_PSEUDONYM_SYSTEM) return undefined;
  const value = identifier.value;
  return typeof value === 'string' && /^0x[0-9a-f]{64}$/.test(value) ? (value as Hex) : undefined;
}

function sameIdentifier(a: unknown, b: Obj): boolean {
  if (!isObj(a) || typeof a.value !== 'string' || a.value !== b.value) return false;
  return b.system === undefined || a.system === b.system;
}

export function coverageEligibilityHandler(ctx: NodeContext): WorkflowHandler {
  const patients = ctx.records.system('coverage eligibility');
  const formulary = ctx.records.system('formulary');

  const search = async (records: typeof patients, type: string, params: Record<string, string>) =>
    (((await records.search(type, new URLSearchParams(params))) as SearchBundle).entry ?? [])
      .map((e) => e.resource)
      .filter(isObj);

  return async (call: ReceivedWorkflowRequest): Promise<WorkflowAnswer> => {
    if (ctx.config.organisationKind !== 'insurer') return {};
    const request = call.payload as Obj;
    if (request.resourceType !== 'CoverageEligibilityRequest') return {};
    const pseudonym = requestedPseudonym(request);
    if (pseudonym === undefined) return {};

    // The patient is looked up only under the patient's Payment consent to this insurer; otherwise the
    // answer is the unknown-coverage one, as for a patient this insurer does not know.
    await ctx.consent.catchUp(); // a grant relayed by another node a moment ago counts
    const consented = await eligibilityConsented(ctx.consent, pseudonym, ctx.organisationId);
    const linked = consented
      ? (await ctx.links.recordPseudonymsOf(ctx.db, [pseudonym])).get(pseudonym)
      : undefined;
    const patient = linked
      ? (
          await search(patients, 'Patient', {
            identifier: `${PATIENT_PSEUDONYM_SYSTEM}|${pseudonym}`,
            _count: '2',
          })
        )[0]
      : undefined;
    const patientId = typeof patient?.id === 'string' ? patient.id : undefined;
    const coverages = patientId
      ? await search(patients, 'Coverage', {
          beneficiary: `Patient/${patientId}`,
          _count: String(MAX_COVERAGES),
        })
      : [];

    const insurance = (Array.isArray(request.insurance) ? request.insurance : []).map((entry) => {
      if (!isObj(entry) || !isObj(entry.coverage) || !isObj(entry.coverage.identifier)) return entry;
      const wanted = entry.coverage.identifier;
      const found = coverages.find(
        (c) => Array.isArray(c.identifier) && c.identifier.some((i) => sameIdentifier(i, wanted)),
      );
      return { ...entry, coverage: { reference: found ? `Coverage/${found.id}` : NO_COVERAGE } };
    });

    // Bounded work per call; a longer request is refused as a whole (it depends on the request only).
    const items = Array.isArray(request.item) ? request.item : [];
    if (items.length > MAX_ITEMS) return {};
    const codes = new Set<string>();
    for (const item of items) {
      const coding = isObj(item) && isObj(item.productOrService) ? item.productOrService.coding : undefined;
      for (const c of Array.isArray(coding) ? coding : []) {
        if (
          isObj(c) &&
          c.system === RXNORM_SYSTEM &&
          typeof c.code === 'string' &&
          /^\d{1,12}$/.test(c.code)
        ) {
          codes.add(c.code);
        }
      }
    }
    const drugs: Obj[] = [];
    for (const code of codes) {
      drugs.push(
        ...(await search(formulary, 'MedicationKnowledge', {
          code: `${RXNORM_SYSTEM}|${code}`,
          _count: String(MAX_FORMULARY_ENTRIES),
        })),
      );
    }

    const decided = decideEligibility({
      request: {
        ...request,
        patient: { reference: `Patient/${patientId ?? 'unknown-patient'}` },
        ...(Array.isArray(request.insurance) ? { insurance } : {}),
      },
      coverages,
      formulary: drugs,
      now: new Date().toISOString(),
    });
    const subject = patientId ? ctx.records.patientPseudonym(patientId) : undefined;
    // A request decideEligibility cannot answer gets its OperationOutcome, which echoes no values.
    const payload = (
      decided.ok ? { ...decided.response, patient: request.patient } : decided.outcome
    ) as WorkflowPayload;
    return { payload, ...(subject ? { subject } : {}) };
  };
}
