/**
 * What a posted MedicationRequest must hold to become a prescription the ledger enforces, read into the
 * contract's terms: an active order for a local Patient, an RxNorm-coded medicationCodeableConcept, a dosage
 * instruction, and a dispenseRequest with quantity (whole units), numberOfRepeatsAllowed and a
 * validityPeriod that ends. The controlled-substance schedule is the one declared in the extension
 * CONTROLLED_SCHEDULE_EXTENSION or, when none is declared, the one the medication's ingredients have in the
 * built-in table (@medledger/prescriptions); a declaration less strict than the ingredients is refused.
 * Interaction overrides are INTERACTION_OVERRIDE_EXTENSION entries, one per card, with the card's uuid and a
 * reason. Pure: no I/O; errors name the element at fault and never echo a value.
 */
import { Schedule } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { classifyMedication, RXNORM_SYSTEM } from '@medledger/prescriptions';

export const CONTROLLED_SCHEDULE_EXTENSION =
  'http://medledger.example/fhir/StructureDefinition/controlled-schedule';
export const INTERACTION_OVERRIDE_EXTENSION =
  'http://medledger.example/fhir/StructureDefinition/interaction-override';
/** The identifier system under which a stored MedicationRequest carries its on-chain id. */
export const PRESCRIPTION_ID_SYSTEM = 'urn:medledger:prescription';

/** valueCode of the schedule extension → the contract's Schedule. */
const SCHEDULE_CODES: Readonly<Record<string, Schedule>> = {
  none: Schedule.None,
  I: Schedule.I,
  II: Schedule.II,
  III: Schedule.III,
  IV: Schedule.IV,
  V: Schedule.V,
};
export const SCHEDULE_CODE_OF: readonly string[] = ['none', 'I', 'II', 'III', 'IV', 'V'];

/** UCUM units of expectedSupplyDuration, in seconds. */
const DURATION_SECONDS: Readonly<Record<string, number>> = {
  s: 1,
  min: 60,
  h: 3600,
  d: 86_400,
  wk: 7 * 86_400,
};

const UINT32_MAX = 2 ** 32 - 1;

export interface PrescriptionOrder {
  /** The resource to store (the derived schedule added as the extension when none was declared). */
  resource: Record<string, unknown> & { resourceType: 'MedicationRequest' };
  patientId: string;
  schedule: Schedule;
  fillsAllowed: number;
  quantityAllowed: number;
  notBefore: number;
  notAfter: number;
  /** Days of supply of one fill, in seconds (refill reminders); undefined when not stated. */
  supplySeconds: number | undefined;
  /** Card uuid → override reason, as the request stated them. */
  overrides: ReadonlyMap<string, string>;
}

function invalid(expression: string, message: string): MdlError {
  const diagnostics = `${expression}: ${message}`;
  return new MdlError(MdlErrorCode.BadInput, diagnostics, {
    issues: [{ severity: 'error', code: 'invalid', diagnostics, expression: [expression] }],
  });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function seconds(value: unknown, expression: string): number {
  if (
    typeof value !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)
  ) {
    throw invalid(expression, 'a FHIR dateTime is required');
  }
  const ms = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) throw invalid(expression, 'not a valid date');
  return Math.floor(ms / 1000);
}

/** The body of `$prescribe`: the MedicationRequest itself, or Parameters with it as `resource`. */
export function orderResourceOf(body: unknown): Record<string, unknown> {
  if (isObject(body) && body.resourceType === 'Parameters') {
    const params = Array.isArray(body.parameter) ? body.parameter : [];
    const found = params.filter((p) => isObject(p) && p.name === 'resource');
    if (found.length !== 1 || !isObject((found[0] as Record<string, unknown>).resource)) {
      throw invalid('Parameters.parameter', 'exactly one resource parameter holding a MedicationRequest');
    }
    return (found[0] as Record<string, unknown>).resource as Record<string, unknown>;
  }
  if (!isObject(body)) throw invalid('MedicationRequest', 'a MedicationRequest resource is required');
  return body;
}

