/**
 * The insurer side of a pharmacy eligibility check: a FHIR R4 CoverageEligibilityRequest, the insurer's
 * Coverage records for the patient and its formulary (US Drug Formulary STU1 MedicationKnowledge, see
 * formularyDrug.ts) in; a CoverageEligibilityResponse out. For each coverage named (or, when none is named,
 * each of the patient's coverages): is it in force over the service date(s) (status active and period covering
 * servicedDate / servicedPeriod, else the request's creation date); and, when the purpose asks for benefits
 * or authorisation requirements, for each RxNorm-coded item: on the plan's formulary or excluded, its tier,
 * whether prior authorisation is required, step-therapy and quantity-limit flags and the copay.
 *
 * Where the answer goes: `excluded`, `authorizationRequired` and `benefit` (copay, benefit-type `copay`) are
 * R4 elements; the tier, step therapy and quantity limit ride on the response item as the IG's own extensions
 * (usdf-DrugTierID, usdf-StepTherapyLimit, usdf-QuantityLimit — the IG defines them on MedicationKnowledge,
 * so their use here is this product's, documented, not the IG's). Problems are error[] entries with codes from
 * eligibilityError.ts. `outcome` is `complete` when everything asked was answered (even if the answer is "not
 * in force" or "not on formulary"), `error` when some of it could not be (unknown coverage, malformed item).
 *
 * Never throws on bad input: a request that is not valid R4, or insurer records that are not, give
 * `{ ok: false, outcome }` with an OperationOutcome whose diagnostics echo no values (no PHI).
 * Limits: one formulary entry per drug and plan is used (a plan-specific entry before a general one); no
 * quantities, networks or accumulated benefits; the formulary is matched by RxNorm code only.
 */
import { type Issue, type OperationOutcome, operationOutcome, validateResource } from '@medledger/fhir';
import { RXNORM_SYSTEM } from '../controlled/classifyMedication.js';
import { ELIGIBILITY_ERROR_DISPLAY, ELIGIBILITY_ERROR_SYSTEM, EligibilityError } from './eligibilityError.js';
import { type DayBounds, fhirDateBounds } from './fhirDateBounds.js';
import {
  BENEFIT_TYPE_SYSTEM,
  type FormularyDrug,
  formularyDrug,
  USDF_DRUG_TIER,
  USDF_QUANTITY_LIMIT,
  USDF_STEP_THERAPY,
} from './formularyDrug.js';

export interface EligibilityInput {
  /** The CoverageEligibilityRequest as received (unvalidated). */
  readonly request: unknown;
  /** The insurer's Coverage records for the patient. */
  readonly coverages: readonly unknown[];
  /** The insurer's formulary: MedicationKnowledge resources. */
  readonly formulary: readonly unknown[];
  /** When the response is created (FHIR dateTime). */
  readonly now: string;
}

type Obj = Record<string, unknown>;

export interface CoverageEligibilityResponse {
  resourceType: 'CoverageEligibilityResponse';
  status: 'active';
  purpose: string[];
  patient: Obj;
  servicedDate?: string;
  servicedPeriod?: Obj;
  created: string;
  requestor?: Obj;
  request: { reference: string };
  outcome: 'complete' | 'error';
  disposition: string;
  insurer: Obj;
  insurance?: ResponseInsurance[];
  error?: { code: { coding: { system: string; code: string; display: string }[] } }[];
  [element: string]: unknown;
}

export interface ResponseInsurance {
  coverage: { reference: string };
  inforce: boolean;
  benefitPeriod?: Obj;
  item?: ResponseItem[];
}

export interface ResponseItem {
  extension?: Obj[];
  category?: Obj;
  productOrService: Obj;
  excluded: boolean;
  benefit?: Obj[];
  authorizationRequired?: boolean;
}

export type EligibilityResult =
  | { ok: true; response: CoverageEligibilityResponse }
  | { ok: false; outcome: OperationOutcome };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const refused = (issues: Issue[]): { ok: false; outcome: OperationOutcome } => ({
  ok: false,
  outcome: operationOutcome(issues),
});
const problem = (code: Issue['code'], diagnostics: string, expression: string): Issue => ({
  severity: 'error',
  code,
  diagnostics,
  expression: [expression],
});

const COVERAGE_REF = /(?:^|\/)Coverage\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const PHARMACY_CATEGORY = { text: 'Pharmacy' };

