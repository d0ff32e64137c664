/**
 * The FHIR Patient id of a signed-in patient's account. `GET /account` answers the link as an object
 * (`patient: { fhirId, pseudonym }`); a plain id string is accepted too.
 */
export function patientIdOf(account: { patient?: unknown }): string | undefined {
  const link = account.patient;
  if (typeof link === 'string') return link || undefined;
  if (link && typeof link === 'object') {
    const id = (link as { fhirId?: unknown }).fhirId;
    return typeof id === 'string' && id ? id : undefined;
  }
  return undefined;
}
