/**
 * A patient's resources as timeline entries: what kind of thing each is (encounter, result, condition,
 * medication, allergy, immunisation, document), its date, its name in words and a few short details, and for
 * results the value with its unit, reference range and high/low/normal flag. Entries are grouped by day,
 * newest first; undated entries (an allergy without onset) come last.
 *
 * Limits: one date per entry (the care date: when it happened, else when it was recorded); resource types
 * outside the seven kinds are not shown (claims, care plans…); a result's value is shown for Quantity,
 * CodeableConcept, string, boolean and integer values and for components.
 */
import type { CodeableConcept, Reference, Resource } from '../api/fhir';
import { conceptText, dayLabel, dayOf, formatNumber } from './displayText';
import {
  applicableRange,
  type Flag,
  interpretationFlag,
  type Quantity,
  type ReferenceRange,
  rangeFlag,
  rangeText,
  unitOf,
} from './referenceRange';

export type Kind =
  | 'encounters'
  | 'results'
  | 'conditions'
  | 'medications'
  | 'allergies'
  | 'immunisations'
  | 'documents';

export interface KindInfo {
  kind: Kind;
  label: string;
  /** The label of one entry of this kind. */
  singular: string;
  types: string[];
}

export const KINDS: readonly KindInfo[] = [
  { kind: 'encounters', label: 'Visits', singular: 'Visit', types: ['Encounter'] },
  { kind: 'results', label: 'Results', singular: 'Result', types: ['Observation'] },
  { kind: 'conditions', label: 'Conditions', singular: 'Condition', types: ['Condition'] },
  {
    kind: 'medications',
    label: 'Medications',
    singular: 'Medication',
    types: ['MedicationRequest', 'MedicationStatement'],
  },
  { kind: 'allergies', label: 'Allergies', singular: 'Allergy', types: ['AllergyIntolerance'] },
  { kind: 'immunisations', label: 'Immunisations', singular: 'Immunisation', types: ['Immunization'] },
  {
    kind: 'documents',
    label: 'Documents and reports',
    singular: 'Document',
    types: ['DocumentReference', 'DiagnosticReport'],
  },
];

/** Every resource type the timeline reads. */
export const TIMELINE_TYPES: readonly string[] = KINDS.flatMap((k) => k.types);

const KIND_OF_TYPE = new Map(KINDS.flatMap((k) => k.types.map((t) => [t, k.kind] as const)));

export function kindOf(resourceType: string): Kind | undefined {
  return KIND_OF_TYPE.get(resourceType);
}

export interface ResultValue {
  /** "85.2 kg", "Never smoker", "120 / 80 mm[Hg]"… */
  text: string;
  flag?: Flag;
  range?: string;
}

export interface TimelineEntry {
  /** `Type/id`. */
  key: string;
  kind: Kind;
  resourceType: string;
  /** The FHIR date or dateTime the entry is placed at (absent: undated). */
  date?: string;
  title: string;
  details: string[];
  result?: ResultValue;
}

type Json = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' ? (v as Json) : undefined);
const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]).filter((x) => obj(x)) : []);
const concept = (v: unknown) => obj(v) as CodeableConcept | undefined;
const periodStart = (v: unknown) => str(obj(v)?.start) ?? str(obj(v)?.end);

/** The first present date of the given elements (`x` may be a date string or a Period). */
function firstDate(r: Json, elements: string[]): string | undefined {
  for (const e of elements) {
    const v = r[e];
    const d = str(v) ?? periodStart(v);
    if (d) return d;
  }
  return undefined;
}

const DATE_ELEMENTS: Record<string, string[]> = {
  Encounter: ['period'],
  Observation: ['effectiveDateTime', 'effectivePeriod', 'effectiveInstant', 'issued'],
  Condition: ['onsetDateTime', 'onsetPeriod', 'recordedDate'],
  MedicationRequest: ['authoredOn'],
  MedicationStatement: ['effectiveDateTime', 'effectivePeriod', 'dateAsserted'],
  AllergyIntolerance: ['onsetDateTime', 'onsetPeriod', 'recordedDate'],
  Immunization: ['occurrenceDateTime', 'recorded'],
  DocumentReference: ['date'],
  DiagnosticReport: ['effectiveDateTime', 'effectivePeriod', 'issued'],
};

