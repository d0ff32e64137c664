/**
 * The input of `POST /fhir/$coverage-eligibility`: a FHIR `Parameters` resource naming whom to ask about what.
 * Parameters (each once unless said otherwise):
 *
 * | name | value[x] | meaning |
 * |---|---|---|
 * | `insurer` | `valueInteger`, or `valueString` | the insurer's organisation id in the ConsortiumRegistry, or its name as the directory lists it (resolved to the id by the feature) |
 * | `patient` | `valueIdentifier` in `urn:medledger:patient-pseudonym`, or `valueString` | the patient's ledger pseudonym, 0x + 64 lower-case hex |
 * | `coverage` | `valueReference` (`Coverage/<id>` at the insurer) or `valueIdentifier` (the member id on the card) | the coverage asked about |
 * | `medicationRequest` | `resource` (a MedicationRequest) | the prescription; its drug must carry an RxNorm coding |
 * | `medication` | `valueCoding` or `valueCodeableConcept` (RxNorm) | instead of `medicationRequest`: the drug |
 * | `date` | `valueDate`, optional | the date of service (default: today) |
 * | `purpose` | `valueCode`, optional, repeatable | auth-requirements, benefits, discovery, validation (default benefits + validation) |
 *
 * Malformed input is MDL_BAD_INPUT naming the parameter, never echoing its value.
 */
import { MdlError, MdlErrorCode, type MdlIssue } from '@medledger/core';
import type { EligibilityPurpose } from '@medledger/prescriptions';
import { RXNORM_SYSTEM } from '@medledger/prescriptions';
import type { Hex } from 'viem';
import { PATIENT_PSEUDONYM_SYSTEM } from '../access/PatientLinks.js';

export interface EligibilityAsk {
  insurer: number;
  patient: Hex;
  /** `{reference: 'Coverage/<id>'}` or `{identifier: {system?, value}}`, as the insurer is to read it. */
  coverage: { reference: string } | { identifier: { system?: string; value: string } };
  /** A MedicationRequest (given, or made from `medication`) for eligibilityRequestFor. */
  medicationRequest: Record<string, unknown>;
  date?: string;
  purpose?: EligibilityPurpose[];
}

const NAMES = new Set([
  'insurer',
  'patient',
  'coverage',
  'medicationRequest',
  'medication',
  'date',
  'purpose',
]);
const PURPOSES = new Set<string>(['auth-requirements', 'benefits', 'discovery', 'validation']);

type Parameter = Record<string, unknown> & { name?: unknown };
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(parameter: string, message: string): MdlError {
  const issue: MdlIssue = {
    severity: 'error',
    code: 'invalid',
    diagnostics: message,
    expression: [`Parameters.parameter.where(name='${parameter}')`],
  };
  return new MdlError(MdlErrorCode.BadInput, `Parameters: ${message}`, { issues: [issue] });
}

function single(params: Parameter[], name: string, required: boolean): Parameter | undefined {
  const found = params.filter((p) => p.name === name);
  if (found.length > 1) throw bad(name, `${name} must be given once`);
  if (required && found.length === 0) throw bad(name, `${name} is required`);
  return found[0];
}

function drugConcept(p: Parameter): Obj {
  const concept = isObj(p.valueCodeableConcept)
    ? p.valueCodeableConcept
    : isObj(p.valueCoding)
      ? { coding: [p.valueCoding] }
      : undefined;
  const rx = (isObj(concept) && Array.isArray(concept.coding) ? concept.coding : []).filter(
    (c) => isObj(c) && c.system === RXNORM_SYSTEM && typeof c.code === 'string' && /^\d{1,12}$/.test(c.code),
  );
  if (!concept || rx.length === 0) {
    throw bad('medication', `medication must be a valueCoding or valueCodeableConcept with an RxNorm code`);
  }
  return { coding: rx, ...(typeof concept.text === 'string' ? { text: concept.text } : {}) };
}

