/**
 * The requester side of an eligibility check: builds the FHIR R4 CoverageEligibilityRequest a prescriber or
 * pharmacy sends to the patient's insurer for one MedicationRequest and one Coverage reference. The item's
 * productOrService is the prescription's drug (its CodeableConcept, or a contained Medication's code) and must
 * carry an RxNorm coding, because insurers match formularies by RxNorm; the provider is the prescription's
 * requester when that is a practitioner or organisation. Purpose defaults to ['benefits', 'validation'] and
 * the service date to the creation date. Never throws: bad input yields an OperationOutcome, and the built
 * request is checked against the R4 schema before it is returned.
 */
import { type Issue, type OperationOutcome, operationOutcome, validateResource } from '@medledger/fhir';
import { RXNORM_SYSTEM } from '../controlled/classifyMedication.js';
import { fhirDateBounds } from './fhirDateBounds.js';

export type EligibilityPurpose = 'auth-requirements' | 'benefits' | 'discovery' | 'validation';

export interface EligibilityRequestOptions {
  /** Reference to the patient's Coverage at the insurer, e.g. `Coverage/123`. */
  readonly coverage: string;
  /** Reference to the insurer Organization. */
  readonly insurer: string;
  /** Creation time (FHIR dateTime). */
  readonly created: string;
  readonly id?: string;
  readonly purpose?: readonly EligibilityPurpose[];
  /** The date the drug is to be dispensed; default: the date of `created`. */
  readonly servicedDate?: string;
}

export type EligibilityRequestResult =
  | { ok: true; request: Record<string, unknown> }
  | { ok: false; outcome: OperationOutcome };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const refused = (code: Issue['code'], diagnostics: string, expression: string): EligibilityRequestResult => ({
  ok: false,
  outcome: operationOutcome([{ severity: 'error', code, diagnostics, expression: [expression] }]),
});

const PURPOSES: readonly EligibilityPurpose[] = ['auth-requirements', 'benefits', 'discovery', 'validation'];
const PROVIDER = /^(?:Practitioner|PractitionerRole|Organization)\//;

export function eligibilityRequestFor(
  medicationRequest: unknown,
  options: EligibilityRequestOptions,
): EligibilityRequestResult {
  const v = validateResource(medicationRequest);
  if (!v.ok) return { ok: false, outcome: operationOutcome(v.issues) };
  const mr = v.resource as Obj;
  if (mr.resourceType !== 'MedicationRequest')
    return refused('invalid', 'Expected a MedicationRequest', 'resourceType');
  if (!isObj(options)) return refused('invalid', 'Options are required', 'options');
  const subject = (mr.subject as Obj).reference;
  if (typeof subject !== 'string')
    return refused('required', 'The subject must be a reference', 'MedicationRequest.subject');
  const drug = drugOf(mr);
  if (drug === undefined) {
    return refused('code-invalid', 'The drug has no RxNorm coding', 'MedicationRequest.medication');
  }
  const purpose = options.purpose ?? ['benefits', 'validation'];
  if (purpose.length === 0 || purpose.some((p) => !PURPOSES.includes(p))) {
    return refused('value', 'Purpose must be a non-empty list of eligibility purposes', 'purpose');
  }
  const created = fhirDateBounds(options.created);
  if (created === undefined) return refused('value', 'created is not a FHIR dateTime', 'created');
  const servicedDate = options.servicedDate ?? created.first;
  const requester = isObj(mr.requester) ? mr.requester.reference : undefined;
  const request: Obj = {
    resourceType: 'CoverageEligibilityRequest',
    ...(options.id === undefined ? {} : { id: options.id }),
    status: 'active',
    purpose: [...new Set(purpose)],
    patient: { reference: subject },
    servicedDate,
    created: options.created,
    ...(typeof requester === 'string' && PROVIDER.test(requester)
      ? { provider: { reference: requester } }
      : {}),
    insurer: { reference: options.insurer },
    insurance: [{ focal: true, coverage: { reference: options.coverage } }],
    item: [
      {
        category: { text: 'Pharmacy' },
        productOrService: drug,
        ...(isObj(mr.dispenseRequest) && isObj(mr.dispenseRequest.quantity)
          ? { quantity: mr.dispenseRequest.quantity }
          : {}),
      },
    ],
  };
  const out = validateResource(request);
  if (!out.ok) return { ok: false, outcome: operationOutcome(out.issues) };
  return { ok: true, request };
}

/** The prescription's drug with its RxNorm codings (others dropped), or undefined when it has none. */
function drugOf(mr: Obj): Obj | undefined {
  let concept: unknown = mr.medicationCodeableConcept;
  const ref = isObj(mr.medicationReference) ? mr.medicationReference.reference : undefined;
  if (
    concept === undefined &&
    typeof ref === 'string' &&
    ref.startsWith('#') &&
    Array.isArray(mr.contained)
  ) {
    const med = mr.contained.find(
      (c) => isObj(c) && c.resourceType === 'Medication' && c.id === ref.slice(1),
    );
    if (isObj(med)) concept = med.code;
  }
  if (!isObj(concept) || !Array.isArray(concept.coding)) return undefined;
  const coding = concept.coding.filter(
    (c) => isObj(c) && c.system === RXNORM_SYSTEM && typeof c.code === 'string',
  );
  if (coding.length === 0) return undefined;
  return { coding, ...(typeof concept.text === 'string' ? { text: concept.text } : {}) };
}
