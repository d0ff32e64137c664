/**
 * Words for coded data, so a person reads their record without knowing medical codes: a concept's own
 * `text`, else the `display` of one of its codings, else the code with the name of its code system
 * ("LOINC 8302-2"). Also dates and quantities as a person reads them. No terminology lookups: a code without
 * a display stays a code (with its system's name).
 */
import type { CodeableConcept, Coding } from '../api/fhir';

const SYSTEM_NAMES: Record<string, string> = {
  'http://loinc.org': 'LOINC',
  'http://snomed.info/sct': 'SNOMED CT',
  'http://www.nlm.nih.gov/research/umls/rxnorm': 'RxNorm',
  'http://hl7.org/fhir/sid/cvx': 'CVX',
  'http://hl7.org/fhir/sid/icd-10': 'ICD-10',
  'http://hl7.org/fhir/sid/icd-10-cm': 'ICD-10-CM',
  'http://unitsofmeasure.org': 'UCUM',
  'http://hl7.org/fhir/sid/ndc': 'NDC',
  'urn:oid:2.16.840.1.113883.6.238': 'CDC race and ethnicity',
  'http://terminology.hl7.org/CodeSystem/v3-ActCode': 'HL7 ActCode',
  'http://terminology.hl7.org/CodeSystem/observation-category': 'observation category',
  'http://terminology.hl7.org/CodeSystem/v2-0074': 'HL7 diagnostic section',
};

/** A readable name for a code system URI (its last path segment when unknown). */
export function systemName(system: string | undefined): string {
  if (!system) return 'code';
  const known = SYSTEM_NAMES[system];
  if (known) return known;
  const tail = system.replace(/\/+$/, '').split(/[/:]/).pop();
  return tail || system;
}

/** One coding in words: its display, else "<system name> <code>". */
export function codingText(coding: Coding | undefined): string | undefined {
  if (!coding) return undefined;
  if (coding.display?.trim()) return coding.display.trim();
  if (coding.code) return `${systemName(coding.system)} ${coding.code}`;
  return undefined;
}

/** A concept in words: `text`, else a coding's display, else a code with its system's name. */
export function conceptText(concept: CodeableConcept | undefined, fallback = 'Unnamed'): string {
  if (!concept) return fallback;
  if (concept.text?.trim()) return concept.text.trim();
  const withDisplay = concept.coding?.find((c) => c.display?.trim());
  if (withDisplay) return withDisplay.display!.trim();
  return codingText(concept.coding?.[0]) ?? fallback;
}

/** The key that identifies "the same test" across results: the first coding's system|code, else the text. */
export function conceptKey(concept: CodeableConcept | undefined): string | undefined {
  const coding = concept?.coding?.find((c) => c.code);
  if (coding) return `${coding.system ?? ''}|${coding.code}`;
  const text = concept?.text?.trim().toLowerCase();
  return text ? `text|${text}` : undefined;
}

/** A number as a person reads it: at most 2 decimals (3 significant digits for small values). */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs !== 0 && abs < 1 ? 3 : abs < 100 ? 2 : 1;
  return abs !== 0 && abs < 1
    ? String(Number(value.toPrecision(digits)))
    : String(Number(value.toFixed(digits)));
}

/** The local calendar day of a FHIR date/dateTime, `YYYY-MM-DD` (the date's own day when it has no time). */
export function dayOf(date: string): string {
  if (/^\d{4}(-\d{2}(-\d{2})?)?$/.test(date)) return date;
  const d = new Date(date);
  if (Number.isNaN(d.getTime())) return date.slice(0, 10);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** `2024-03-05` → "5 March 2024" (also `2024-03` → "March 2024", `2024` → "2024"). */
export function dayLabel(day: string): string {
  const [y, m, d] = day.split('-');
  if (!m) return y ?? day;
  const month = MONTHS[Number(m) - 1] ?? m;
  return d ? `${Number(d)} ${month} ${y}` : `${month} ${y}`;
}
