/**
 * The patient facts the interaction modifiers need, read from FHIR resources of any version the PDDI-CDS
 * requests use: age (from Patient.birthDate at the evaluation time), coded conditions, and dated, valued
 * laboratory observations. Resources that are not usable (no code, no value, no date) are left out.
 */
import type { MedicationCoding } from './medicationConcept.js';
import type { AnyResource } from './resourcesOf.js';

export interface LabResult {
  codings: MedicationCoding[];
  value: number;
  unit?: string;
  at: Date;
  /** Interpretation code (L, H, LL, HH, N…) when given. */
  interpretation?: string;
  low?: number;
  high?: number;
}

export interface PatientFacts {
  /** Whole years at `now`; undefined when the birth date is unknown. */
  age?: number;
  /** Codings of the patient's conditions (refuted and entered-in-error ones left out). */
  conditions: MedicationCoding[][];
  labs: LabResult[];
}

const codingsOf = (cc: unknown): MedicationCoding[] => {
  const coding = (cc as { coding?: unknown } | undefined)?.coding;
  if (!Array.isArray(coding)) return [];
  return coding.flatMap((c) => {
    const code = (c as { code?: unknown })?.code;
    const system = (c as { system?: unknown })?.system;
    return typeof code === 'string' && code.trim() !== ''
      ? [{ code: code.trim(), ...(typeof system === 'string' ? { system } : {}) }]
      : [];
  });
};

const statusCode = (v: unknown): string | undefined => (typeof v === 'string' ? v : codingsOf(v)[0]?.code);

export function ageAt(birthDate: unknown, now: Date): number | undefined {
  if (typeof birthDate !== 'string') return undefined;
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate);
  if (!m) return undefined;
  const [y, mo = 1, d = 1] = [Number(m[1]), Number(m[2] ?? 1), Number(m[3] ?? 1)];
  let age = now.getUTCFullYear() - y;
  const month = now.getUTCMonth() + 1;
  if (month < mo || (month === mo && now.getUTCDate() < d)) age--;
  return age >= 0 && age < 150 ? age : undefined;
}

function dateOf(o: AnyResource): Date | undefined {
  const period = o.effectivePeriod as { start?: unknown; end?: unknown } | undefined;
  for (const v of [o.effectiveDateTime, o.effectiveInstant, period?.end, period?.start, o.issued]) {
    if (typeof v === 'string') {
      const t = Date.parse(v);
      if (!Number.isNaN(t)) return new Date(t);
    }
  }
  return undefined;
}

export function patientFacts(resources: readonly AnyResource[], now: Date): PatientFacts {
  const facts: PatientFacts = { conditions: [], labs: [] };
  for (const r of resources) {
    if (r.resourceType === 'Patient' && facts.age === undefined) {
      const age = ageAt(r.birthDate, now);
      if (age !== undefined) facts.age = age;
    } else if (r.resourceType === 'Condition') {
      const verification = statusCode(r.verificationStatus);
      if (verification === 'refuted' || verification === 'entered-in-error') continue;
      const codings = codingsOf(r.code);
      if (codings.length > 0) facts.conditions.push(codings);
    } else if (r.resourceType === 'Observation') {
      const status = statusCode(r.status);
      if (status === 'entered-in-error' || status === 'cancelled') continue;
      const q = r.valueQuantity as { value?: unknown; unit?: unknown; code?: unknown } | undefined;
      const at = dateOf(r);
      const codings = codingsOf(r.code);
      if (typeof q?.value !== 'number' || !at || codings.length === 0) continue;
      const range = (Array.isArray(r.referenceRange) ? r.referenceRange[0] : undefined) as
        | { low?: { value?: unknown }; high?: { value?: unknown } }
        | undefined;
      const interpretation = codingsOf(
        Array.isArray(r.interpretation) ? r.interpretation[0] : r.interpretation,
      )[0]?.code;
      const unit = typeof q.unit === 'string' ? q.unit : typeof q.code === 'string' ? q.code : undefined;
      facts.labs.push({
        codings,
        value: q.value,
        at,
        ...(unit ? { unit } : {}),
        ...(interpretation ? { interpretation } : {}),
        ...(typeof range?.low?.value === 'number' ? { low: range.low.value } : {}),
        ...(typeof range?.high?.value === 'number' ? { high: range.high.value } : {}),
      });
    }
  }
  return facts;
}
