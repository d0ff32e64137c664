/**
 * How much of a product a FHIR R4 `dosageInstruction` list prescribes per day, in the dose's own unit (dose
 * units such as tablets or patches, millilitres, or milligrams). Read from doseAndRate (doseQuantity, or the
 * high end of doseRange) × timing (repeat.frequency[Max] per period/periodUnit, repeat.timeOfDay, or a
 * standard timing code such as BID); for as-needed dosing the maxDosePerPeriod takes precedence because the
 * most that may be taken is what risk is judged on. Dosages with the same `sequence` run concurrently and add
 * up; different sequences follow one another and the largest wins. Anything not determinable is reported with
 * a reason instead of being guessed.
 */

export type DoseUnitKind = 'count' | 'mL' | 'mg';

export type DailyDoseUnknown = 'no-dosage' | 'no-dose' | 'no-frequency' | 'dose-unit';

export type DailyDose =
  | {
      ok: true;
      amount: number;
      kind: DoseUnitKind /** Largest single dose, in the same unit. */;
      perDose: number;
    }
  | { ok: false; reason: DailyDoseUnknown };

const DAY_S = 86_400;
const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  min: 60,
  h: 3600,
  d: DAY_S,
  wk: 7 * DAY_S,
  mo: 30 * DAY_S,
  a: 365 * DAY_S,
};

/** UCUM and common spellings of a period unit, to seconds. */
const PERIOD_WORDS: Record<string, number> = {
  ...UNIT_SECONDS,
  hour: 3600,
  hours: 3600,
  hr: 3600,
  day: DAY_S,
  days: DAY_S,
  week: 7 * DAY_S,
  weeks: 7 * DAY_S,
};

/** Administrations per day of the HL7 v3 GTSAbbreviation timing codes that fix a daily count. */
const TIMING_CODES: Record<string, number> = {
  QD: 1,
  AM: 1,
  PM: 1,
  BED: 1,
  BID: 2,
  TID: 3,
  QID: 4,
  QOD: 0.5,
  Q1H: 24,
  Q2H: 12,
  Q3H: 8,
  Q4H: 6,
  Q6H: 4,
  Q8H: 3,
  WK: 1 / 7,
  MO: 1 / 30,
};

const COUNT_UNITS =
  /^(?:1|\{[a-z]+\}|ea|each|tab|tabs|tablet|tablets|cap|caps|capsule|capsules|patch|patches|system|systems|actuat|actuation|actuations|puff|puffs|spray|sprays|lozenge|lozenges|film|films|unit|units|dose|doses)$/i;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** The kind of a Quantity's unit, or undefined when it is none this module can convert. */
function unitKind(q: Obj): { kind: DoseUnitKind; factor: number } | undefined {
  const raw = typeof q.code === 'string' ? q.code : typeof q.unit === 'string' ? q.unit : undefined;
  if (raw === undefined || raw.trim() === '') return { kind: 'count', factor: 1 };
  const u = raw.trim();
  if (COUNT_UNITS.test(u)) return { kind: 'count', factor: 1 };
  if (/^ml$/i.test(u)) return { kind: 'mL', factor: 1 };
  if (/^l$/i.test(u)) return { kind: 'mL', factor: 1000 };
  if (/^mg$/i.test(u)) return { kind: 'mg', factor: 1 };
  if (/^(?:ug|mcg)$/i.test(u)) return { kind: 'mg', factor: 0.001 };
  if (/^g$/i.test(u)) return { kind: 'mg', factor: 1000 };
  return undefined;
}

type Amount = { ok: true; value: number; kind: DoseUnitKind } | { ok: false; reason: DailyDoseUnknown };

function amountOf(q: unknown): Amount {
  if (!isObj(q) || !positive(q.value)) return { ok: false, reason: 'no-dose' };
  const k = unitKind(q);
  if (k === undefined) return { ok: false, reason: 'dose-unit' };
  return { ok: true, value: q.value * k.factor, kind: k.kind };
}

function doseOf(dosage: Obj): Amount {
  const rates = Array.isArray(dosage.doseAndRate) ? dosage.doseAndRate.filter(isObj) : [];
  for (const r of rates) {
    if (r.doseQuantity !== undefined) return amountOf(r.doseQuantity);
    if (isObj(r.doseRange)) return amountOf(r.doseRange.high);
  }
  return { ok: false, reason: 'no-dose' };
}