/** Reads the order; `now` (unix seconds, the chain's time) is the start of a window that states none. */
export function readPrescriptionOrder(input: Record<string, unknown>, now: number): PrescriptionOrder {
  if (input.resourceType !== 'MedicationRequest') {
    throw invalid('resourceType', 'must be MedicationRequest');
  }
  if (input.id !== undefined) throw invalid('MedicationRequest.id', 'the server assigns the id');
  if (input.status !== 'active') throw invalid('MedicationRequest.status', 'must be active');
  if (input.intent !== 'order') throw invalid('MedicationRequest.intent', 'must be order');
  const subject = isObject(input.subject) ? input.subject.reference : undefined;
  const patient = typeof subject === 'string' ? /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(subject) : null;
  if (!patient) throw invalid('MedicationRequest.subject', 'a reference to a local Patient is required');
  const concept = input.medicationCodeableConcept;
  const codings = isObject(concept) && Array.isArray(concept.coding) ? concept.coding : [];
  if (!codings.some((c) => isObject(c) && c.system === RXNORM_SYSTEM && typeof c.code === 'string')) {
    throw invalid('MedicationRequest.medicationCodeableConcept', 'an RxNorm coding is required');
  }
  if (!Array.isArray(input.dosageInstruction) || input.dosageInstruction.length === 0) {
    throw invalid('MedicationRequest.dosageInstruction', 'at least one dosage instruction is required');
  }
  const dispense = input.dispenseRequest;
  if (!isObject(dispense)) throw invalid('MedicationRequest.dispenseRequest', 'is required');
  const quantity = isObject(dispense.quantity) ? dispense.quantity.value : undefined;
  if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > UINT32_MAX) {
    throw invalid(
      'MedicationRequest.dispenseRequest.quantity.value',
      'a positive whole quantity is required',
    );
  }
  const repeats = dispense.numberOfRepeatsAllowed ?? 0;
  if (typeof repeats !== 'number' || !Number.isInteger(repeats) || repeats < 0 || repeats > 254) {
    throw invalid('MedicationRequest.dispenseRequest.numberOfRepeatsAllowed', 'a whole number from 0 to 254');
  }
  const period = dispense.validityPeriod;
  if (!isObject(period) || period.end === undefined) {
    throw invalid('MedicationRequest.dispenseRequest.validityPeriod.end', 'the validity period must end');
  }
  const notAfter = seconds(period.end, 'MedicationRequest.dispenseRequest.validityPeriod.end');
  const notBefore =
    period.start === undefined
      ? now
      : seconds(period.start, 'MedicationRequest.dispenseRequest.validityPeriod.start');
  let supplySeconds: number | undefined;
  if (dispense.expectedSupplyDuration !== undefined) {
    const d = dispense.expectedSupplyDuration;
    const unit = isObject(d) ? (d.code ?? d.unit) : undefined;
    const per = typeof unit === 'string' ? DURATION_SECONDS[unit] : undefined;
    if (!isObject(d) || typeof d.value !== 'number' || !(d.value > 0) || per === undefined) {
      throw invalid(
        'MedicationRequest.dispenseRequest.expectedSupplyDuration',
        'a positive value in s, min, h, d or wk',
      );
    }
    supplySeconds = Math.round(d.value * per);
  }

  const extensions = Array.isArray(input.extension) ? input.extension : [];
  const declared = extensions.filter((e) => isObject(e) && e.url === CONTROLLED_SCHEDULE_EXTENSION);
  if (declared.length > 1) throw invalid('MedicationRequest.extension', 'at most one controlled schedule');
  const derived = derivedSchedule(concept);
  let schedule = derived;
  let resource = input;
  if (declared.length === 1) {
    const code = (declared[0] as Record<string, unknown>).valueCode;
    const s = typeof code === 'string' ? SCHEDULE_CODES[code] : undefined;
    if (s === undefined) {
      throw invalid('MedicationRequest.extension', 'the controlled schedule is none, I, II, III, IV or V');
    }
    // Lower numerals are stricter; "none" (0) is the least strict of all.
    if (derived !== Schedule.None && (s === Schedule.None || s > derived)) {
      throw invalid(
        'MedicationRequest.extension',
        `the medication is schedule ${SCHEDULE_CODE_OF[derived]}: a less strict schedule may not be declared`,
      );
    }
    schedule = s;
  } else {
    resource = {
      ...input,
      extension: [
        ...extensions,
        { url: CONTROLLED_SCHEDULE_EXTENSION, valueCode: SCHEDULE_CODE_OF[derived] },
      ],
    };
  }

  const overrides = new Map<string, string>();
  for (const e of extensions) {
    if (!isObject(e) || e.url !== INTERACTION_OVERRIDE_EXTENSION) continue;
    const parts = Array.isArray(e.extension) ? e.extension.filter(isObject) : [];
    const card = parts.find((p) => p.url === 'card')?.valueString;
    const reasonPart = parts.find((p) => p.url === 'reason');
    const reason =
      reasonPart?.valueString ??
      (isObject(reasonPart?.valueCoding)
        ? (reasonPart.valueCoding as Record<string, unknown>).code
        : undefined);
    if (typeof card !== 'string' || card.length === 0 || typeof reason !== 'string' || reason.trim() === '') {
      throw invalid('MedicationRequest.extension', 'an interaction override needs a card uuid and a reason');
    }
    overrides.set(card, reason);
  }

  return {
    resource: resource as PrescriptionOrder['resource'],
    patientId: patient[1]!,
    schedule,
    fillsAllowed: repeats + 1,
    quantityAllowed: quantity,
    notBefore,
    notAfter,
    supplySeconds,
    overrides,
  };
}

/** The strictest schedule among the medication's controlled ingredients (None when it has none). */
function derivedSchedule(concept: unknown): Schedule {
  let strictest: Schedule = Schedule.None;
  for (const { ingredient } of classifyMedication(concept).ingredients) {
    const s = SCHEDULE_CODES[ingredient.schedule];
    if (s !== undefined && (strictest === Schedule.None || s < strictest)) strictest = s;
  }
  return strictest;
}