/** Decides a CoverageEligibilityRequest against the insurer's coverages and formulary. */
export function decideEligibility(input: EligibilityInput): EligibilityResult {
  const checked = checkInputs(input);
  if (!checked.ok) return checked;
  const { request, coverages, formulary } = checked;

  const service = serviceDays(request);
  if (service === undefined) {
    return refused([
      problem('required', 'No usable service or creation date', 'CoverageEligibilityRequest.serviced'),
    ]);
  }
  const patient = (request.patient as Obj).reference;
  const purpose = request.purpose as string[];
  const wantsItems = purpose.includes('benefits') || purpose.includes('auth-requirements');
  const errors = new Set<EligibilityError>();

  const named = Array.isArray(request.insurance) ? request.insurance.filter(isObj) : [];
  const selected: Obj[] = [];
  if (named.length === 0) {
    selected.push(...coverages.filter((c) => beneficiaryOf(c) === patient && typeof patient === 'string'));
    if (selected.length === 0) errors.add(EligibilityError.UnknownCoverage);
  } else {
    for (const insurance of named) {
      const ref = isObj(insurance.coverage) ? insurance.coverage.reference : undefined;
      const id = typeof ref === 'string' ? COVERAGE_REF.exec(ref)?.[1] : undefined;
      // A coverage of another patient is "unknown": the response must not confirm that it exists.
      const found = coverages.find((c) => c.id === id && beneficiaryOf(c) === patient);
      if (found === undefined) errors.add(EligibilityError.UnknownCoverage);
      else if (!selected.includes(found)) selected.push(found);
    }
  }

  const items = Array.isArray(request.item) ? request.item.filter(isObj) : [];
  const insurance: ResponseInsurance[] = selected.map((coverage) => {
    const inforce = inForce(coverage, service);
    if (!inforce) errors.add(EligibilityError.CoverageInactive);
    const entry: ResponseInsurance = {
      coverage: { reference: `Coverage/${coverage.id}` },
      inforce,
      ...(isObj(coverage.period) ? { benefitPeriod: coverage.period } : {}),
    };
    if (inforce && wantsItems && items.length > 0) {
      const plans = plansOf(coverage);
      entry.item = items.map((item) => {
        const answer = itemAnswer(item, plans, formulary);
        if (answer.error !== undefined) errors.add(answer.error);
        return answer.item;
      });
    }
    return entry;
  });
  if (wantsItems && items.length === 0) errors.add(EligibilityError.MalformedRequest);

  const incomplete =
    errors.has(EligibilityError.UnknownCoverage) || errors.has(EligibilityError.MalformedRequest);
  const response: CoverageEligibilityResponse = {
    resourceType: 'CoverageEligibilityResponse',
    status: 'active',
    purpose: [...purpose],
    patient: request.patient as Obj,
    ...(typeof request.servicedDate === 'string' ? { servicedDate: request.servicedDate } : {}),
    ...(isObj(request.servicedPeriod) ? { servicedPeriod: request.servicedPeriod } : {}),
    created: input.now,
    ...(isObj(request.provider) ? { requestor: request.provider } : {}),
    request: { reference: `CoverageEligibilityRequest/${request.id}` },
    outcome: incomplete ? 'error' : 'complete',
    disposition: disposition(errors, insurance),
    insurer: request.insurer as Obj,
    ...(insurance.length === 0 ? {} : { insurance }),
    ...(errors.size === 0
      ? {}
      : {
          error: [...errors].map((code) => ({
            code: {
              coding: [{ system: ELIGIBILITY_ERROR_SYSTEM, code, display: ELIGIBILITY_ERROR_DISPLAY[code] }],
            },
          })),
        }),
  };
  return { ok: true, response };
}

type Checked =
  | { ok: true; request: Obj; coverages: Obj[]; formulary: FormularyDrug[] }
  | { ok: false; outcome: OperationOutcome };

function checkInputs(input: EligibilityInput): Checked {
  if (!isObj(input)) return refused([problem('invalid', 'Eligibility input must be an object', 'input')]);
  const v = validateResource(input.request);
  if (!v.ok) return refused(v.issues);
  const request = v.resource as Obj;
  if (request.resourceType !== 'CoverageEligibilityRequest') {
    return refused([problem('invalid', 'Expected a CoverageEligibilityRequest', 'resourceType')]);
  }
  // The schema types status as a bare code; the required binding is checked here. Only an active request is
  // answered: cancelled, draft and entered-in-error ones ask nothing.
  if (request.status !== 'active') {
    return refused([
      problem('business-rule', 'Only an active request is answered', 'CoverageEligibilityRequest.status'),
    ]);
  }
  if (typeof request.id !== 'string') {
    return refused([
      problem('required', 'The request needs an id to be answered', 'CoverageEligibilityRequest.id'),
    ]);
  }
  if (typeof (request.patient as Obj).reference !== 'string') {
    return refused([
      problem('required', 'The patient must be a reference', 'CoverageEligibilityRequest.patient'),
    ]);
  }
  if (fhirDateBounds(input.now) === undefined) {
    return refused([problem('value', 'The response time is not a FHIR dateTime', 'now')]);
  }
  const coverages: Obj[] = [];
  for (const [i, c] of (Array.isArray(input.coverages) ? input.coverages : []).entries()) {
    const cv = validateResource(c);
    if (!cv.ok || cv.resource.resourceType !== 'Coverage' || typeof cv.resource.id !== 'string') {
      return refused([
        problem(
          'invalid',
          'An insurer Coverage record is not a valid R4 Coverage with an id',
          `coverages[${i}]`,
        ),
      ]);
    }
    coverages.push(cv.resource as Obj);
  }
  const formulary: FormularyDrug[] = [];
  for (const [i, m] of (Array.isArray(input.formulary) ? input.formulary : []).entries()) {
    const mv = validateResource(m);
    if (!mv.ok || mv.resource.resourceType !== 'MedicationKnowledge') {
      return refused([
        problem('invalid', 'A formulary entry is not a valid R4 MedicationKnowledge', `formulary[${i}]`),
      ]);
    }
    formulary.push(formularyDrug(mv.resource as Obj));
  }
  return { ok: true, request, coverages, formulary };
}

