/**
 * Reads an ingredient's strength out of one segment of an RxNorm-style display ("oxyCODONE Hydrochloride 5 MG
 * Oral Tablet", "72 HR Fentanyl 0.025 MG/HR Transdermal System", "Morphine Sulfate 4 MG/ML Injection").
 * Only mass units (G, MG, MCG/UG) are read, optionally per ML, per HR or per ACTUAT; anything else (units,
 * percentages, "MEQ") yields undefined rather than a guess. A leading package quantity such as "72 HR" or
 * "1 ML" is not a strength and is skipped because it carries no mass unit.
 */

/** What one strength is measured per: one dose unit (tablet, capsule), one mL, one hour (patches), one actuation. */
export type StrengthBasis = 'unit' | 'mL' | 'h' | 'actuation';

export interface Strength {
  /** Milligrams of the ingredient per `basis`. */
  readonly mg: number;
  readonly basis: StrengthBasis;
}

const STRENGTH = /(\d+(?:\.\d+)?|\.\d+)\s*(MG|MCG|UG|G)(?:\s*\/\s*(ML|HR|ACTUAT))?(?![A-Z])/gi;

const TO_MG: Record<string, number> = { G: 1000, MG: 1, MCG: 0.001, UG: 0.001 };
const BASIS: Record<string, StrengthBasis> = { ML: 'mL', HR: 'h', ACTUAT: 'actuation' };

/** The last mass strength in `segment` (RxNorm puts it after the ingredient name), or undefined. */
export function parseStrength(segment: string): Strength | undefined {
  let found: Strength | undefined;
  for (const m of segment.matchAll(STRENGTH)) {
    const value = Number(m[1]);
    const unit = m[2]!.toUpperCase();
    if (!Number.isFinite(value) || value <= 0) continue;
    const per = m[3]?.toUpperCase();
    found = { mg: value * TO_MG[unit]!, basis: per === undefined ? 'unit' : BASIS[per]! };
  }
  return found;
}
