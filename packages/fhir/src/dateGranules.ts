/**
 * Date search over blind indexes. The index cannot compare encrypted dates, so a date is stored as the tokens
 * of the calendar granules that contain it (`date:year=2020`, `date:month=2020-01`, `date:day=2020-01-05`)
 * and a date predicate becomes the smallest set of whole years, months and days that covers exactly the days
 * satisfying it; a record matches when one of its tokens is in the set.
 * Limits: day precision — times are truncated to the calendar date as written (the time zone is not applied);
 * open-ended predicates are bounded below by `minYear` (default 1900) and above by the end of next year.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';

export type DatePrefix = 'eq' | 'gt' | 'ge' | 'lt' | 'le';
export type DatePrecision = 'year' | 'month' | 'day';

export interface DateGranule {
  param: string;
  value: string;
}

export interface DateRange {
  precision: DatePrecision;
  /** First and last day covered, as days since 1970-01-01. */
  first: number;
  last: number;
}

export interface DateGranuleOptions {
  /** Token parameter name prefix; granule params are `<param>:year` etc. Default `date`. */
  param?: string;
  /** Upper bound of open-ended predicates is the end of the year after `now`. Default: the current time. */
  now?: Date;
  /** Lower bound of open-ended predicates. Default DEFAULT_MIN_YEAR. */
  minYear?: number;
}

export const DEFAULT_MIN_YEAR = 1900;

const DATE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T([01]\d|2[0-3]):[0-5]\d(?::([0-5]\d|60)(?:\.\d+)?)?(?:Z|[+-](?:0\d|1[0-3]):[0-5]\d|[+-]14:00))?)?)?$/;

const MS_PER_DAY = 86_400_000;

function dayNumber(y: number, m: number, d: number): number {
  return Date.UTC(y, m - 1, d) / MS_PER_DAY;
}

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/**
 * Parses a FHIR date, dateTime or instant (time truncated to its written date) into the days it covers.
 * Returns undefined for anything else, including impossible dates such as 2021-02-30. Years before 1000
 * are refused because FHIR's date pattern forbids them.
 */
export function parseDateRange(value: string): DateRange | undefined {
  const m = DATE.exec(value);
  if (m === null) return undefined;
  const y = Number(m[1]);
  if (y < 1000) return undefined;
  if (m[2] === undefined) return { precision: 'year', first: dayNumber(y, 1, 1), last: dayNumber(y, 12, 31) };
  const mo = Number(m[2]);
  if (mo < 1 || mo > 12) return undefined;
  if (m[3] === undefined) {
    return { precision: 'month', first: dayNumber(y, mo, 1), last: dayNumber(y, mo, daysInMonth(y, mo)) };
  }
  const d = Number(m[3]);
  if (d < 1 || d > daysInMonth(y, mo)) return undefined;
  const day = dayNumber(y, mo, d);
  return { precision: 'day', first: day, last: day };
}

function ymd(day: number): [number, number, number] {
  const dt = new Date(day * MS_PER_DAY);
  return [dt.getUTCFullYear(), dt.getUTCMonth() + 1, dt.getUTCDate()];
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** The granule strings of one day: [year, month, day]. */
export function dayGranules(day: number, param = 'date'): DateGranule[] {
  const [y, m, d] = ymd(day);
  return [
    { param: `${param}:year`, value: pad(y, 4) },
    { param: `${param}:month`, value: `${pad(y, 4)}-${pad(m, 2)}` },
    { param: `${param}:day`, value: `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}` },
  ];
}

/** Smallest set of whole years, months and days covering exactly the days first..last. */
export function coverDays(first: number, last: number, param = 'date'): DateGranule[] {
  const out: DateGranule[] = [];
  let day = first;
  while (day <= last) {
    const [y, m, d] = ymd(day);
    const yearEnd = dayNumber(y, 12, 31);
    const monthEnd = dayNumber(y, m, daysInMonth(y, m));
    if (m === 1 && d === 1 && yearEnd <= last) {
      out.push({ param: `${param}:year`, value: pad(y, 4) });
      day = yearEnd + 1;
    } else if (d === 1 && monthEnd <= last) {
      out.push({ param: `${param}:month`, value: `${pad(y, 4)}-${pad(m, 2)}` });
      day = monthEnd + 1;
    } else {
      out.push({ param: `${param}:day`, value: `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}` });
      day += 1;
    }
  }
  return out;
}

/** The inclusive day bounds [lower, upper] that open-ended predicates are clipped to. */
export function searchableDays(options: DateGranuleOptions = {}): [number, number] {
  const nextYear = (options.now ?? new Date()).getUTCFullYear() + 1;
  return [dayNumber(options.minYear ?? DEFAULT_MIN_YEAR, 1, 1), dayNumber(nextYear, 12, 31)];
}

/**
 * The granules whose OR is the predicate `<prefix><value>` at day precision, within the searchable bounds.
 * Throws MDL_BAD_INPUT for a value that is not a FHIR date / dateTime.
 */
export function dateGranulesFor(
  prefix: DatePrefix,
  value: string,
  options: DateGranuleOptions = {},
): DateGranule[] {
  const range = parseDateRange(value);
  if (range === undefined) throw new MdlError(MdlErrorCode.BadInput, 'not a FHIR date or dateTime');
  const param = options.param ?? 'date';
  const [lower, upper] = searchableDays(options);
  let first: number;
  let last: number;
  switch (prefix) {
    case 'eq':
      // Exact ranges are not clipped: they are bounded by the value itself.
      return coverDays(range.first, range.last, param);
    case 'gt':
      [first, last] = [range.last + 1, upper];
      break;
    case 'ge':
      [first, last] = [range.first, upper];
      break;
    case 'lt':
      [first, last] = [lower, range.first - 1];
      break;
    case 'le':
      [first, last] = [lower, range.last];
      break;
  }
  return coverDays(Math.max(first, lower), Math.min(last, upper), param);
}