export function parseEligibilityParameters(body: unknown): EligibilityAsk {
  if (!isObj(body) || body.resourceType !== 'Parameters') {
    throw new MdlError(MdlErrorCode.BadInput, 'the body must be a FHIR Parameters resource');
  }
  const raw = body.parameter;
  if (!Array.isArray(raw) || raw.length > 32) {
    throw new MdlError(MdlErrorCode.BadInput, 'Parameters.parameter must be a list');
  }
  const params = raw as Parameter[];
  for (const p of params) {
    if (!isObj(p) || typeof p.name !== 'string' || !NAMES.has(p.name)) {
      throw new MdlError(MdlErrorCode.BadInput, `Parameters.parameter: names are ${[...NAMES].join(', ')}`);
    }
  }

  const insurerParam = single(params, 'insurer', true)!;
  const insurer = insurerParam.valueInteger ?? insurerParam.valuePositiveInt;
  if (typeof insurer !== 'number' || !Number.isInteger(insurer) || insurer < 1 || insurer > 0xffffffff) {
    throw bad('insurer', 'insurer must be a valueInteger organisation id, or a valueString name');
  }

  const patientParam = single(params, 'patient', true)!;
  const identifier = patientParam.valueIdentifier;
  const patient = isObj(identifier)
    ? identifier.system === PATIENT_PSEUDONYM_SYSTEM
      ? identifier.value
      : undefined
    : patientParam.valueString;
  if (typeof patient !== 'string' || !/^0x[0-9a-f]{64}$/.test(patient)) {
    throw bad('patient', 'patient must be the ledger pseudonym, 0x and 64 lower-case hex digits');
  }

  const coverageParam = single(params, 'coverage', true)!;
  let coverage: EligibilityAsk['coverage'];
  const ref = isObj(coverageParam.valueReference) ? coverageParam.valueReference.reference : undefined;
  const id = coverageParam.valueIdentifier;
  if (typeof ref === 'string' && /^Coverage\/[A-Za-z0-9\-.]{1,64}$/.test(ref)) {
    coverage = { reference: ref };
  } else if (
    isObj(id) &&
    typeof id.value === 'string' &&
    id.value.length > 0 &&
    id.value.length <= 128 &&
    (id.system === undefined || (typeof id.system === 'string' && id.system.length <= 256))
  ) {
    coverage = {
      identifier: { ...(typeof id.system === 'string' ? { system: id.system } : {}), value: id.value },
    };
  } else {
    throw bad('coverage', 'coverage must be a valueReference Coverage/<id> or a valueIdentifier');
  }

  const mrParam = single(params, 'medicationRequest', false);
  const medParam = single(params, 'medication', false);
  if ((mrParam === undefined) === (medParam === undefined)) {
    throw bad('medicationRequest', 'give exactly one of medicationRequest and medication');
  }
  let medicationRequest: Obj;
  if (mrParam) {
    if (!isObj(mrParam.resource) || mrParam.resource.resourceType !== 'MedicationRequest') {
      throw bad('medicationRequest', 'medicationRequest must carry a MedicationRequest resource');
    }
    medicationRequest = mrParam.resource;
  } else {
    // The prescription is not at hand (a pharmacist asks before dispensing): a minimal order for the drug.
    medicationRequest = {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: 'Patient/eligibility-subject' },
      medicationCodeableConcept: drugConcept(medParam!),
    };
  }

  const ask: EligibilityAsk = {
    insurer,
    patient: patient as Hex,
    coverage,
    medicationRequest,
  };
  const dateParam = single(params, 'date', false);
  if (dateParam) {
    const d = dateParam.valueDate;
    if (typeof d !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(d) || Number.isNaN(Date.parse(d))) {
      throw bad('date', 'date must be a valueDate (YYYY-MM-DD)');
    }
    ask.date = d;
  }
  const purposes = params.filter((p) => p.name === 'purpose').map((p) => p.valueCode);
  if (purposes.length > 0) {
    if (!purposes.every((c) => typeof c === 'string' && PURPOSES.has(c))) {
      throw bad('purpose', `purpose must be one of ${[...PURPOSES].join(', ')}`);
    }
    ask.purpose = [...new Set(purposes as EligibilityPurpose[])];
  }
  return ask;
}
