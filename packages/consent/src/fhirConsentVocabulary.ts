/**
 * The FHIR R4 codes a Consent uses to say what an on-chain grant holds, in both directions: scope, provision
 * actor role, consentaction codes for actions, v3 PurposeOfUse codes for purposes, resource types for data
 * categories. Codes outside these tables cannot be expressed on the ledger and are refused, never guessed.
 */
import { Action, Purpose } from '@medledger/contracts';
import { DataCategory } from '@medledger/core';
import { categorisedResourceTypes, dataCategoryOf } from '@medledger/fhir';

export const CONSENT_SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';
export const CONSENT_ACTION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentaction';
/** v3 PurposeOfUse codes live in the v3 ActReason code system. */
export const PURPOSE_OF_USE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const PARTICIPATION_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
export const RESOURCE_TYPES_SYSTEM = 'http://hl7.org/fhir/resource-types';
export const LOINC_SYSTEM = 'http://loinc.org';
/** LOINC 59284-0 "Patient Consent": the category every HL7 example uses (Consent.category is 1..*). */
export const PATIENT_CONSENT_LOINC = '59284-0';

/** consentaction code → Action bit. `collect`, `use` and `disclose` have no on-chain counterpart. */
export const ACTION_CODES: Readonly<Record<string, Action>> = { access: Action.Read, correct: Action.Write };

/** v3 PurposeOfUse code → Purpose bit. */
export const PURPOSE_CODES: Readonly<Record<string, Purpose>> = {
  TREAT: Purpose.Treatment,
  HPAYMT: Purpose.Payment,
  HOPERAT: Purpose.Operations,
  HRESCH: Purpose.Research,
  ETREAT: Purpose.Emergency,
};

/** Actor roles that name the party receiving access (primary / any information recipient). */
export const GRANTEE_ROLES: readonly string[] = ['PRCP', 'IRCP'];

/** DataCategory value → its name, for messages. */
export const CATEGORY_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(DataCategory).map(([name, value]) => [value, name]),
);

/** The resource types of each data category, sorted: a grant of a category lists all of them. */
export function resourceTypesOfCategory(category: DataCategory): string[] {
  return categorisedResourceTypes()
    .filter((type) => dataCategoryOf(type) === category)
    .sort();
}

/** Reverse lookup helper for the tables above. */
export function codeOf<T extends number>(table: Readonly<Record<string, T>>, value: T): string {
  const entry = Object.entries(table).find(([, v]) => v === value);
  if (!entry) throw new Error('no code for value');
  return entry[0];
}
