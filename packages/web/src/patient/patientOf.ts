/**
 * The signed-in patient's FHIR Patient id and organisation, from their account. `GET /account` gives the
 * patient link as `{ fhirId, pseudonym }` and the organisation as the registry's number; both are read here
 * whatever their shape, so the trust screens do not depend on how the account type spells them.
 */
import type { Account } from '../api/account';

export function patientIdOf(account: Account): string | undefined {
  const link = account.patient as unknown;
  if (typeof link === 'string') return link;
  if (link && typeof link === 'object' && typeof (link as { fhirId?: unknown }).fhirId === 'string') {
    return (link as { fhirId: string }).fhirId;
  }
  return undefined;
}

export function organisationOf(account: Account): string | undefined {
  const o = account.organisation as unknown;
  return typeof o === 'number' || typeof o === 'string' ? String(o) : undefined;
}
