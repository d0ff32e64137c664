/**
 * Daily morphine milligram equivalents (MME) of one prescribed or dispensed product: for each opioid
 * ingredient with a conversion factor, strength × dose × administrations per day × factor, summed. Transdermal
 * fentanyl is mcg/h × patches worn × 2.4, independent of how often patches are changed. Liquids need a dose in
 * mL against a per-mL strength; a dose in mg is taken as mg of the opioid only for a single-opioid product.
 * When any counted ingredient cannot be computed the result is `unknown` with a reason — a risk total is then
 * a lower bound, and the caller says so.
 */
import type { ClassifiedMedication } from './classifyMedication.js';
import { type DailyDoseUnknown, dailyDose } from './dailyDose.js';

export type MmeUnknownReason = DailyDoseUnknown | 'no-strength' | 'no-factor-for-form';

export type DailyMme =
  | { status: 'known'; mme: number }
  | { status: 'unknown'; reason: MmeUnknownReason }
  /** No ingredient counts towards MME (not an opioid, or buprenorphine). */
  | { status: 'not-applicable' };

/** MME values are rounded to this many decimals so that 0.1 × 50 × 6 compares as 30, not 30.000000000000004. */
const round = (x: number) => Math.round(x * 1e6) / 1e6;

export function dailyMme(medication: ClassifiedMedication, dosageInstruction: unknown): DailyMme {
  const counted = medication.ingredients.filter(
    (i) =>
      i.ingredient.class === 'opioid' &&
      (i.ingredient.mmeFactor !== undefined || i.ingredient.transdermalMmeFactor !== undefined),
  );
  if (counted.length === 0) return { status: 'not-applicable' };
  const dose = dailyDose(dosageInstruction);
  let total = 0;
  for (const { ingredient, strength } of counted) {
    if (strength === undefined) return { status: 'unknown', reason: 'no-strength' };
    if (medication.transdermal && ingredient.transdermalMmeFactor !== undefined) {
      // A patch's strength is per hour; what matters is how many are worn at once (the dose).
      if (strength.basis !== 'h') return { status: 'unknown', reason: 'no-strength' };
      if (!dose.ok) return { status: 'unknown', reason: dose.reason };
      if (dose.kind !== 'count') return { status: 'unknown', reason: 'dose-unit' };
      total += strength.mg * 1000 * dose.perDose * ingredient.transdermalMmeFactor;
      continue;
    }
    if (ingredient.mmeFactor === undefined) return { status: 'unknown', reason: 'no-factor-for-form' };
    if (!dose.ok) return { status: 'unknown', reason: dose.reason };
    let mgPerDay: number;
    if (dose.kind === 'count' && (strength.basis === 'unit' || strength.basis === 'actuation')) {
      mgPerDay = strength.mg * dose.amount;
    } else if (dose.kind === 'mL' && strength.basis === 'mL') {
      mgPerDay = strength.mg * dose.amount;
    } else if (dose.kind === 'mg' && counted.length === 1 && strength.basis !== 'h') {
      mgPerDay = dose.amount;
    } else return { status: 'unknown', reason: 'dose-unit' };
    total += mgPerDay * ingredient.mmeFactor;
  }
  return { status: 'known', mme: round(total) };
}