export function entryDate(resource: Resource): string | undefined {
  const r = resource as Json;
  const own = firstDate(r, DATE_ELEMENTS[resource.resourceType] ?? []);
  if (own) return own;
  if (resource.resourceType === 'DocumentReference') return periodStart(obj(r.context)?.period);
  return undefined;
}

function statusText(c: unknown): string | undefined {
  const cc = concept(c);
  if (!cc) return undefined;
  return conceptText(cc, '') || undefined;
}

function quantityText(q: Quantity): string {
  const unit = unitOf(q);
  return `${q.comparator ?? ''}${formatNumber(q.value!)}${unit ? ` ${unit}` : ''}`;
}

/** The value of an Observation (or of one of its components) in words, if it has one. */
export function valueText(r: Json): string | undefined {
  const q = obj(r.valueQuantity) as Quantity | undefined;
  if (typeof q?.value === 'number') return quantityText(q);
  if (r.valueCodeableConcept) return conceptText(concept(r.valueCodeableConcept));
  if (typeof r.valueString === 'string') return r.valueString;
  if (typeof r.valueBoolean === 'boolean') return r.valueBoolean ? 'Yes' : 'No';
  if (typeof r.valueInteger === 'number') return String(r.valueInteger);
  return undefined;
}

/** An Observation's value with its range and flag (components joined: "Systolic 120 mm[Hg] · …"). */
export function resultValue(observation: Json): ResultValue | undefined {
  const ranges = observation.referenceRange as ReferenceRange[] | undefined;
  const range = applicableRange(ranges);
  const own = valueText(observation);
  if (own) {
    const q = obj(observation.valueQuantity) as Quantity | undefined;
    const flag = rangeFlag(q, range) ?? interpretationFlag(observation.interpretation as CodeableConcept[]);
    const rText = rangeText(range ?? ranges?.[0]);
    return { text: own, ...(flag ? { flag } : {}), ...(rText ? { range: rText } : {}) };
  }
  const parts = list(observation.component)
    .map((c) => {
      const v = valueText(c);
      return v ? `${conceptText(concept(c.code))} ${v}` : undefined;
    })
    .filter((x): x is string => !!x);
  if (parts.length === 0) return undefined;
  const flags = list(observation.component)
    .map((c) => {
      const cRange = applicableRange(c.referenceRange as ReferenceRange[] | undefined);
      return (
        rangeFlag(obj(c.valueQuantity) as Quantity, cRange) ??
        interpretationFlag(c.interpretation as CodeableConcept[])
      );
    })
    .filter((f): f is Flag => !!f);
  const flag = flags.find((f) => f !== 'normal') ?? flags[0];
  return { text: parts.join(' · '), ...(flag ? { flag } : {}) };
}

function referenceText(ref: unknown): string | undefined {
  return str((obj(ref) as Reference | undefined)?.display);
}

function details(resource: Resource): string[] {
  const r = resource as Json;
  const out: (string | undefined)[] = [];
  switch (resource.resourceType) {
    case 'Encounter': {
      const reason = list(r.reasonCode).map((c) => conceptText(concept(c)));
      if (reason.length) out.push(`Reason: ${reason.join(', ')}`);
      out.push(referenceText(r.serviceProvider));
      break;
    }
    case 'Condition': {
      const clinical = statusText(r.clinicalStatus);
      if (clinical) out.push(`Status: ${clinical}`);
      const ended = firstDate(r, ['abatementDateTime', 'abatementPeriod']);
      if (ended) out.push(`Ended ${dayLabel(dayOf(ended))}`);
      break;
    }
    case 'MedicationRequest':
    case 'MedicationStatement': {
      if (str(r.status)) out.push(`Status: ${r.status}`);
      const dosage = list(r.dosageInstruction ?? r.dosage)
        .map((d) => str(d.text))
        .filter(Boolean);
      if (dosage.length) out.push(dosage.join('; '));
      break;
    }
    case 'AllergyIntolerance': {
      if (str(r.criticality)) out.push(`Criticality: ${r.criticality}`);
      const reactions = list(r.reaction).flatMap((x) =>
        list(x.manifestation).map((m) => conceptText(concept(m))),
      );
      if (reactions.length) out.push(`Reaction: ${reactions.join(', ')}`);
      break;
    }
    case 'DiagnosticReport': {
      const n = list(r.result).length;
      if (n) out.push(`${n} result${n === 1 ? '' : 's'}`);
      if (str(r.conclusion)) out.push(r.conclusion as string);
      break;
    }
    case 'DocumentReference': {
      if (str(r.description)) out.push(r.description as string);
      const titles = list(r.content)
        .map((c) => str(obj(c.attachment)?.title))
        .filter(Boolean);
      if (titles.length) out.push(titles.join(', '));
      break;
    }
  }
  return out.filter((x): x is string => !!x);
}