function beneficiaryOf(coverage: Obj): unknown {
  return isObj(coverage.beneficiary) ? coverage.beneficiary.reference : undefined;
}

/** The days the request asks about: servicedDate, servicedPeriod (open end = its start), else `created`. */
function serviceDays(request: Obj): DayBounds | undefined {
  if (request.servicedDate !== undefined) return fhirDateBounds(request.servicedDate);
  if (isObj(request.servicedPeriod)) {
    const start = fhirDateBounds(request.servicedPeriod.start);
    const end = request.servicedPeriod.end === undefined ? start : fhirDateBounds(request.servicedPeriod.end);
    if (start === undefined || end === undefined) return undefined;
    return { first: start.first, last: end.last };
  }
  return fhirDateBounds(request.created);
}

function inForce(coverage: Obj, service: DayBounds): boolean {
  // Only `active` is in force; cancelled, draft and entered-in-error are not.
  if (coverage.status !== 'active') return false;
  const period = isObj(coverage.period) ? coverage.period : {};
  const start = period.start === undefined ? undefined : fhirDateBounds(period.start);
  const end = period.end === undefined ? undefined : fhirDateBounds(period.end);
  if ((period.start !== undefined && start === undefined) || (period.end !== undefined && end === undefined))
    return false;
  return (
    (start === undefined || start.first <= service.first) && (end === undefined || service.last <= end.last)
  );
}

/** The coverage's plan identifiers: Coverage.class entries of type `plan`. */
function plansOf(coverage: Obj): string[] {
  const classes = Array.isArray(coverage.class) ? coverage.class.filter(isObj) : [];
  return classes
    .filter(
      (c) =>
        isObj(c.type) &&
        Array.isArray(c.type.coding) &&
        c.type.coding.some((t) => isObj(t) && t.code === 'plan'),
    )
    .map((c) => c.value)
    .filter((v): v is string => typeof v === 'string');
}

function itemAnswer(
  item: Obj,
  plans: readonly string[],
  formulary: readonly FormularyDrug[],
): { item: ResponseItem; error?: EligibilityError } {
  const product = isObj(item.productOrService) ? item.productOrService : undefined;
  const category = isObj(item.category) ? item.category : PHARMACY_CATEGORY;
  const codes = (product !== undefined && Array.isArray(product.coding) ? product.coding : [])
    .filter((c): c is Obj => isObj(c) && c.system === RXNORM_SYSTEM && typeof c.code === 'string')
    .map((c) => c.code as string);
  if (product === undefined || codes.length === 0) {
    return {
      item: { category, productOrService: product ?? { text: 'unspecified' }, excluded: true },
      error: EligibilityError.MalformedRequest,
    };
  }
  const candidates = formulary.filter((d) => d.active && d.rxnorm.some((c) => codes.includes(c)));
  const entry =
    candidates.find((d) => d.plans.some((p) => plans.includes(p))) ??
    candidates.find((d) => d.plans.length === 0);
  if (entry === undefined) {
    return {
      item: { category, productOrService: product, excluded: true },
      error: EligibilityError.NotOnFormulary,
    };
  }
  const extension: Obj[] = [
    ...(entry.tier === undefined
      ? []
      : [{ url: USDF_DRUG_TIER, valueCodeableConcept: { coding: [entry.tier] } }]),
    { url: USDF_STEP_THERAPY, valueBoolean: entry.stepTherapy },
    { url: USDF_QUANTITY_LIMIT, valueBoolean: entry.quantityLimit },
  ];
  return {
    item: {
      extension,
      category,
      productOrService: product,
      excluded: false,
      ...(entry.copay === undefined
        ? {}
        : {
            benefit: [
              {
                type: { coding: [{ system: BENEFIT_TYPE_SYSTEM, code: 'copay' }] },
                allowedMoney: entry.copay,
              },
            ],
          }),
      authorizationRequired: entry.priorAuthorization,
    },
  };
}

function disposition(errors: ReadonlySet<EligibilityError>, insurance: readonly ResponseInsurance[]): string {
  if (errors.size > 0) return [...errors].map((e) => ELIGIBILITY_ERROR_DISPLAY[e]).join('; ');
  const pa = insurance.some((i) => i.item?.some((x) => x.authorizationRequired === true));
  return pa ? 'Coverage in force; prior authorization required' : 'Coverage in force';
}
