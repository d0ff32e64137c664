/**
 * Maps risk signals to FHIR R4 DetectedIssue resources for the node to return to the prescriber or pharmacist.
 * Each issue carries two codings: the signal's own stable code (system `urn:medledger:rx-signal`) and, where
 * one fits, the HL7 v3 ActCode detected-issue code:
 * - MME high / caution → DOSEH (High Dose Alert): the patient's total opioid dose is high;
 * - overlapping opioids from different prescribers → DUPTHPY (Duplicate Therapy Alert);
 * - opioid + benzodiazepine → DRG (Drug Interaction Alert);
 * - early refill → TOOSOON (Refill Too Soon Alert);
 * - MME unknown, multiple prescribers, multiple pharmacies → no v3 code fits; only the own code is given.
 * `implicated` references the evidence records; `detail` is the PHI-free summary. No id: the node assigns one
 * when it stores an issue. Status is `final` (the signal is computed, not provisional); `severity` is the
 * signal's.
 */
import type { RiskSignal, RiskSignalCode } from './riskSignals.js';

export const RX_SIGNAL_SYSTEM = 'urn:medledger:rx-signal';
export const V3_ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

const V3: Partial<Record<RiskSignalCode, { code: string; display: string }>> = {
  RX_OPIOID_MME_HIGH: { code: 'DOSEH', display: 'High Dose Alert' },
  RX_OPIOID_MME_CAUTION: { code: 'DOSEH', display: 'High Dose Alert' },
  RX_OPIOID_OVERLAP_PRESCRIBERS: { code: 'DUPTHPY', display: 'Duplicate Therapy Alert' },
  RX_OPIOID_BENZODIAZEPINE_OVERLAP: { code: 'DRG', display: 'Drug Interaction Alert' },
  RX_EARLY_REFILL: { code: 'TOOSOON', display: 'Refill Too Soon Alert' },
};

export interface DetectedIssueContext {
  /** Reference to the patient, e.g. `Patient/123`. */
  readonly patient: string;
  /** When the signals were computed (FHIR dateTime). */
  readonly identified: string;
  /** Optional reference to the organisation or device that computed them. */
  readonly author?: string;
}

export interface DetectedIssue {
  resourceType: 'DetectedIssue';
  status: 'final';
  code: { coding: { system: string; code: string; display?: string }[]; text: string };
  severity: RiskSignal['severity'];
  patient: { reference: string };
  identifiedDateTime: string;
  author?: { reference: string };
  implicated?: { reference: string }[];
  detail: string;
  [element: string]: unknown;
}

export function detectedIssuesFor(
  signals: readonly RiskSignal[],
  context: DetectedIssueContext,
): DetectedIssue[] {
  return signals.map((s) => {
    const v3 = V3[s.code];
    return {
      resourceType: 'DetectedIssue',
      status: 'final',
      code: {
        coding: [
          ...(v3 === undefined ? [] : [{ system: V3_ACT_CODE_SYSTEM, ...v3 }]),
          { system: RX_SIGNAL_SYSTEM, code: s.code },
        ],
        text: s.summary,
      },
      severity: s.severity,
      patient: { reference: context.patient },
      identifiedDateTime: context.identified,
      ...(context.author === undefined ? {} : { author: { reference: context.author } }),
      ...(s.evidence.length === 0 ? {} : { implicated: s.evidence.map((reference) => ({ reference })) }),
      detail: s.summary,
    };
  });
}