function titleOf(resource: Resource): string {
  const r = resource as Json;
  switch (resource.resourceType) {
    case 'Encounter': {
      const type = list(r.type)[0];
      if (type) return conceptText(type as CodeableConcept, 'Visit');
      const cls = obj(r.class);
      return cls ? `Visit (${str(cls.display) ?? str(cls.code) ?? 'unspecified'})` : 'Visit';
    }
    case 'MedicationRequest':
    case 'MedicationStatement':
      return r.medicationCodeableConcept
        ? conceptText(concept(r.medicationCodeableConcept), 'Medication')
        : (referenceText(r.medicationReference) ?? 'Medication');
    case 'Immunization':
      return conceptText(concept(r.vaccineCode), 'Immunisation');
    case 'DocumentReference':
      return r.type ? conceptText(concept(r.type), 'Document') : (str(r.description) ?? 'Document');
    default:
      return conceptText(
        concept(r.code),
        KINDS.find((k) => k.types.includes(resource.resourceType))?.singular,
      );
  }
}

/** The timeline entry of a resource (undefined for a type the timeline does not show). */
export function toEntry(resource: Resource): TimelineEntry | undefined {
  const kind = kindOf(resource.resourceType);
  if (!kind) return undefined;
  const date = entryDate(resource);
  const result = resource.resourceType === 'Observation' ? resultValue(resource as Json) : undefined;
  return {
    key: `${resource.resourceType}/${resource.id ?? ''}`,
    kind,
    resourceType: resource.resourceType,
    ...(date ? { date } : {}),
    title: titleOf(resource),
    details: details(resource),
    ...(result ? { result } : {}),
  };
}

export interface DayGroup {
  /** `YYYY-MM-DD` (or shorter for partial dates); `undated` for entries without a date. */
  day: string;
  label: string;
  entries: TimelineEntry[];
}

const KIND_ORDER = new Map(KINDS.map((k, i) => [k.kind, i]));

/** Entries grouped by day, newest day first, undated last; within a day by kind, then newest first. */
export function groupByDay(entries: readonly TimelineEntry[]): DayGroup[] {
  const byDay = new Map<string, TimelineEntry[]>();
  for (const e of entries) {
    const day = e.date ? dayOf(e.date) : 'undated';
    const group = byDay.get(day);
    if (group) group.push(e);
    else byDay.set(day, [e]);
  }
  const days = [...byDay.keys()].sort((a, b) => {
    if (a === 'undated') return 1;
    if (b === 'undated') return -1;
    return a < b ? 1 : a > b ? -1 : 0;
  });
  const time = (e: TimelineEntry) => (e.date ? Date.parse(e.date) || 0 : 0);
  return days.map((day) => ({
    day,
    label: day === 'undated' ? 'No date recorded' : dayLabel(day),
    entries: byDay
      .get(day)!
      .sort(
        (a, b) =>
          KIND_ORDER.get(a.kind)! - KIND_ORDER.get(b.kind)! ||
          time(b) - time(a) ||
          a.title.localeCompare(b.title),
      ),
  }));
}

/** Entries of the selected kinds (all kinds when none is selected). */
export function ofKinds(entries: readonly TimelineEntry[], kinds: ReadonlySet<Kind>): TimelineEntry[] {
  return kinds.size === 0 ? [...entries] : entries.filter((e) => kinds.has(e.kind));
}
