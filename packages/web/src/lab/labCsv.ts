/**
 * A lab's batch of results as CSV (RFC 4180: comma-separated, double quotes around fields that hold commas,
 * quotes or line breaks, "" for a quote inside), one result per line after a header row. Columns, by name in
 * the header (any order; the optional ones may be left out):
 *
 * | column | required | meaning |
 * |---|---|---|
 * | `patient` | no | the Patient id at this lab's node; empty or absent: the patient chosen on the page |
 * | `loinc` | yes | the LOINC code, e.g. 4548-4 |
 * | `display` | yes | the test's name, e.g. Hemoglobin A1c |
 * | `value` | yes | the numeric result |
 * | `unit` | yes with a value | e.g. % or mmol/L |
 * | `low`, `high` | no | the reference range |
 * | `status` | no | final (default), preliminary, amended, corrected |
 * | `effective` | no | when the sample was taken (ISO 8601 date-time); empty: now |
 *
 * Each line is checked by the same rules as the single-result form; errors say the line number (the header
 * is line 1) and what to correct. Pure: no I/O.
 */

import type { Resource } from '../api/fhir';
import { type ObservationInput, observationResource, validateObservation } from '../clinician/clinicalForms';

export const CSV_COLUMNS = [
  'patient',
  'loinc',
  'display',
  'value',
  'unit',
  'low',
  'high',
  'status',
  'effective',
];
const REQUIRED = ['loinc', 'display', 'value'];
/** The most lines one upload may hold (each is one write to the node). */
export const MAX_CSV_ROWS = 500;

export interface CsvResult {
  line: number;
  patientId: string;
  resource: Resource;
}
export interface CsvError {
  line: number;
  message: string;
}

/** RFC 4180 records (arrays of fields) with the line each starts on. */
export function csvRecords(text: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let any = false;
  const s = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      any = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      any = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && s[i + 1] === '\n') i++;
      fields.push(field);
      if (any || fields.some((f) => f !== '')) out.push({ line: start, fields });
      fields = [];
      field = '';
      any = false;
      line++;
      start = line;
    } else {
      field += ch;
      any = true;
    }
  }
  fields.push(field);
  if (any || fields.some((f) => f !== '')) out.push({ line: start, fields });
  return out;
}

/** The results of a CSV file, and an error per line that cannot be one (nothing is sent when there are any). */
export function parseLabCsv(
  text: string,
  defaultPatientId: string,
): { results: CsvResult[]; errors: CsvError[] } {
  const records = csvRecords(text);
  const header = records.shift();
  if (!header) return { results: [], errors: [{ line: 1, message: 'The file is empty.' }] };
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const unknown = names.filter((n) => !CSV_COLUMNS.includes(n));
  const missing = REQUIRED.filter((n) => !names.includes(n));
  if (unknown.length || missing.length) {
    const parts = [
      ...(missing.length ? [`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`] : []),
      ...(unknown.length ? [`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`] : []),
    ];
    return {
      results: [],
      errors: [
        { line: header.line, message: `Header: ${parts.join('; ')}. Columns are ${CSV_COLUMNS.join(', ')}.` },
      ],
    };
  }
  if (records.length === 0)
    return { results: [], errors: [{ line: 2, message: 'The file has no results.' }] };
  if (records.length > MAX_CSV_ROWS) {
    return {
      results: [],
      errors: [{ line: header.line, message: `At most ${MAX_CSV_ROWS} results per file: split it.` }],
    };
  }
  const results: CsvResult[] = [];
  const errors: CsvError[] = [];
  for (const r of records) {
    if (r.fields.length !== names.length) {
      errors.push({
        line: r.line,
        message: `Expected ${names.length} fields, found ${r.fields.length}. Quote fields that contain commas.`,
      });
      continue;
    }
    const get = (n: string) => (r.fields[names.indexOf(n)] ?? '').trim();
    const input: ObservationInput = {
      code: get('loinc'),
      display: get('display'),
      value: get('value'),
      unit: get('unit'),
      low: get('low'),
      high: get('high'),
      status: get('status') || 'final',
      effective: get('effective'),
    };
    const problems = validateObservation(input);
    const patientId = get('patient') || defaultPatientId;
    const messages = Object.values(problems).filter(Boolean) as string[];
    if (!patientId)
      messages.unshift('Say whose result it is (the patient column, or choose the patient above).');
    else if (!/^[A-Za-z0-9\-.]{1,64}$/.test(patientId))
      messages.unshift('The patient is not a valid Patient id.');
    if (messages.length) {
      errors.push({ line: r.line, message: messages.join(' ') });
      continue;
    }
    results.push({ line: r.line, patientId, resource: observationResource(patientId, input, 'laboratory') });
  }
  return { results, errors };
}
