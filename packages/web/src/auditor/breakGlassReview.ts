/**
 * The break-glass review queue's data (GET /admin/break-glass) and the review form's rules
 * (POST /admin/break-glass/:id/review {justified, finding}), as the node applies them: an outcome chosen, a
 * finding in words (at least 3 letters or digits, at most 4,000 characters), and only once the session is over.
 */

export interface BreakGlassSession {
  id: number;
  member: string;
  practitioner: { accountId: string; displayName: string; role: string } | null;
  patient: string | null;
  reason: string | null;
  openedAt: string;
  expiresAt: string;
  endedEarly?: boolean;
  active: boolean;
  transaction: string;
  review?: { auditor: string; justified: boolean; reviewedAt: string; finding: string | null };
}

export const MAX_FINDING = 4000;

export interface ReviewForm {
  outcome: '' | 'justified' | 'unjustified';
  finding: string;
}

export function reviewErrors(form: ReviewForm): Partial<Record<keyof ReviewForm, string>> {
  const errors: Partial<Record<keyof ReviewForm, string>> = {};
  if (form.outcome === '') errors.outcome = 'Choose whether the access was justified.';
  const letters = form.finding.match(/[\p{L}\p{N}]/gu)?.length ?? 0;
  if (letters < 3 || !/\p{L}/u.test(form.finding)) {
    errors.finding =
      'Say in words what you found (at least 3 letters), e.g. what the record showed about the emergency.';
  } else if (form.finding.length > MAX_FINDING) {
    errors.finding = `Keep the finding under ${MAX_FINDING.toLocaleString('en')} characters (now ${form.finding.length.toLocaleString('en')}).`;
  }
  return errors;
}

/** Where a session stands for the auditor. */
export function sessionState(s: BreakGlassSession): 'running' | 'to review' | 'reviewed' {
  if (s.review) return 'reviewed';
  return s.active ? 'running' : 'to review';
}

/** The Patient id of "Patient/<id>", for the access-log filter. */
export function patientIdOf(reference: string | null): string | undefined {
  return reference?.startsWith('Patient/') ? reference.slice('Patient/'.length) : undefined;
}
