/**
 * What a clinician (or a lab) writes, as FHIR R4 resources: a clinical note (DocumentReference, the resource
 * FHIR R4 clients such as US Core's use for notes: LOINC 11506-3 "Progress note", category clinical-note, the
 * text as a text/plain attachment), a Condition, an order (ServiceRequest) and an Observation. Each form's
 * input is checked here before anything is sent, with one message per field, and the node's OperationOutcome
 * `expression` (FHIRPath such as `Observation.valueQuantity.value`) is mapped back to the field it concerns.
 *
 * Limits: codes are free text with an optional code (LOINC for observations and orders, ICD-10 or SNOMED CT
 * for conditions); no terminology lookup.
 */
import type { Resource } from '../api/fhir';

export type Errors<F extends string> = Partial<Record<F, string>>;

const today = () => new Date().toISOString().slice(0, 10);
const LOINC = /^\d{1,7}-\d$/;
const ICD10 = /^[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$/;
const SNOMED = /^\d{6,18}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const subject = (patientId: string) => ({ reference: `Patient/${patientId}` });

function utf8Base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function checkDate(value: string, what: string, errors: Record<string, string>, field: string) {
  if (!value) return;
  if (!DATE.test(value) || Number.isNaN(Date.parse(value))) errors[field] = `Enter the ${what} as a date.`;
  else if (value > today()) errors[field] = `The ${what} cannot be in the future.`;
}

// ---------------------------------------------------------------- note

export interface NoteInput {
  title: string;
  text: string;
}
export type NoteField = keyof NoteInput;

export function validateNote(n: NoteInput): Errors<NoteField> {
  const e: Errors<NoteField> = {};
  if (n.title.length > 200) e.title = 'Keep the title under 200 characters.';
  if (!n.text.trim()) e.text = 'Write the note.';
  else if (n.text.length > 20_000) e.text = 'The note is too long: keep it under 20,000 characters.';
  return e;
}

export function noteResource(patientId: string, n: NoteInput, author?: string): Resource {
  const title = n.title.trim() || 'Progress note';
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    docStatus: 'final',
    type: {
      coding: [{ system: 'http://loinc.org', code: '11506-3', display: 'Progress note' }],
      text: 'Progress note',
    },
    category: [
      {
        coding: [
          {
            system: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category',
            code: 'clinical-note',
            display: 'Clinical Note',
          },
        ],
      },
    ],
    subject: subject(patientId),
    date: new Date().toISOString(),
    ...(author ? { author: [{ display: author }] } : {}),
    description: title,
    content: [{ attachment: { contentType: 'text/plain; charset=utf-8', title, data: utf8Base64(n.text) } }],
  };
}

// ---------------------------------------------------------------- condition

export const CLINICAL_STATUSES = ['active', 'recurrence', 'relapse', 'inactive', 'remission', 'resolved'];

export interface ConditionInput {
  text: string;
  code: string;
  clinicalStatus: string;
  onset: string;
}
export type ConditionField = keyof ConditionInput;

export function validateCondition(c: ConditionInput): Errors<ConditionField> {
  const e: Errors<ConditionField> = {};
  if (!c.text.trim()) e.text = 'Name the condition (e.g. "Type 2 diabetes").';
  const code = c.code.trim().toUpperCase();
  if (code && !ICD10.test(code) && !SNOMED.test(code)) {
    e.code = 'Enter an ICD-10 code (e.g. E11.9) or a SNOMED CT code (digits only), or leave it empty.';
  }
  if (!CLINICAL_STATUSES.includes(c.clinicalStatus)) e.clinicalStatus = 'Choose a status.';
  checkDate(c.onset, 'onset', e as Record<string, string>, 'onset');
  return e;
}

