/**
 * The search parameters medledger supports, per resource type, with the elements they index. Names and
 * elements follow the R4 (4.0.1) SearchParameter definitions, with one deliberate simplification: every
 * type's principal clinical date is searched as `date` (R4 calls some of them `onset-date`, `authoredon`,
 * `created`, `identified`, `occurrence`), and Immunization.vaccineCode is searched as `code` (R4:
 * `vaccine-code`). docs/fhir.md lists the table. `_id`, `_lastUpdated`, `_count`, `_sort` and `_offset`
 * apply to every type and are not in this table.
 */

export type SearchParamKind =
  /** CodeableConcept / Coding / code elements: tokens `system|code` and `code`. */
  | 'token'
  /** Identifier: tokens `system|value` and `|value`. */
  | 'identifier'
  /** A plain code (status): the code itself. */
  | 'code'
  /** Reference to the patient: `Patient/<id>` only. */
  | 'patient'
  /** Reference to any subject: `Type/<id>`. */
  | 'subject'
  /** date / dateTime / instant / Period: day, month and year granules. */
  | 'date';

export interface SearchParamDef {
  kind: SearchParamKind;
  /** Dotted element paths (choice types spelled out, e.g. `effectiveDateTime`). */
  paths: readonly (readonly string[])[];
}

const p = (...paths: string[]): string[][] => paths.map((x) => x.split('.'));

const identifier: SearchParamDef = { kind: 'identifier', paths: p('identifier') };
const status: SearchParamDef = { kind: 'code', paths: p('status') };
const category: SearchParamDef = { kind: 'token', paths: p('category') };
const code: SearchParamDef = { kind: 'token', paths: p('code') };
const subjectPatient: SearchParamDef = { kind: 'patient', paths: p('subject') };
const subject: SearchParamDef = { kind: 'subject', paths: p('subject') };
const patientElement: SearchParamDef = { kind: 'patient', paths: p('patient') };
const date = (...paths: string[]): SearchParamDef => ({ kind: 'date', paths: p(...paths) });
const medicationCode: SearchParamDef = { kind: 'token', paths: p('medicationCodeableConcept') };

/** Common clinical shape: identifier, status, subject (patient), category, code. */
const clinical = { identifier, status, patient: subjectPatient, subject };

export const SEARCH_PARAMETERS: Readonly<Record<string, Readonly<Record<string, SearchParamDef>>>> = {
  Patient: { identifier },
  RelatedPerson: { identifier, patient: patientElement },
  Person: { identifier, patient: { kind: 'patient', paths: p('link.target') } },
  Practitioner: { identifier },
  PractitionerRole: { identifier },
  Organization: { identifier },
  Location: { identifier, status },

  Encounter: { ...clinical, date: date('period') },
  EpisodeOfCare: { identifier, status, patient: patientElement, date: date('period') },

  Condition: {
    identifier,
    patient: subjectPatient,
    subject,
    code,
    category,
    date: date('onsetDateTime', 'onsetPeriod', 'recordedDate'),
  },
  Observation: {
    ...clinical,
    code,
    category,
    date: date('effectiveDateTime', 'effectivePeriod', 'effectiveInstant'),
  },
  DiagnosticReport: { ...clinical, code, category, date: date('effectiveDateTime', 'effectivePeriod') },
  Specimen: { ...clinical },

  MedicationRequest: { ...clinical, code: medicationCode, category, date: date('authoredOn') },
  MedicationAdministration: { ...clinical, code: medicationCode },
  MedicationDispense: { ...clinical, code: medicationCode },
  MedicationStatement: { ...clinical, code: medicationCode, category },
  Medication: { identifier, status, code },

  Immunization: {
    identifier,
    status,
    patient: patientElement,
    code: { kind: 'token', paths: p('vaccineCode') },
    date: date('occurrenceDateTime'),
  },

  AllergyIntolerance: {
    identifier,
    patient: patientElement,
    code: { kind: 'token', paths: p('code', 'reaction.substance') },
    category: { kind: 'code', paths: p('category') },
    date: date('recordedDate'),
  },

  Procedure: { ...clinical, code, category, date: date('performedDateTime', 'performedPeriod') },
  ServiceRequest: { ...clinical, code, category },

  ImagingStudy: { ...clinical },
  Media: { ...clinical },

  DocumentReference: { ...clinical, category, date: date('date') },
  Composition: { ...clinical, category, date: date('date') },
  CarePlan: { ...clinical, category, date: date('period') },
  CareTeam: { ...clinical, category, date: date('period') },
  Goal: { identifier, patient: subjectPatient, subject, category },
  Consent: { identifier, status, patient: patientElement, category, date: date('dateTime') },
  DetectedIssue: { identifier, patient: patientElement, code, date: date('identifiedDateTime') },

  Claim: { identifier, status, patient: patientElement, date: date('created') },
  ClaimResponse: { identifier, status, patient: patientElement, date: date('created') },
  ExplanationOfBenefit: { identifier, status, patient: patientElement, date: date('created') },
  Coverage: { identifier, status, patient: { kind: 'patient', paths: p('beneficiary') } },

  Device: { identifier, status, patient: patientElement },
  DeviceRequest: {
    identifier,
    status,
    patient: subjectPatient,
    subject,
    code: { kind: 'token', paths: p('codeCodeableConcept') },
  },
  DeviceUseStatement: { identifier, patient: subjectPatient, subject },
};

/** Parameters valid for every type, handled by the node itself rather than by index tokens. */
export const COMMON_SEARCH_PARAMETERS = ['_id', '_lastUpdated', '_count', '_sort', '_offset'] as const;

export function searchParametersOf(resourceType: string): Readonly<Record<string, SearchParamDef>> {
  return Object.hasOwn(SEARCH_PARAMETERS, resourceType) ? SEARCH_PARAMETERS[resourceType]! : {};
}
