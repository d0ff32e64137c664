/**
 * A result against its reference range, in plain words: "high", "low" or "normal" — only when the result
 * carries a range with a bound in the value's own unit (FHIR `Observation.referenceRange`), else from the
 * result's own interpretation code (H, L, N…). No range and no interpretation: no flag (nothing is guessed).
 * Ranges in another unit than the value are not converted; they are shown but give no flag.
 */
import type { CodeableConcept } from '../api/fhir';
import { formatNumber } from './displayText';

export interface Quantity {
  value?: number;
  unit?: string;
  code?: string;
  system?: string;
  comparator?: string;
}
export interface ReferenceRange {
  low?: Quantity;
  high?: Quantity;
  text?: string;
  type?: CodeableConcept;
}
export type Flag = 'high' | 'low' | 'normal';

export function unitOf(q: Quantity | undefined): string | undefined {
  return q?.unit ?? q?.code;
}

function sameUnit(value: Quantity, bound: Quantity | undefined): boolean {
  if (!bound) return true;
  const a = value.code ?? value.unit;
  const b = bound.code ?? bound.unit;
  return a === undefined || b === undefined || a === b;
}

/** The range that applies: the first one with a numeric bound (FHIR lists the normal range first). */
export function applicableRange(ranges: ReferenceRange[] | undefined): ReferenceRange | undefined {
  return ranges?.find((r) => typeof r.low?.value === 'number' || typeof r.high?.value === 'number');
}

/** high / low / normal of `value` against `range` (bounds inclusive); undefined when they cannot be compared. */
export function rangeFlag(value: Quantity | undefined, range: ReferenceRange | undefined): Flag | undefined {
  if (typeof value?.value !== 'number' || !range) return undefined;
  const low = range.low?.value;
  const high = range.high?.value;
  if (typeof low !== 'number' && typeof high !== 'number') return undefined;
  if (!sameUnit(value, range.low) || !sameUnit(value, range.high)) return undefined;
  if (typeof low === 'number' && value.value < low) return 'low';
  if (typeof high === 'number' && value.value > high) return 'high';
  return 'normal';
}

const INTERPRETATION: Record<string, Flag> = {
  H: 'high',
  HH: 'high',
  HU: 'high',
  L: 'low',
  LL: 'low',
  LU: 'low',
  N: 'normal',
};

/** The flag of the result's interpretation codes (v3 ObservationInterpretation H/L/N and their variants). */
export function interpretationFlag(interpretation: CodeableConcept[] | undefined): Flag | undefined {
  for (const concept of interpretation ?? []) {
    for (const coding of concept.coding ?? []) {
      const flag = coding.code ? INTERPRETATION[coding.code] : undefined;
      if (flag) return flag;
    }
  }
  return undefined;
}

/** The range in words: "3.5–5.0 mmol/L", "at least 60 mL/min", "at most 200 mg/dL", or its own text. */
export function rangeText(range: ReferenceRange | undefined): string | undefined {
  if (!range) return undefined;
  const low = range.low?.value;
  const high = range.high?.value;
  const unit = unitOf(range.high) ?? unitOf(range.low);
  const suffix = unit ? ` ${unit}` : '';
  if (typeof low === 'number' && typeof high === 'number') {
    return `${formatNumber(low)}–${formatNumber(high)}${suffix}`;
  }
  if (typeof low === 'number') return `at least ${formatNumber(low)}${suffix}`;
  if (typeof high === 'number') return `at most ${formatNumber(high)}${suffix}`;
  return range.text?.trim() || undefined;
}