export function conditionResource(patientId: string, c: ConditionInput): Resource {
  const code = c.code.trim().toUpperCase();
  const system = !code
    ? undefined
    : SNOMED.test(code)
      ? 'http://snomed.info/sct'
      : 'http://hl7.org/fhir/sid/icd-10';
  return {
    resourceType: 'Condition',
    clinicalStatus: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: c.clinicalStatus },
      ],
    },
    verificationStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }],
    },
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' },
        ],
      },
    ],
    code: { ...(system ? { coding: [{ system, code, display: c.text.trim() }] } : {}), text: c.text.trim() },
    subject: subject(patientId),
    ...(c.onset ? { onsetDateTime: c.onset } : {}),
    recordedDate: new Date().toISOString(),
  };
}

// ---------------------------------------------------------------- order

export const PRIORITIES = ['routine', 'urgent', 'asap', 'stat'];

export interface OrderInput {
  text: string;
  code: string;
  priority: string;
  note: string;
}
export type OrderField = keyof OrderInput;

export function validateOrder(o: OrderInput): Errors<OrderField> {
  const e: Errors<OrderField> = {};
  if (!o.text.trim()) e.text = 'Say what is ordered (e.g. "HbA1c").';
  if (o.code.trim() && !LOINC.test(o.code.trim())) {
    e.code = 'Enter a LOINC code such as 4548-4, or leave it empty.';
  }
  if (!PRIORITIES.includes(o.priority)) e.priority = 'Choose a priority.';
  if (o.note.length > 2000) e.note = 'Keep the note under 2,000 characters.';
  return e;
}

export function orderResource(patientId: string, o: OrderInput): Resource {
  const code = o.code.trim();
  return {
    resourceType: 'ServiceRequest',
    status: 'active',
    intent: 'order',
    priority: o.priority,
    code: {
      ...(code ? { coding: [{ system: 'http://loinc.org', code, display: o.text.trim() }] } : {}),
      text: o.text.trim(),
    },
    subject: subject(patientId),
    authoredOn: new Date().toISOString(),
    ...(o.note.trim() ? { note: [{ text: o.note.trim() }] } : {}),
  };
}

// ---------------------------------------------------------------- observation (also the lab's result)

export const OBSERVATION_STATUSES = ['final', 'preliminary', 'amended', 'corrected'];

export interface ObservationInput {
  code: string;
  display: string;
  value: string;
  unit: string;
  low: string;
  high: string;
  status: string;
  /** Date and time taken (datetime-local or ISO); empty: now. */
  effective: string;
}
export type ObservationField = keyof ObservationInput;

/** A blank result form (final, no values yet). */
export const EMPTY_OBSERVATION: ObservationInput = {
  code: '',
  display: '',
  value: '',
  unit: '',
  low: '',
  high: '',
  status: 'final',
  effective: '',
};

const NUMBER = /^-?\d+(\.\d+)?$/;

export function validateObservation(o: ObservationInput): Errors<ObservationField> {
  const e: Errors<ObservationField> = {};
  if (!LOINC.test(o.code.trim())) e.code = 'Enter the LOINC code, e.g. 4548-4.';
  if (!o.display.trim()) e.display = 'Name the test (e.g. "Hemoglobin A1c").';
  if (!o.value.trim()) e.value = 'Enter the result.';
  else if (!NUMBER.test(o.value.trim())) e.value = 'Enter the result as a number, e.g. 6.1.';
  if (NUMBER.test(o.value.trim()) && !o.unit.trim()) e.unit = 'Enter the unit, e.g. % or mmol/L.';
  for (const f of ['low', 'high'] as const) {
    if (o[f].trim() && !NUMBER.test(o[f].trim())) e[f] = 'Enter a number, or leave it empty.';
  }
  if (!e.low && !e.high && o.low.trim() && o.high.trim() && Number(o.low) > Number(o.high)) {
    e.high = 'The upper limit must not be below the lower limit.';
  }
  if (!OBSERVATION_STATUSES.includes(o.status)) e.status = 'Choose a status.';
  if (o.effective) {
    const t = Date.parse(o.effective);
    if (Number.isNaN(t)) e.effective = 'Enter when the sample was taken as a date and time.';
    else if (t > Date.now() + 5 * 60_000) e.effective = 'The time taken cannot be in the future.';
  }
  return e;
}

