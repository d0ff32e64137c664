/**
 * The parameters of `Patient/[id]/$everything` (R4 Patient-everything) and the care-date test behind its
 * `start` / `end`. Pure functions, no I/O.
 *
 * - `_type`: comma-separated resource types (R4 names); only those are returned (the Patient itself only
 *   when `Patient` is among them).
 * - `_since`: an instant; only resources last updated at or after it.
 * - `start`, `end`: dates (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`) bounding the *care* date, not the record's
 *   currency: a resource is in range when its clinical date or period (CLINICAL_DATE_ELEMENTS, the first one
 *   it has) overlaps [start, end] at day precision. Resources without such an element (e.g. Patient,
 *   AllergyIntolerance without onset) are not restricted by the range, as R4 leaves them in scope.
 * - `_count`, `_offset`: paging, checked by the caller.
 * Anything else, a repeated parameter or a malformed value is refused: the caller answers 400.
 */
import { parseDateRange } from './dateGranules.js';
import { type Issue, issue } from './Issue.js';
import { parseSince } from './parseSearch.js';
import { isResourceType } from './resourceTypes.js';

export interface EverythingParameters {
  types?: string[];
  since?: Date;
  /** First and last care day in range, as days since 1970-01-01 (UTC); either may be open. */
  startDay?: number;
  endDay?: number;
}

export type EverythingParametersResult =
  | { ok: true; parameters: EverythingParameters }
  | { ok: false; issues: Issue[] };

const ACCEPTED = new Set(['_type', '_since', 'start', 'end', '_count', '_offset', '_format', '_pretty']);

/**
 * Elements holding a resource's clinical (care) date, in the order they are looked for: a dateTime/date/
 * instant or a Period. The first one present decides.
 */
export const CLINICAL_DATE_ELEMENTS = Object.freeze([
  'effectiveDateTime',
  'effectivePeriod',
  'effectiveInstant',
  'onsetDateTime',
  'onsetPeriod',
  'performedDateTime',
  'performedPeriod',
  'occurrenceDateTime',
  'occurrencePeriod',
  'authoredOn',
  'period',
  'billablePeriod',
  'recordedDate',
  'issued',
  'whenHandedOver',
  'dateAsserted',
  'created',
  'date',
  'recorded',
]);

export function parseEverythingParameters(params: URLSearchParams): EverythingParametersResult {
  const fail = (diagnostics: string, name: string): EverythingParametersResult => ({
    ok: false,
    issues: [issue('value', diagnostics, name)],
  });
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (!ACCEPTED.has(name)) {
      return {
        ok: false,
        issues: [
          issue(
            'not-supported',
            `$everything takes _type, _since, start, end, _count and _offset only; not "${name.slice(0, 40)}"`,
            name.slice(0, 40),
          ),
        ],
      };
    }
    if (seen.has(name)) return fail(`${name} may be given once`, name);
    seen.add(name);
  }
  const out: EverythingParameters = {};
  const type = params.get('_type');
  if (type !== null) {
    const types = type.split(',').map((t) => t.trim());
    if (types.some((t) => !isResourceType(t))) {
      return fail('_type must be a comma-separated list of R4 resource types', '_type');
    }
    out.types = [...new Set(types)];
  }
  const since = params.get('_since');
  if (since !== null) {
    const parsed = parseSince(since);
    if (!parsed.ok) return { ok: false, issues: parsed.issues };
    out.since = parsed.since;
  }
  for (const name of ['start', 'end'] as const) {
    const raw = params.get(name);
    if (raw === null) continue;
    const range = /^\d{4}(-\d{2}(-\d{2})?)?$/.test(raw) ? parseDateRange(raw) : undefined;
    if (range === undefined) return fail(`${name} must be a date: YYYY, YYYY-MM or YYYY-MM-DD`, name);
    if (name === 'start') out.startDay = range.first;
    else out.endDay = range.last;
  }
  if (out.startDay !== undefined && out.endDay !== undefined && out.startDay > out.endDay) {
    return fail('start must not be after end', 'start');
  }
  return { ok: true, parameters: out };
}

/** The first and last care day of a resource (days since 1970-01-01); undefined when it has no care date. */
export function careDaysOf(
  resource: Record<string, unknown>,
): { first: number | undefined; last: number | undefined } | undefined {
  for (const element of CLINICAL_DATE_ELEMENTS) {
    const value = resource[element];
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') {
      const r = parseDateRange(value);
      return r ? { first: r.first, last: r.last } : undefined;
    }
    if (typeof value === 'object' && !Array.isArray(value)) {
      const period = value as { start?: unknown; end?: unknown };
      const start = typeof period.start === 'string' ? parseDateRange(period.start) : undefined;
      const end = typeof period.end === 'string' ? parseDateRange(period.end) : undefined;
      if (!start && !end) return undefined;
      return { first: start?.first, last: end?.last };
    }
    return undefined;
  }
  return undefined;
}

/** Whether a resource's care date overlaps [startDay, endDay]; resources without one always do. */
export function withinCareDates(resource: Record<string, unknown>, p: EverythingParameters): boolean {
  if (p.startDay === undefined && p.endDay === undefined) return true;
  const days = careDaysOf(resource);
  if (days === undefined) return true;
  if (p.startDay !== undefined && days.last !== undefined && days.last < p.startDay) return false;
  if (p.endDay !== undefined && days.first !== undefined && days.first > p.endDay) return false;
  return true;
}
