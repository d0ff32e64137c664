/**
 * The R4 Consent an on-chain grant stands for — the inverse of consentFromFhir, so that
 * consentFromFhir(consentToFhir(terms), same resolvers and nonce) gives the same terms back. Used to show a
 * patient's grants (from ConsentIndex.grantsOf) as FHIR resources. Times are written as UTC dateTimes to the
 * second; each data category is written as the full list of its resource types; a revoked grant is `inactive`.
 * FHIR years have four digits, so terms with a time from the year 10000 on (other than the open-ended
 * validUntil = 2^40 − 1) are MDL_BAD_INPUT.
 */
import { ACTION_COUNT, type ConsentTerms, PURPOSE_COUNT, RESOURCE_CLASS_COUNT } from '@medledger/contracts';
import type { DataCategory } from '@medledger/core';
import type { FhirResource } from '@medledger/fhir';
import type { FhirReference } from './consentFromFhir.js';
import {
  ACT_CODE_SYSTEM,
  ACTION_CODES,
  CONSENT_ACTION_SYSTEM,
  CONSENT_SCOPE_SYSTEM,
  codeOf,
  LOINC_SYSTEM,
  PARTICIPATION_TYPE_SYSTEM,
  PATIENT_CONSENT_LOINC,
  PURPOSE_CODES,
  PURPOSE_OF_USE_SYSTEM,
  RESOURCE_TYPES_SYSTEM,
  resourceTypesOfCategory,
} from './fhirConsentVocabulary.js';
import { fhirDateTime, U40_MAX } from './fhirTimeRange.js';

export interface ConsentToFhirOptions {
  /** Consent.patient. */
  patient: FhirReference;
  /** The grantee: Organization, or the member (Practitioner / PractitionerRole) when the grant names one. */
  actor: FhirReference;
  id?: string;
  /** `inactive` for a revoked grant (default `active`). */
  status?: 'active' | 'inactive';
  /** Consent.dateTime, e.g. when the grant was recorded. */
  dateTime?: string;
}

function bits(mask: number, count: number): number[] {
  const out: number[] = [];
  for (let bit = 0; bit < count; bit++) if ((mask >> bit) & 1) out.push(bit);
  return out;
}

export function consentToFhir(terms: ConsentTerms, options: ConsentToFhirOptions): FhirResource {
  const period: Record<string, string> = {};
  if (terms.validFrom > 0) period.start = fhirDateTime(terms.validFrom);
  if (terms.validUntil < U40_MAX) period.end = fhirDateTime(terms.validUntil - 1);
  const dataPeriod: Record<string, string> = {};
  if (terms.dataFrom > 0) dataPeriod.start = fhirDateTime(terms.dataFrom);
  if (terms.dataUntil > 0) dataPeriod.end = fhirDateTime(terms.dataUntil);
  return {
    resourceType: 'Consent',
    ...(options.id !== undefined ? { id: options.id } : {}),
    status: options.status ?? 'active',
    scope: { coding: [{ system: CONSENT_SCOPE_SYSTEM, code: 'patient-privacy' }] },
    category: [{ coding: [{ system: LOINC_SYSTEM, code: PATIENT_CONSENT_LOINC }] }],
    patient: options.patient,
    ...(options.dateTime !== undefined ? { dateTime: options.dateTime } : {}),
    policyRule: { coding: [{ system: ACT_CODE_SYSTEM, code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      ...(Object.keys(period).length > 0 ? { period } : {}),
      actor: [
        {
          role: { coding: [{ system: PARTICIPATION_TYPE_SYSTEM, code: 'PRCP' }] },
          reference: options.actor,
        },
      ],
      action: bits(terms.actions, ACTION_COUNT).map((bit) => ({
        coding: [{ system: CONSENT_ACTION_SYSTEM, code: codeOf(ACTION_CODES, bit as 0 | 1) }],
      })),
      purpose: bits(terms.purposes, PURPOSE_COUNT).map((bit) => ({
        system: PURPOSE_OF_USE_SYSTEM,
        code: codeOf(PURPOSE_CODES, bit as 0 | 1 | 2 | 3 | 4),
      })),
      class: bits(terms.resourceClasses, RESOURCE_CLASS_COUNT).flatMap((category) =>
        resourceTypesOfCategory(category as DataCategory).map((code) => ({
          system: RESOURCE_TYPES_SYSTEM,
          code,
        })),
      ),
      ...(Object.keys(dataPeriod).length > 0 ? { dataPeriod } : {}),
    },
  };
}
