/**
 * Turns one patient's controlled-substance prescriptions (MedicationRequest) and dispenses (MedicationDispense),
 * gathered by the node from every organisation and tagged with who prescribed and where they came from, into
 * supply episodes: which controlled ingredients the patient had, from which calendar day, for how many days,
 * at how many MME a day. A dispense is the supply actually handed over (whenHandedOver, else whenPrepared, for
 * daysSupply days); a prescription with no dispense in the input stands for itself from its validity start or
 * authoredOn, for dispenseRequest.expectedSupplyDuration days or, failing that, quantity ÷ daily dose units.
 * Days are the calendar date as written in the record (its first ten characters), so one record's time zone
 * never moves it to another day. Malformed or unusable records are skipped with a reason code, never thrown on.
 * Limits: medicationReference is resolved only to a contained Medication or to the linked prescription's drug.
 */
import { type ClassifiedMedication, classifyMedication } from './classifyMedication.js';
import type { ControlledClass } from './controlledSubstances.js';
import { dailyDose } from './dailyDose.js';
import { type DailyMme, dailyMme } from './dailyMme.js';

/** A prescription as the node hands it over: the resource and opaque tags naming its prescriber and source. */
export interface TaggedPrescription {
  readonly resource: unknown;
  readonly prescriber: string;
  readonly organisation: string;
}

/** A dispense with the pharmacy that handed it over; the prescriber tag defaults to the linked prescription's. */
export interface TaggedDispense {
  readonly resource: unknown;
  readonly pharmacy: string;
  readonly organisation?: string;
  readonly prescriber?: string;
}

export type SkipReason =
  | 'not-a-resource'
  | 'wrong-resource-type'
  | 'missing-id'
  | 'missing-tag'
  | 'status-excluded'
  | 'medication-unresolved'
  | 'not-controlled'
  | 'missing-date';

export interface Skipped {
  readonly kind: 'prescription' | 'dispense';
  /** Position in the input array. */
  readonly index: number;
  readonly reason: SkipReason;
}

export interface SupplyEpisode {
  /** `MedicationDispense/<id>` or `MedicationRequest/<id>`. */
  readonly source: string;
  /** The prescription a dispense was made against, when it is in the input. */
  readonly prescription?: string;
  readonly ingredients: readonly string[];
  readonly classes: readonly ControlledClass[];
  /** Days since 1970-01-01 (UTC calendar). */
  readonly startDay: number;
  /** Supply length in days, or undefined when it cannot be known. */
  readonly days?: number;
  readonly dailyMme: DailyMme;
  readonly prescriber?: string;
  readonly pharmacy?: string;
  readonly organisation?: string;
}

/** A dated contact with a prescriber or pharmacy, for the multiple-provider windows. */
export interface ProviderEvent {
  readonly day: number;
  readonly source: string;
  readonly prescriber?: string;
  readonly pharmacy?: string;
}

