import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDateRange, searchableDays } from '../src/dateGranules.js';
import { type DateSearchPrefix, type DaySpan, daySpanOf, daySpanSatisfies } from '../src/dateSearch.js';
import { parseSearch } from '../src/parseSearch.js';
import { searchValuesOf } from '../src/searchValuesOf.js';
import { matchesResource } from './matchSearch.js';

const NOW = new Date('2025-06-15T00:00:00Z');
const [LOWER, UPPER] = searchableDays({ now: NOW });
const MS = 86_400_000;
const iso = (day: number) => new Date(day * MS).toISOString().slice(0, 10);

/** A FHIR date at year, month or day precision for a day. */
const dateAt = (day: number, precision: number) => iso(day).slice(0, [4, 7, 10][precision]);

const day = fc.integer({ min: LOWER, max: UPPER });
const value = fc.tuple(day, fc.integer({ min: 0, max: 2 })).map(([d, p]) => dateAt(d, p));
/** A resource date value: a date, or a Period with either side possibly missing. */
const resourceValue = fc.oneof(
  value,
  fc
    .tuple(fc.option(value, { nil: undefined }), fc.option(value, { nil: undefined }))
    .filter(([s, e]) => s !== undefined || e !== undefined)
    .filter(
      ([s, e]) => s === undefined || e === undefined || parseDateRange(e)!.last >= parseDateRange(s)!.first,
    )
    .map(([start, end]) => ({ ...(start ? { start } : {}), ...(end ? { end } : {}) })),
);
const prefix = fc.constantFrom<DateSearchPrefix>('eq', 'ne', 'gt', 'ge', 'lt', 'le');

describe('date search follows the R4 rules within the blind index', () => {
  it('an index match is exactly the R4 rule on the value range (one value per resource)', () => {
    fc.assert(
      fc.property(resourceValue, prefix, value, (v, p, q) => {
        const resource = { resourceType: 'Encounter', status: 'finished', class: {}, period: v };
        const isPeriod = typeof v === 'object';
        const r = parseSearch('Encounter', new URLSearchParams([['date', `${p}${q}`]]), { now: NOW });
        if (!r.ok) throw new Error(JSON.stringify(r.issues));
        const span: DaySpan = daySpanOf(isPeriod ? v : { start: v, end: v })!;
        const range = parseDateRange(q)!;
        const expected = daySpanSatisfies(
          isPeriod
            ? span
            : { start: parseDateRange(v as string)!.first, end: parseDateRange(v as string)!.last },
          p,
          range.first,
          range.last,
        );
        expect(matchesResource(r.search, resource)).toBe(expected);
      }),
      { numRuns: 4000 },
    );
  });

  it('examples from R4 search.html#date', () => {
    const at = (v: unknown, q: string) => {
      const r = parseSearch('Encounter', new URLSearchParams(q), { now: NOW });
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      return matchesResource(r.search, { resourceType: 'Encounter', period: v });
    };
    // eq: the resource's range is contained in the parameter's.
    expect(at({ start: '2013-01-14', end: '2013-01-14' }, 'date=2013-01-14')).toBe(true);
    expect(at({ start: '2013-01-14', end: '2013-01-15' }, 'date=2013-01-14')).toBe(false);
    expect(at({ start: '2013-01-14' }, 'date=2013-01-14')).toBe(false);
    // An open-ended period matches ge and gt of dates after its start.
    expect(at({ start: '2013-01-14' }, 'date=ge2024-03')).toBe(true);
    expect(at({ start: '2013-01-14' }, 'date=gt2013-02')).toBe(true);
    expect(at({ start: '2013-01-14' }, 'date=lt2013-01-14')).toBe(false);
    // Without a start, the period reaches back indefinitely.
    expect(at({ end: '2013-01-14' }, 'date=lt1950')).toBe(true);
    expect(at({ end: '2013-01-14' }, 'date=gt2013-01-14')).toBe(false);
    expect(searchValuesOf({ resourceType: 'Encounter', period: { start: '2013-01-14' } })).toContainEqual({
      param: 'date:e',
      value: '+inf',
    });
  });
});