export function observationResource(
  patientId: string,
  o: ObservationInput,
  category: 'laboratory' | 'vital-signs' | 'exam' = 'laboratory',
): Resource {
  const unit = o.unit.trim();
  const quantity = (v: string) => ({ value: Number(v), ...(unit ? { unit } : {}) });
  return {
    resourceType: 'Observation',
    status: o.status,
    category: [
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }],
      },
    ],
    code: {
      coding: [{ system: 'http://loinc.org', code: o.code.trim(), display: o.display.trim() }],
      text: o.display.trim(),
    },
    subject: subject(patientId),
    effectiveDateTime: new Date(o.effective ? Date.parse(o.effective) : Date.now()).toISOString(),
    valueQuantity: quantity(o.value.trim()),
    ...(o.low.trim() || o.high.trim()
      ? {
          referenceRange: [
            {
              ...(o.low.trim() ? { low: quantity(o.low.trim()) } : {}),
              ...(o.high.trim() ? { high: quantity(o.high.trim()) } : {}),
            },
          ],
        }
      : {}),
  };
}

// ---------------------------------------------------------------- the node's answer, back to the field

const EXPRESSION_FIELDS: Record<string, [string, string][]> = {
  DocumentReference: [
    ['DocumentReference.content', 'text'],
    ['DocumentReference.description', 'title'],
  ],
  Condition: [
    ['Condition.code.coding', 'code'],
    ['Condition.code', 'text'],
    ['Condition.clinicalStatus', 'clinicalStatus'],
    ['Condition.onset', 'onset'],
  ],
  ServiceRequest: [
    ['ServiceRequest.code.coding', 'code'],
    ['ServiceRequest.code', 'text'],
    ['ServiceRequest.priority', 'priority'],
    ['ServiceRequest.note', 'note'],
  ],
  Observation: [
    ['Observation.code.coding', 'code'],
    ['Observation.code.text', 'display'],
    ['Observation.code', 'code'],
    ['Observation.valueQuantity.unit', 'unit'],
    ['Observation.valueQuantity.code', 'unit'],
    ['Observation.value', 'value'],
    ['Observation.referenceRange[0].high', 'high'],
    ['Observation.referenceRange.high', 'high'],
    ['Observation.referenceRange', 'low'],
    ['Observation.status', 'status'],
    ['Observation.effective', 'effective'],
  ],
};

/**
 * The form field an OperationOutcome issue's `expression` points at (the longest known prefix), or undefined
 * when it names none of the form's fields (the message is then shown above the form).
 */
export function fieldOfExpression(
  type: string,
  expressions: readonly string[] | undefined,
): string | undefined {
  for (const raw of expressions ?? []) {
    const expression = raw.replace(/^Bundle\.entry\[\d+\]\.resource\./, `${type}.`);
    const hit = (EXPRESSION_FIELDS[type] ?? []).find(([prefix]) => expression.startsWith(prefix));
    if (hit) return hit[1];
  }
  return undefined;
}

/** True when nothing in `errors` is set. */
export function valid(errors: Record<string, string | undefined>): boolean {
  return Object.values(errors).every((v) => !v);
}

// ---------------------------------------------------------------- break-glass reason

/** The reason for emergency access: mandatory, in words (the auditors review it; the patient is told). */
export function validateBreakGlassReason(reason: string): string | undefined {
  const letters = reason.match(/[\p{L}\p{N}]/gu)?.length ?? 0;
  if (!reason.trim())
    return 'State why you need emergency access: it is required, and reviewed by your auditors.';
  if (letters < 10 || !/\p{L}/u.test(reason))
    return 'Say why in a few words (e.g. "Unconscious on arrival, allergies unknown").';
  if (reason.length > 2000) return 'Keep the reason under 2,000 characters.';
  return undefined;
}