export interface SupplyHistory {
  readonly episodes: readonly SupplyEpisode[];
  readonly events: readonly ProviderEvent[];
  readonly skipped: readonly Skipped[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const DAY_MS = 86_400_000;

/** The calendar day of a FHIR date or dateTime with at least a full date, as days since the epoch. */
export function calendarDay(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/.exec(value);
  if (m === null) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d)
    return undefined;
  return ms / DAY_MS;
}

/** The ISO date of a day number. */
export function isoDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** A duration Quantity in days (unit d/day/days or none), or undefined. */
function durationDays(q: unknown): number | undefined {
  if (!isObj(q) || typeof q.value !== 'number' || !Number.isFinite(q.value) || q.value <= 0) return undefined;
  const unit = typeof q.code === 'string' ? q.code : typeof q.unit === 'string' ? q.unit : undefined;
  if (unit === undefined || /^(?:d|day|days)$/i.test(unit)) return q.value;
  if (/^(?:wk|week|weeks)$/i.test(unit)) return q.value * 7;
  return undefined;
}

/** The medication concept of a request or dispense: the CodeableConcept or a contained Medication's code. */
function medicationConcept(resource: Obj): unknown {
  if (isObj(resource.medicationCodeableConcept)) return resource.medicationCodeableConcept;
  const ref = isObj(resource.medicationReference) ? resource.medicationReference.reference : undefined;
  if (typeof ref === 'string' && ref.startsWith('#') && Array.isArray(resource.contained)) {
    const med = resource.contained.find(
      (c) => isObj(c) && c.resourceType === 'Medication' && c.id === ref.slice(1),
    ) as Obj | undefined;
    if (med !== undefined && isObj(med.code)) return med.code;
  }
  return undefined;
}

const EXCLUDED_REQUEST = new Set(['cancelled', 'entered-in-error', 'draft']);
const EXCLUDED_DISPENSE = new Set(['cancelled', 'entered-in-error', 'declined', 'preparation']);

function classesOf(med: ClassifiedMedication): ControlledClass[] {
  return [...new Set(med.ingredients.map((i) => i.ingredient.class))];
}

const nonEmpty = (s: unknown): s is string => typeof s === 'string' && s.trim() !== '';

/** Days a prescription's quantity lasts at its daily dose, when both count the same dose units. */
function daysFromQuantity(quantity: unknown, dosageInstruction: unknown): number | undefined {
  if (!isObj(quantity) || typeof quantity.value !== 'number' || quantity.value <= 0) return undefined;
  const dose = dailyDose(dosageInstruction);
  if (!dose.ok) return undefined;
  const unit = typeof quantity.code === 'string' ? quantity.code : quantity.unit;
  const mL = typeof unit === 'string' && /^ml$/i.test(unit);
  if ((dose.kind === 'mL') !== mL || dose.kind === 'mg') return undefined;
  return Math.ceil(quantity.value / dose.amount);
}

interface RequestInfo {
  index: number;
  resource: Obj;
  ref: string;
  med: ClassifiedMedication;
  tag: TaggedPrescription;
  day: number | undefined;
}

export function supplyHistory(
  prescriptions: readonly TaggedPrescription[],
  dispenses: readonly TaggedDispense[],
): SupplyHistory {
  const skipped: Skipped[] = [];
  const episodes: SupplyEpisode[] = [];
  const events: ProviderEvent[] = [];
  const requests = new Map<string, RequestInfo>();

  for (const [index, tag] of prescriptions.entries()) {
    const skip = (reason: SkipReason) => {
      skipped.push({ kind: 'prescription', index, reason });
    };
    const r = isObj(tag) ? tag.resource : undefined;
    if (!isObj(r)) {
      skip('not-a-resource');
      continue;
    }
    if (r.resourceType !== 'MedicationRequest') {
      skip('wrong-resource-type');
      continue;
    }
    if (!nonEmpty(r.id)) {
      skip('missing-id');
      continue;
    }
    if (!nonEmpty(tag.prescriber) || !nonEmpty(tag.organisation)) {
      skip('missing-tag');
      continue;
    }
    if (typeof r.status === 'string' && EXCLUDED_REQUEST.has(r.status)) {
      skip('status-excluded');
      continue;
    }
    const concept = medicationConcept(r);
    if (concept === undefined) {
      skip('medication-unresolved');
      continue;
    }
    const med = classifyMedication(concept);
    if (med.ingredients.length === 0) {
      skip('not-controlled');
      continue;
    }
    const dispenseRequest = isObj(r.dispenseRequest) ? r.dispenseRequest : {};
    const validity = isObj(dispenseRequest.validityPeriod) ? dispenseRequest.validityPeriod : {};
    const day = calendarDay(validity.start) ?? calendarDay(r.authoredOn);
    const ref = `MedicationRequest/${r.id}`;
    requests.set(ref, { index, resource: r, ref, med, tag, day });
    const authored = calendarDay(r.authoredOn) ?? day;
    if (authored !== undefined) events.push({ day: authored, source: ref, prescriber: tag.prescriber });
  }

  const dispensed = new Set<string>();
  for (const [index, tag] of dispenses.entries()) {
    const skip = (reason: SkipReason) => {
      skipped.push({ kind: 'dispense', index, reason });
    };
    const d = isObj(tag) ? tag.resource : undefined;
    if (!isObj(d)) {
      skip('not-a-resource');
      continue;
    }
    if (d.resourceType !== 'MedicationDispense') {
      skip('wrong-resource-type');
      continue;
    }
    if (!nonEmpty(d.id)) {
      skip('missing-id');
      continue;
    }
    if (!nonEmpty(tag.pharmacy)) {
      skip('missing-tag');
      continue;
    }
    if (typeof d.status === 'string' && EXCLUDED_DISPENSE.has(d.status)) {
      skip('status-excluded');
      continue;
    }
    const linked = linkedRequest(d, requests);
    const concept = medicationConcept(d);
    const med = concept !== undefined ? classifyMedication(concept) : linked?.med;
    if (med === undefined) {
      skip('medication-unresolved');
      continue;
    }
    if (med.ingredients.length === 0) {
      skip('not-controlled');
      continue;
    }
    const day = calendarDay(d.whenHandedOver) ?? calendarDay(d.whenPrepared);
    if (day === undefined) {
      skip('missing-date');
      continue;
    }
    if (linked !== undefined) dispensed.add(linked.ref);
    const dosage =
      Array.isArray(d.dosageInstruction) && d.dosageInstruction.length > 0
        ? d.dosageInstruction
        : linked?.resource.dosageInstruction;
    const source = `MedicationDispense/${d.id}`;
    const prescriber = nonEmpty(tag.prescriber) ? tag.prescriber : linked?.tag.prescriber;
    const days = durationDays(d.daysSupply) ?? daysFromQuantity(d.quantity, dosage);
    episodes.push({
      source,
      ...(linked === undefined ? {} : { prescription: linked.ref }),
      ingredients: med.ingredients.map((i) => i.ingredient.name),
      classes: classesOf(med),
      startDay: day,
      ...(days === undefined ? {} : { days }),
      dailyMme: dailyMme(med, dosage),
      ...(prescriber === undefined ? {} : { prescriber }),
      pharmacy: tag.pharmacy,
      ...(tag.organisation === undefined ? {} : { organisation: tag.organisation }),
    });
    events.push({ day, source, pharmacy: tag.pharmacy, ...(prescriber === undefined ? {} : { prescriber }) });
  }

  for (const info of requests.values()) {
    if (dispensed.has(info.ref)) continue;
    if (info.day === undefined) {
      skipped.push({ kind: 'prescription', index: info.index, reason: 'missing-date' });
      continue;
    }
    const r = info.resource;
    const dispenseRequest = isObj(r.dispenseRequest) ? r.dispenseRequest : {};
    const days =
      durationDays(dispenseRequest.expectedSupplyDuration) ??
      daysFromQuantity(dispenseRequest.quantity, r.dosageInstruction);
    episodes.push({
      source: info.ref,
      ingredients: info.med.ingredients.map((i) => i.ingredient.name),
      classes: classesOf(info.med),
      startDay: info.day,
      ...(days === undefined ? {} : { days }),
      dailyMme: dailyMme(info.med, r.dosageInstruction),
      prescriber: info.tag.prescriber,
      organisation: info.tag.organisation,
    });
  }
  episodes.sort((a, b) => a.startDay - b.startDay || a.source.localeCompare(b.source));
  events.sort((a, b) => a.day - b.day || a.source.localeCompare(b.source));
  return { episodes, events, skipped };
}

/** The input prescription a dispense names in authorizingPrescription, matched by `MedicationRequest/<id>`. */
function linkedRequest(d: Obj, requests: Map<string, RequestInfo>): RequestInfo | undefined {
  const refs = Array.isArray(d.authorizingPrescription) ? d.authorizingPrescription : [];
  for (const ref of refs) {
    if (!isObj(ref) || typeof ref.reference !== 'string') continue;
    const m = /(?:^|\/)MedicationRequest\/([^/]+)(?:\/_history\/[^/]+)?$/.exec(ref.reference);
    const found = m === null ? undefined : requests.get(`MedicationRequest/${m[1]}`);
    if (found !== undefined) return found;
  }
  return undefined;
}