/** Administrations per day from `timing`, or undefined. */
function administrationsPerDay(timing: unknown): number | undefined {
  if (!isObj(timing)) return undefined;
  const repeat = isObj(timing.repeat) ? timing.repeat : undefined;
  if (repeat !== undefined) {
    const frequency = positive(repeat.frequencyMax)
      ? repeat.frequencyMax
      : positive(repeat.frequency)
        ? repeat.frequency
        : undefined;
    const unit = typeof repeat.periodUnit === 'string' ? UNIT_SECONDS[repeat.periodUnit] : undefined;
    if (positive(repeat.period) && unit !== undefined)
      return ((frequency ?? 1) * DAY_S) / (repeat.period * unit);
    const times = Array.isArray(repeat.timeOfDay) ? repeat.timeOfDay.length : 0;
    if (times > 0) return times * (frequency ?? 1);
  }
  const codings = isObj(timing.code) && Array.isArray(timing.code.coding) ? timing.code.coding : [];
  for (const c of codings) {
    if (isObj(c) && typeof c.code === 'string' && TIMING_CODES[c.code] !== undefined)
      return TIMING_CODES[c.code];
  }
  return undefined;
}

/** maxDosePerPeriod as an amount per day, or undefined when absent or not convertible. */
function maxPerDay(dosage: Obj): Amount | undefined {
  const ratio = dosage.maxDosePerPeriod;
  if (!isObj(ratio)) return undefined;
  const num = amountOf(ratio.numerator);
  const den = ratio.denominator;
  if (!num.ok || !isObj(den) || !positive(den.value)) return undefined;
  const unit =
    typeof den.code === 'string'
      ? den.code
      : typeof den.unit === 'string'
        ? den.unit.toLowerCase()
        : undefined;
  const seconds = unit === undefined ? undefined : PERIOD_WORDS[unit];
  if (seconds === undefined) return undefined;
  return { ok: true, value: (num.value * DAY_S) / (den.value * seconds), kind: num.kind };
}

function oneDosage(dosage: Obj): DailyDose {
  const asNeeded = dosage.asNeededBoolean === true || isObj(dosage.asNeededCodeableConcept);
  const max = maxPerDay(dosage);
  const dose = doseOf(dosage);
  if (asNeeded && max?.ok) {
    return { ok: true, amount: max.value, kind: max.kind, perDose: dose.ok ? dose.value : max.value };
  }
  if (!dose.ok) return dose;
  const perDay = administrationsPerDay(dosage.timing);
  if (perDay === undefined) {
    if (max?.ok && max.kind === dose.kind)
      return { ok: true, amount: max.value, kind: max.kind, perDose: dose.value };
    return { ok: false, reason: 'no-frequency' };
  }
  return { ok: true, amount: dose.value * perDay, kind: dose.kind, perDose: dose.value };
}

/** The daily amount prescribed by a `dosageInstruction` array (see the module comment for the rules). */
export function dailyDose(dosageInstruction: unknown): DailyDose {
  const dosages = Array.isArray(dosageInstruction) ? dosageInstruction.filter(isObj) : [];
  if (dosages.length === 0) return { ok: false, reason: 'no-dosage' };
  const bySequence = new Map<unknown, Obj[]>();
  for (const d of dosages) {
    const key = typeof d.sequence === 'number' ? d.sequence : undefined;
    bySequence.set(key, [...(bySequence.get(key) ?? []), d]);
  }
  let best: DailyDose | undefined;
  for (const group of bySequence.values()) {
    let amount = 0;
    let perDose = 0;
    let kind: DoseUnitKind | undefined;
    for (const d of group) {
      const one = oneDosage(d);
      if (!one.ok) return one;
      if (kind !== undefined && kind !== one.kind) return { ok: false, reason: 'dose-unit' };
      kind = one.kind;
      amount += one.amount;
      perDose = Math.max(perDose, one.perDose);
    }
    if (kind === undefined) continue;
    // Sequential dosages in different units cannot be compared.
    if (best?.ok && best.kind !== kind) return { ok: false, reason: 'dose-unit' };
    if (best === undefined || !best.ok || amount > best.amount) best = { ok: true, amount, kind, perDose };
  }
  return best ?? { ok: false, reason: 'no-dosage' };
}
