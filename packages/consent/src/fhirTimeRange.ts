/**
 * The seconds a FHIR date or dateTime covers. FHIR reads a value at its own precision — "2016" is the whole year,
 * "2016-01-01" the whole day, and a period's end includes everything matching it — so a value is a half-open
 * range [start, end) of unix seconds. Dates without a time have no zone in FHIR; they are read as UTC days.
 *
 * Refused (undefined): anything that does not parse, a fraction of a second other than zero (the ledger counts
 * whole seconds), and times before 1970 or beyond uint40 seconds (the ledger's range).
 */
import { MdlError, MdlErrorCode } from '@medledger/core';

const PATTERN =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

export const U40_MAX = 2 ** 40 - 1;

export interface TimeRange {
  /** First second covered. */
  start: number;
  /** First second after the value. */
  end: number;
}

export type TimeRangeProblem = 'format' | 'fraction' | 'range';

export function fhirTimeRange(value: string): TimeRange | TimeRangeProblem {
  const m = PATTERN.exec(value);
  if (!m) return 'format';
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  const year = Number(y);
  if (year < 1970) return 'range';
  if (mo !== undefined && (Number(mo) < 1 || Number(mo) > 12)) return 'format';
  if (d !== undefined && new Date(Date.UTC(year, Number(mo) - 1, Number(d))).getUTCDate() !== Number(d))
    return 'format';
  let start: number;
  let end: number;
  if (h !== undefined) {
    if (fraction !== undefined && !/^0+$/.test(fraction)) return 'fraction';
    const offset =
      zone === 'Z' || zone === undefined
        ? 0
        : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    start = Date.UTC(year, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) / 1000 - offset * 60;
    end = start + 1;
  } else if (d !== undefined) {
    start = Date.UTC(year, Number(mo) - 1, Number(d)) / 1000;
    end = Date.UTC(year, Number(mo) - 1, Number(d) + 1) / 1000;
  } else if (mo !== undefined) {
    start = Date.UTC(year, Number(mo) - 1, 1) / 1000;
    end = Date.UTC(year, Number(mo), 1) / 1000;
  } else {
    start = Date.UTC(year, 0, 1) / 1000;
    end = Date.UTC(year + 1, 0, 1) / 1000;
  }
  if (!Number.isFinite(start) || start < 0 || end > U40_MAX + 1) return 'range';
  return { start, end };
}

/** First second FHIR cannot write: its years have four digits. */
export const FHIR_TIME_LIMIT = Date.UTC(10000, 0, 1) / 1000;

/** A whole second as a FHIR dateTime in UTC ("2024-05-01T12:00:00Z"); MDL_BAD_INPUT from year 10000 on. */
export function fhirDateTime(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds >= FHIR_TIME_LIMIT) {
    throw new MdlError(MdlErrorCode.BadInput, 'a time after the year 9999 cannot be written in FHIR');
  }
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
