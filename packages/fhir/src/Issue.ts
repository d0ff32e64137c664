/**
 * One problem found in a request, in the shape of an R4 OperationOutcome.issue. `diagnostics` says what is
 * wrong without echoing the offending value (values may be PHI); `expression` names the element by a
 * FHIRPath-style path such as `Patient.name[0].given[1]`.
 */

/** R4 issue-type codes (http://hl7.org/fhir/issue-type) used by this package and the error mapping. */
export const ISSUE_CODES = [
  'invalid',
  'structure',
  'required',
  'value',
  'invariant',
  'security',
  'login',
  'unknown',
  'expired',
  'forbidden',
  'suppressed',
  'processing',
  'not-supported',
  'duplicate',
  'multiple-matches',
  'not-found',
  'deleted',
  'too-long',
  'code-invalid',
  'extension',
  'too-costly',
  'business-rule',
  'conflict',
  'transient',
  'lock-error',
  'no-store',
  'exception',
  'timeout',
  'incomplete',
  'throttled',
  'informational',
] as const;
export type IssueCode = (typeof ISSUE_CODES)[number];

export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

export interface Issue {
  severity: IssueSeverity;
  code: IssueCode;
  diagnostics: string;
  expression: string[];
}

/** Result of a check that either yields a value or the issues that prevented it. */
export type Checked<K extends string, T> = ({ ok: true } & { [P in K]: T }) | { ok: false; issues: Issue[] };

export function issue(code: IssueCode, diagnostics: string, expression?: string): Issue {
  return { severity: 'error', code, diagnostics, expression: expression === undefined ? [] : [expression] };
}
