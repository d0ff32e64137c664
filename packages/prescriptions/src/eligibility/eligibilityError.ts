/**
 * The error codes an eligibility response carries in CoverageEligibilityResponse.error[].code, in the
 * system `urn:medledger:eligibility-error` (R4's own adjudication-error code system has only two example
 * codes, none of which fits). Codes are API: add, never rename.
 */
export const ELIGIBILITY_ERROR_SYSTEM = 'urn:medledger:eligibility-error';

export const EligibilityError = {
  /** A coverage the request names is not one of this insurer's, or not the patient's. */
  UnknownCoverage: 'unknown-coverage',
  /** The coverage exists but is not in force on the service date(s). */
  CoverageInactive: 'coverage-inactive',
  /** A requested drug is not on the formulary of the coverage's plan. */
  NotOnFormulary: 'not-on-formulary',
  /** Part of the request cannot be processed (e.g. an item without an RxNorm-coded drug). */
  MalformedRequest: 'malformed-request',
} as const;
export type EligibilityError = (typeof EligibilityError)[keyof typeof EligibilityError];

export const ELIGIBILITY_ERROR_DISPLAY: Record<EligibilityError, string> = {
  'unknown-coverage': 'Coverage not known to this insurer for this patient',
  'coverage-inactive': 'Coverage not in force on the service date',
  'not-on-formulary': 'Drug not on the plan formulary',
  'malformed-request': 'Request cannot be processed as sent',
};
