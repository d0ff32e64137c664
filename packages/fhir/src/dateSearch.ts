/**
 * R4 date search (search.html#date) over blind indexes. A date value denotes a range of days: a date or
 * dateTime the days of its precision (`2020` → 2020-01-01..2020-12-31), a Period from its start's first day to
 * its end's last day, open at a missing end. The index holds, per value, the year / month / day granules of
 * its first day (`<param>:s:…`) and of its last day (`<param>:e:…`), or an "unbounded" token for a missing
 * start or end. A predicate over a search range [ps, pe] becomes alternatives of AND-ed token sets, each set
 * the smallest granule cover of a day range (coverDays), so for one value the R4 rules hold exactly:
 *
 *   eq  start ≥ ps and end ≤ pe (the value's range is contained in the search range)
 *   gt  end > pe                  lt  start < ps
 *   ge  gt or eq                  le  lt or eq
 *   ne  not eq (among resources having the parameter)
 *
 * Bounded approximations (docs/fhir.md): days, not instants (a time is truncated to its written date, the
 * zone not applied); open-ended predicates look at days from `minYear` (1900) to the end of next year, so a
 * start before 1900 does not satisfy `lt`/`le` and an end after next year does not satisfy `gt`/`ge` (an
 * unbounded start or end does); a resource with several values for one parameter matches `eq`/`ge`/`le` when
 * one value's start and another value's end both fall in the search range.
 */
import {
  coverDays,
  type DateGranuleOptions,
  dayGranules,
  parseDateRange,
  searchableDays,
} from './dateGranules.js';

export type DateSearchPrefix = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

/** A value's days; null for an unbounded side. */
export interface DaySpan {
  start: number | null;
  end: number | null;
}

export interface DateToken {
  param: string;
  value: string;
}

const UNBOUNDED_START = '-inf';
const UNBOUNDED_END = '+inf';

/** The day span of a date / dateTime / instant string or a Period; undefined when nothing parses. */
export function daySpanOf(v: unknown): DaySpan | undefined {
  if (typeof v === 'string') {
    const r = parseDateRange(v);
    return r === undefined ? undefined : { start: r.first, end: r.last };
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { start, end } = v as { start?: unknown; end?: unknown };
  const s = typeof start === 'string' ? parseDateRange(start) : undefined;
  const e = typeof end === 'string' ? parseDateRange(end) : undefined;
  if (s === undefined && e === undefined) return undefined;
  // A Period whose end precedes its start is malformed; index its start only, as an open Period.
  if (s !== undefined && e !== undefined && e.last < s.first) return { start: s.first, end: null };
  return { start: s?.first ?? null, end: e?.last ?? null };
}

/** The index tokens of one value's span. */
export function daySpanTokens(param: string, span: DaySpan): DateToken[] {
  const out: DateToken[] = [];
  if (span.start === null) out.push({ param: `${param}:s`, value: UNBOUNDED_START });
  else out.push(...dayGranules(span.start, `${param}:s`));
  if (span.end === null) out.push({ param: `${param}:e`, value: UNBOUNDED_END });
  else out.push(...dayGranules(span.end, `${param}:e`));
  return out;
}

/** Alternatives (OR) of AND-ed token sets (each an OR of tokens). An empty set is false. */
export type DateAlternatives = DateToken[][][];

/**
 * The alternatives for `<prefix><value>` (ne: those of eq — the caller negates). Undefined for a value that is
 * not a FHIR date / dateTime.
 */
export function datePredicate(
  param: string,
  prefix: DateSearchPrefix,
  value: string,
  options: DateGranuleOptions = {},
): DateAlternatives | undefined {
  const range = parseDateRange(value);
  if (range === undefined) return undefined;
  const [lower, upper] = searchableDays(options);
  const ps = range.first;
  const pe = range.last;
  const starts = (first: number, last: number) => coverDays(first, last, `${param}:s`);
  const ends = (first: number, last: number) => coverDays(first, last, `${param}:e`);
  const eq = [starts(ps, pe), ends(ps, pe)];
  const gt = [[...ends(Math.max(pe + 1, lower), upper), { param: `${param}:e`, value: UNBOUNDED_END }]];
  const lt = [[{ param: `${param}:s`, value: UNBOUNDED_START }, ...starts(lower, Math.min(ps - 1, upper))]];
  switch (prefix) {
    case 'eq':
    case 'ne':
      return [eq];
    case 'gt':
      return [gt];
    case 'lt':
      return [lt];
    case 'ge':
      return [gt, eq];
    case 'le':
      return [lt, eq];
  }
}

/** The plain R4 rule, for tests and documentation: does a value spanning `span` satisfy the predicate? */
export function daySpanSatisfies(span: DaySpan, prefix: DateSearchPrefix, ps: number, pe: number): boolean {
  const s = span.start ?? Number.NEGATIVE_INFINITY;
  const e = span.end ?? Number.POSITIVE_INFINITY;
  const eq = s >= ps && e <= pe;
  switch (prefix) {
    case 'eq':
      return eq;
    case 'ne':
      return !eq;
    case 'gt':
      return e > pe;
    case 'lt':
      return s < ps;
    case 'ge':
      return e > pe || eq;
    case 'le':
      return s < ps || eq;
  }
}
